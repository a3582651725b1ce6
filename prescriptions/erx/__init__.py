"""Electronic prescribing of controlled substances (EPCS) through a certified vendor.

`gateway.py` is the one small interface (sync patient, sync prescriber, find pharmacy, propose,
single-sign-on URL, fetch status, cancel, verify webhook); `sandbox.py` and `dosespot.py` are its
two adapters, chosen by `ERX_PROVIDER`. The flow itself (proposal outbox, vendor events, gates
re-checked before the vendor's signature) is in `prescriptions/services/erx.py`.
See docs/e-prescribing.md.
"""
