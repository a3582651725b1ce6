"""The benchmark (issue 9): `make bench` runs bench/run.py. Nothing here is imported by the app."""
