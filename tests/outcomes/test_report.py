"""The outcome report: one page, with vector charts, audited, only for the care team."""

from __future__ import annotations

import datetime as dt
import re
import zlib

import pytest
import time_machine

from accounts.models import AuditEvent
from outcomes.models import HeadacheDiaryEntry
from tests.outcomes.conftest import session_for, utc
from tests.patients.factories import QuestionnaireFactory
from tests.prescriptions.factories import SignedPrescriptionFactory

pytestmark = pytest.mark.django_db


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def content_streams(pdf: bytes) -> list[bytes]:
    """Every stream of the PDF, inflated when compressed."""
    streams = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\n?endstream", pdf, re.S):
        raw = match.group(1)
        try:
            streams.append(zlib.decompress(raw))
        except zlib.error:
            try:
                import base64

                streams.append(zlib.decompress(base64.a85decode(raw.strip(), adobe=True)))
            except Exception:  # noqa: BLE001 - an image or font stream: kept raw
                streams.append(raw)
    return streams


def seed_chart(patient, physician):
    SignedPrescriptionFactory(patient=patient, physician=physician, signed_at=utc(2026, 9, 1, 15))
    for i in range(120):
        day = dt.date(2026, 11, 28) - dt.timedelta(days=i)
        HeadacheDiaryEntry.objects.create(
            patient=patient, date=day, headache=i % 3 == 0, peak_pain=5 if i % 3 == 0 else None
        )
    for days_ago, answers in ((80, [2] * 9), (40, [1] * 9), (5, [0] * 9)):
        QuestionnaireFactory(
            patient=patient,
            instrument="phq9",
            answers=answers,
            taken_at=utc(2026, 11, 28) - dt.timedelta(days=days_ago),
        )
    for days_ago, answers in ((80, [7, 6, 6]), (5, [3, 3, 2])):
        QuestionnaireFactory(
            patient=patient,
            instrument="peg3",
            answers=answers,
            taken_at=utc(2026, 11, 28) - dt.timedelta(days=days_ago),
        )


@time_machine.travel(utc(2026, 11, 28, 17), tick=False)
def test_report_is_one_page_with_charts_and_is_audited(profile, patient, physician):
    from patients.models import VitalReading

    seed_chart(patient, physician)
    VitalReading.objects.create(patient=patient, systolic=128, diastolic=82, measured_at=utc(2026, 11, 1, 12))
    VitalReading.objects.create(patient=patient, systolic=122, diastolic=78, measured_at=utc(2026, 11, 20, 12))
    response = session_for(physician).get(f"/api/v1/physician/patients/{patient.public_id}/outcome-report.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF-")
    assert page_count(pdf) == 1
    drawing = b"\n".join(content_streams(pdf))
    # Vector charts: filled rectangles (bars), stroked lines (axes, plots, the dashed baseline).
    assert len(re.findall(rb" re B", drawing)) >= 5  # one bar per 28-day window with headache days
    assert len(re.findall(rb" l S", drawing)) > 20  # axes, ticks, the plots' lines
    assert re.search(rb"\[4 2\] 0 d", drawing), "the dashed baseline line"
    assert b"Headache and migraine days" in drawing
    assert b"PHQ-9" in drawing and b"Blood pressure" in drawing
    assert AuditEvent.objects.filter(actor=physician, patient=patient, detail="outcome_report").count() == 1


@time_machine.travel(utc(2026, 11, 28, 17), tick=False)
def test_report_renders_with_no_data_at_all(profile, patient, physician):
    response = session_for(physician).get(f"/api/v1/physician/patients/{patient.public_id}/outcome-report.pdf")
    assert response.status_code == 200
    assert page_count(response.content) == 1
    assert b"No data yet" in b"\n".join(content_streams(response.content))


def test_report_is_not_found_outside_the_caseload(profile, patient, other_physician):
    response = session_for(other_physician).get(f"/api/v1/physician/patients/{patient.public_id}/outcome-report.pdf")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not AuditEvent.objects.filter(detail="outcome_report").exists()
