"""Writes of the patients app, one module per area (STYLE.md: a module that grows becomes a package)."""
