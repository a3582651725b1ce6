"""Writes of the practice app: credentials (credentials.py), the licensing rule (licensing.py), expiry (expiry.py)."""
