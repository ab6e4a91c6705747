"""The `certwright` command-line client: talks to the Certwright API over HTTP, imports nothing of the layer."""
