"""`certwright console`: a local web UI (127.0.0.1 only) over the API, with the transport the CLI uses."""
