"""The ACME protocol (RFC 8555) as pure code: JWS, problems, resources, order states and ARI (no AWS, `now` passed in)."""
