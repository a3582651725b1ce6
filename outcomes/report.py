"""The one-page outcome report (PDF) for a referral letter, drawn server-side with reportlab and
its own chart library (vector drawings, no image files): monthly headache and migraine days with
the baseline line, PHQ-9 and PEG-3 over time, blood pressure, and a short table.

`outcome_report_data` gathers (queries); `render_outcome_report` only draws (no queries), so the
drawing is testable on hand-made data.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Table, TableStyle

from accounts.models import User
from outcomes import selectors
from outcomes.selectors import HeadacheSummary
from patients.scoring import INSTRUMENTS, PEG3, PHQ9
from patients.selectors import patient_profile, questionnaire_history, vitals_history

HEADACHE_COLOUR = colors.HexColor("#4C78A8")
MIGRAINE_COLOUR = colors.HexColor("#E45756")
PHQ9_COLOUR = colors.HexColor("#54A24B")
PEG_COLOUR = colors.HexColor("#F58518")


@dataclass(frozen=True)
class ReportData:
    patient_name: str
    date_of_birth: date | None
    physician_name: str
    generated_on: date
    summary: HeadacheSummary
    phq9: list[tuple[date, float]]
    peg3: list[tuple[date, float]]
    blood_pressure: list[tuple[date, int, int]]


def outcome_report_data(*, patient: User) -> ReportData:
    zone = selectors.patient_zone(patient=patient)
    summary = selectors.headache_summary(patient=patient, zone=zone)
    profile = patient_profile(patient=patient)

    def local(t: datetime) -> date:
        return t.astimezone(zone).date()

    def scores(instrument: str) -> list[tuple[date, float]]:
        rows = questionnaire_history(patient=patient, instrument=instrument).values_list("taken_at", "total")
        return sorted((local(t), INSTRUMENTS[instrument].score_of(total)) for t, total in rows)

    vitals = vitals_history(patient=patient).values_list("measured_at", "systolic", "diastolic")[:200]
    physician = profile.assigned_physician if profile else None
    return ReportData(
        patient_name=(
            f"{profile.legal_first_name} {profile.legal_last_name}" if profile else patient.full_name
        ).strip(),
        date_of_birth=profile.date_of_birth if profile else None,
        physician_name=physician.full_name if physician else "",
        generated_on=selectors.patient_today(patient=patient, zone=zone),
        summary=summary,
        phq9=scores(PHQ9),
        peg3=scores(PEG3),
        blood_pressure=sorted((local(t), s, d) for t, s, d in vitals),
    )


def _no_data(drawing: Drawing, text: str = "No data yet") -> Drawing:
    drawing.add(String(drawing.width / 2, drawing.height / 2, text, textAnchor="middle", fontSize=9))
    return drawing


def _title(drawing: Drawing, text: str) -> None:
    drawing.add(String(0, drawing.height - 10, text, fontName="Helvetica-Bold", fontSize=9))


def monthly_days_chart(summary: HeadacheSummary, width: float, height: float) -> Drawing:
    drawing = Drawing(width, height)
    _title(drawing, "Headache and migraine days per 28 days (dashed: baseline)")
    months = summary.months
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 30, 30, width - 130, height - 50
    chart.data = [
        [w.headache_days for w in months],
        [w.migraine_days for w in months],
    ]
    chart.categoryAxis.categoryNames = [w.end.strftime("%b %d") for w in months]
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 28, 7
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = HEADACHE_COLOUR
    chart.bars[1].fillColor = MIGRAINE_COLOUR
    drawing.add(chart)
    baseline = summary.baseline
    if baseline is not None:
        for value, colour in (
            (baseline.headache_days_per_28, HEADACHE_COLOUR),
            (baseline.migraine_days_per_28, MIGRAINE_COLOUR),
        ):
            if value is None:
                continue
            y = chart.y + chart.height * min(value, 28) / 28
            drawing.add(
                Line(chart.x, y, chart.x + chart.width, y, strokeColor=colour, strokeDashArray=[4, 2], strokeWidth=1.2)
            )
    legend = Legend()
    legend.x, legend.y = width - 90, height - 30
    legend.fontSize = 7
    legend.colorNamePairs = [(HEADACHE_COLOUR, "Headache days"), (MIGRAINE_COLOUR, "Migraine days")]
    drawing.add(legend)
    return drawing


def _line_plot(series: list[tuple[list[tuple[date, float]], colors.Color]], *, y_max: float, width, height) -> LinePlot:
    origin = min(d for points, _ in series for d, _ in points)
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 30, 25, width - 45, height - 45
    plot.data = [[((d - origin).days, v) for d, v in points] for points, _ in series]
    for i, (_, colour) in enumerate(series):
        plot.lines[i].strokeColor = colour
        plot.lines[i].symbol = makeMarker("FilledCircle", size=3, fillColor=colour)
    plot.yValueAxis.valueMin, plot.yValueAxis.valueMax = 0, y_max
    plot.yValueAxis.labels.fontSize = 7
    plot.xValueAxis.valueMin = 0
    plot.xValueAxis.labels.fontSize = 7

    def label(value: float) -> str:
        return date.fromordinal(origin.toordinal() + int(value)).strftime("%b %d")

    plot.xValueAxis.labelTextFormat = label
    return plot


def scores_chart(data: ReportData, width: float, height: float) -> Drawing:
    drawing = Drawing(width, height)
    _title(drawing, "PHQ-9 (0-27, green) and PEG-3 (0-10, orange)")
    series = [(points, colour) for points, colour in ((data.phq9, PHQ9_COLOUR), (data.peg3, PEG_COLOUR)) if points]
    if not series:
        return _no_data(drawing)
    drawing.add(_line_plot(series, y_max=27, width=width, height=height))
    return drawing


def blood_pressure_chart(data: ReportData, width: float, height: float) -> Drawing:
    drawing = Drawing(width, height)
    _title(drawing, "Blood pressure, mmHg (systolic, diastolic)")
    if not data.blood_pressure:
        return _no_data(drawing)
    systolic = [(d, float(s)) for d, s, _ in data.blood_pressure]
    diastolic = [(d, float(di)) for d, _, di in data.blood_pressure]
    drawing.add(
        _line_plot([(systolic, MIGRAINE_COLOUR), (diastolic, HEADACHE_COLOUR)], y_max=200, width=width, height=height)
    )
    return drawing


def _fmt(value, suffix: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}{suffix}"
    return f"{value}{suffix}"


def summary_table(data: ReportData) -> Table:
    s = data.summary
    b, c = s.baseline, s.current
    first_last = lambda points: (points[0][1] if points else None, points[-1][1] if points else None)  # noqa: E731
    phq_first, phq_last = first_last(data.phq9)
    peg_first, peg_last = first_last(data.peg3)
    rows = [
        ["", "Baseline", f"Last 28 days (to {c.end:%b %d, %Y})", "Change"],
        [
            "Headache days / 28",
            _fmt(b.headache_days_per_28 if b else None),
            _fmt(c.headache_days_per_28),
            _fmt(s.change_headache_pct, "%"),
        ],
        [
            "Migraine days / 28",
            _fmt(b.migraine_days_per_28 if b else None),
            _fmt(c.migraine_days_per_28),
            _fmt(s.change_migraine_pct, "%"),
        ],
        ["Acute-medication days", _fmt(b.acute_medication_days if b else None), _fmt(c.acute_medication_days), ""],
        ["Days logged", _fmt(b.days_logged if b else None), f"{c.days_logged} of {c.days}", ""],
        ["PHQ-9 (first, latest)", _fmt(phq_first), _fmt(phq_last), ""],
        ["PEG-3 (first, latest)", _fmt(peg_first), _fmt(peg_last), ""],
        [
            "Responder 50% / 75%",
            "",
            f"{s.responders[50].status.replace('_', ' ')} / {s.responders[75].status.replace('_', ' ')}",
            "",
        ],
        [
            "Chronic migraine pattern / overuse risk",
            "",
            f"{'yes' if s.chronic_migraine_pattern else 'no'} / {'yes' if s.medication_overuse_risk else 'no'}",
            "",
        ],
    ]
    table = Table(rows, colWidths=[2.3 * inch, 1.3 * inch, 2.2 * inch, 1.2 * inch])
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), "Helvetica", 8),
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")),
            ]
        )
    )
    return table


def render_outcome_report(data: ReportData) -> bytes:
    """One letter-size page. Everything is drawn at fixed positions, so it never spills over."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=LETTER, pageCompression=1)
    canvas.setTitle("Outcome report")
    width, height = LETTER
    margin = 0.6 * inch
    top = height - margin
    canvas.setFont("Helvetica-Bold", 14)
    canvas.drawString(margin, top, "Headache and pain outcome report")
    canvas.setFont("Helvetica", 9)
    dob = f"   Date of birth: {data.date_of_birth:%m/%d/%Y}" if data.date_of_birth else ""
    canvas.drawString(margin, top - 16, f"Patient: {data.patient_name}{dob}")
    s = data.summary
    start = f"Treatment start: {s.treatment.on:%m/%d/%Y}" if s.treatment else "Treatment not started"
    canvas.drawString(
        margin,
        top - 28,
        f"Physician: {data.physician_name or '-'}   {start}   Generated: {data.generated_on:%m/%d/%Y} ({s.time_zone})",
    )
    usable = width - 2 * margin
    monthly_days_chart(s, usable, 2.4 * inch).drawOn(canvas, margin, top - 40 - 2.4 * inch)
    half = usable / 2 - 6
    y = top - 48 - 2.4 * inch - 2.1 * inch
    scores_chart(data, half, 2.1 * inch).drawOn(canvas, margin, y)
    blood_pressure_chart(data, half, 2.1 * inch).drawOn(canvas, margin + half + 12, y)
    table = summary_table(data)
    _, table_height = table.wrapOn(canvas, usable, y - margin)
    table.drawOn(canvas, margin, y - 14 - table_height)
    canvas.setFont("Helvetica", 6.5)
    canvas.drawString(
        margin,
        margin - 12,
        "Windows of 28 local days; days not logged are missing, never headache-free; rates are per 28 logged days. "
        "Definitions: ICHD-3 1.3, 8.2; IHS trial guidelines.",
    )
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
