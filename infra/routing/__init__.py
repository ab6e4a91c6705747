"""The local event router's parts, one module per thing it owns; infra/router.py puts them together."""
