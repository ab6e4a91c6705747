"""The HTTP edge: Powertools REST resolver, routers, presenters, and the one error-to-status table."""
