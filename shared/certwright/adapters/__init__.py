"""Adapters: AWS behind the ports; each takes its clients in the constructor and translates vendor errors."""
