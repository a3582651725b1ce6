"""Carrier tracking pages (public, no sign-in): a link the staff can open beside an order."""

from __future__ import annotations

from urllib.parse import quote

# Keyed by the carrier name as orders carry it (EasyPost's carrier codes, lowercased).
TRACKING_PAGES = {
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    "ups": "https://www.ups.com/track?tracknum={number}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={number}",
    "dhl": "https://www.dhl.com/us-en/home/tracking/tracking-express.html?submit=1&tracking-id={number}",
    "dhlexpress": "https://www.dhl.com/us-en/home/tracking/tracking-express.html?submit=1&tracking-id={number}",
}


def tracking_url(carrier: str, tracking_number: str) -> str | None:
    """The carrier's public tracking page for this number, or None (unknown carrier, no number)."""
    template = TRACKING_PAGES.get((carrier or "").strip().lower().replace(" ", ""))
    if template is None or not tracking_number:
        return None
    return template.format(number=quote(tracking_number.strip(), safe=""))
