"""Writes of the prescriptions app, one module per concern:

catalogue.py (products, pharmacies) · prescribing.py (drafts, PDMP checks) · signing.py (every
gate of docs/prescribing.md#checks, in one place) · orders.py (delivery orders, state machine, pharmacy
hand-off) · tracking.py (carrier updates, polls, notices) · refills.py (refill requests).
"""
