"""Writes of the treatment app, one module per concern: sessions.py (start, end, auto-close) ·
check_ins.py (post-session check-ins and their flags) · notices.py (missed check-in reminder and
alert) · supply.py (doses left, run-out, early refills, fill holds: plain functions prescriptions
asks through its PRESCRIPTIONS_FILL_CHECKS extension point)."""
