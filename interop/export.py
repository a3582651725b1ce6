"""The patient's record export: everything about one patient as a FHIR Bundle (type collection)
and a human-readable PDF summary of the same data (docs/fhir.md#record-export).

The Bundle holds what the FHIR API serves the patient themselves (their own records, the
physicians of their care) plus their safety flags: the right of access covers the whole
designated record set (45 CFR 164.524), not only what the app shows.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from xml.sax.saxutils import escape

from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from accounts.models import User
from interop import resources
from interop.selectors import TYPES, Search
from outcomes.report import blood_pressure_chart, monthly_days_chart, outcome_report_data, scores_chart
from patients.models import SafetyFlag

# The order of the Bundle and of the progress steps.
SECTIONS = (
    "Patient",
    "Practitioner",
    "Appointment",
    "Encounter",
    "MedicationRequest",
    "MedicationDispense",
    "QuestionnaireResponse",
    "Observation",
    "Consent",
    "Flag",
)
_EVERYTHING = 10**9


def _objects(patient: User, name: str) -> list:
    if name == "Flag":
        return list(SafetyFlag.objects.filter(patient=patient).select_related("patient").order_by("-opened_at", "-id"))
    _, objects = TYPES[name].search(patient, Search(count=_EVERYTHING))
    return objects


def patient_bundle(*, patient: User, generated_at: datetime, progress: Callable[[int], None] | None = None) -> dict:
    """The collection Bundle (validated as a whole by fhir.resources)."""
    base = settings.FHIR_BASE_URL.rstrip("/")
    entries = []
    for n, name in enumerate(SECTIONS, start=1):
        for obj in _objects(patient, name):
            data = resources.flag(obj) if name == "Flag" else TYPES[name].build(obj)
            entries.append({"fullUrl": f"{base}/{name}/{data['id']}", "resource": data})
        if progress is not None:
            progress(int(80 * n / len(SECTIONS)))
    return resources.validated(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "timestamp": generated_at.isoformat(),
            "meta": {"tag": [{"system": f"{resources.codes.LOCAL_BASE}/tag", "code": "record-export"}]},
            "entry": entries,
        }
    )


# --- the PDF summary ----------------------------------------------------------------------------
def _of(bundle: dict, resource_type: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


def _day(value: str | None) -> str:
    return value[:10] if value else "-"


def _text(concept: dict | None) -> str:
    if not concept:
        return "-"
    return concept.get("text") or next((c.get("display") or c.get("code") for c in concept.get("coding", [])), "-")


def _table(rows: list[list[str]], widths: list[float]) -> Table:
    styles = getSampleStyleSheet()
    cell = styles["BodyText"].clone("cell", fontSize=7.5, leading=9)
    data = [[Paragraph(escape(str(v)), cell) for v in row] for row in rows]
    table = Table(data, colWidths=[w * inch for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def render_summary_pdf(*, bundle: dict, patient: User, generated_at: datetime) -> bytes:
    """Every section of the Bundle as a table, then the outcome charts of the outcomes report."""
    styles = getSampleStyleSheet()
    h2, body = styles["Heading2"], styles["BodyText"]
    story: list = _summary_heading(bundle, generated_at)
    for title, header, rows, widths in _summary_sections(bundle):
        story.append(Paragraph(title, h2))
        story.append(_table([header, *rows], widths) if rows else Paragraph("None on record.", body))
    story += _outcome_charts(patient)
    return _build_pdf(story)


def _summary_heading(bundle: dict, generated_at: datetime) -> list:
    styles = getSampleStyleSheet()
    person = _of(bundle, "Patient")[0]
    name = person["name"][0].get("text", "")
    return [
        Paragraph("Health record summary", styles["Title"]),
        Paragraph(
            escape(
                f"{name}. Date of birth: {person.get('birthDate', '-')}. Generated {generated_at:%Y-%m-%d %H:%M} UTC. "
                "The attached FHIR Bundle (record.json) holds the same records in full."
            ),
            styles["BodyText"],
        ),
    ]


def _summary_sections(bundle: dict) -> list[tuple[str, list[str], list[list[str]], list[float]]]:
    """(title, header, rows, column widths in inches) for each table of the summary, in order."""
    return [
        ("Care team", ["Physician", "NPI", "Licences"], _care_team_rows(bundle), [2.0, 1.0, 4.0]),
        ("Visits", ["Date", "Type", "Status", "Physician"], _visit_rows(bundle), [1.1, 2.2, 1.1, 2.6]),
        (
            "Prescriptions",
            ["Signed", "Medication", "Directions", "Quantity / refills", "Status"],
            _prescription_rows(bundle),
            [0.9, 1.6, 2.6, 1.1, 0.8],
        ),
        (
            "Fills and deliveries",
            ["Delivered", "Medication", "Quantity", "Status"],
            _dispense_rows(bundle),
            [1.1, 3.0, 1.0, 1.9],
        ),
        (
            "Scores, blood pressure and headache days",
            ["Date", "Measure", "Value"],
            _observation_rows(bundle),
            [1.1, 4.0, 1.9],
        ),
        (
            "Consents",
            ["Signed", "Document"],
            [[_day(c.get("dateTime")), c["sourceAttachment"].get("title", "")] for c in _of(bundle, "Consent")],
            [1.1, 5.9],
        ),
        (
            "Safety flags",
            ["Opened", "Kind", "Status"],
            [[_day(f["period"].get("start")), _text(f.get("code")), f["status"]] for f in _of(bundle, "Flag")],
            [1.1, 4.5, 1.4],
        ),
    ]


def _care_team_rows(bundle: dict) -> list[list[str]]:
    return [
        [
            p["name"][0].get("text", ""),
            next((i["value"] for i in p.get("identifier", []) if i.get("system") == resources.codes.NPI), "-"),
            ", ".join(_text(q.get("code")) for q in p.get("qualification", [])) or "-",
        ]
        for p in _of(bundle, "Practitioner")
    ]


def _visit_rows(bundle: dict) -> list[list[str]]:
    return [
        [
            _day(a.get("start")),
            _text(a.get("appointmentType")),
            a["status"],
            a["participant"][1]["actor"].get("display", ""),
        ]
        for a in _of(bundle, "Appointment")
    ]


def _prescription_rows(bundle: dict) -> list[list[str]]:
    return [
        [
            _day(m.get("authoredOn")),
            m["medicationReference"].get("display", ""),
            m["dosageInstruction"][0].get("text", ""),
            f"{m['dispenseRequest']['quantity']['value']} {m['dispenseRequest']['quantity'].get('unit', '')} / "
            f"{m['dispenseRequest'].get('numberOfRepeatsAllowed', 0)}",
            m["status"],
        ]
        for m in _of(bundle, "MedicationRequest")
    ]


def _dispense_rows(bundle: dict) -> list[list[str]]:
    return [
        [
            _day(d.get("whenHandedOver")),
            d["medicationReference"].get("display", ""),
            str(d["quantity"]["value"]),
            d["status"],
        ]
        for d in _of(bundle, "MedicationDispense")
    ]


def _observation_rows(bundle: dict) -> list[list[str]]:
    return [
        [
            _day(o.get("effectiveDateTime") or o.get("effectivePeriod", {}).get("start")),
            _text(o.get("code")),
            _observation_value(o),
        ]
        for o in _of(bundle, "Observation")
    ]


def _outcome_charts(patient: User) -> list:
    """The outcomes report's charts on a page of their own, when there is anything to chart."""
    data = outcome_report_data(patient=patient)
    if not (data.phq9 or data.peg3 or data.blood_pressure or data.summary.current.days_logged):
        return []
    width = 7 * inch
    return [
        PageBreak(),
        Paragraph("Outcomes over time", getSampleStyleSheet()["Heading2"]),
        monthly_days_chart(data.summary, width, 2.2 * inch),
        Spacer(1, 8),
        scores_chart(data, width, 2.0 * inch),
        Spacer(1, 8),
        blood_pressure_chart(data, width, 2.0 * inch),
    ]


def _build_pdf(story: list) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=0.6 * inch,
        rightMargin=0.6 * inch,
        topMargin=0.6 * inch,
        bottomMargin=0.6 * inch,
    )
    doc.title = "Health record summary"
    doc.build(story)
    return buffer.getvalue()


def _observation_value(o: dict) -> str:
    if "component" in o:
        values = [str(c["valueQuantity"]["value"]) for c in o["component"]]
        return "/".join(values) + " mmHg"
    if "valueInteger" in o:
        return str(o["valueInteger"])
    if "valueQuantity" in o:
        return f"{o['valueQuantity']['value']:g} {o['valueQuantity'].get('unit', '')}".strip()
    return "-"
