"""CSV for the worklist (`?format=csv` or `Accept: text/csv`), for a spreadsheet."""

from __future__ import annotations

import csv
import io

from rest_framework.renderers import BaseRenderer


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, dict) and "rows" in data:
            rows, columns = data["rows"], data["columns"]
        elif isinstance(data, dict):  # an error envelope
            rows, columns = [{k: data.get(k, "") for k in ("code", "message")}], ["code", "message"]
        else:
            rows, columns = [], []
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k)) for k in columns})
        return out.getvalue().encode(self.charset)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    text = str(value)
    # Spreadsheets run cells that start with = + - @ as formulas (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
