"""Local runtime and harness: the embedded AWS (moto), its shims, resource setup, demo and deploy helpers."""
