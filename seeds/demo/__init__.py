"""Demo data for local development. Never loaded in production (no real people, fake ids)."""

DEMO_PASSWORD = "Ketamine-Demo-2026"
