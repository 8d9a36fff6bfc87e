"""The native graph API (/api/graph/v1): routes.py (the routes), schemas.py (their models)."""
