"""The benchmark (docs/performance.md): `make bench` runs bench/run.py. Nothing here is imported by the app."""
