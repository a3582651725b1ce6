"""The FHIR read API: every resource validates, search and paging, scoping, errors, audit."""

from __future__ import annotations

import datetime as dt

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome

from accounts.models import AuditEvent
from interop.selectors import TYPES
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

FHIR = "application/fhir+json"


def _search(user, resource_type: str, **params):
    response = client_for(user).get(f"/fhir/r4/{resource_type}", params)
    assert response["Content-Type"] == FHIR, response.content
    return response


def _bundle(response) -> Bundle:
    assert response.status_code == 200, response.content
    return Bundle.model_validate_json(response.content)


def _ids(response) -> set[str]:
    return {e["resource"]["id"] for e in response.json().get("entry", [])}


def test_every_resource_type_is_served_and_each_entry_validates(chart):
    """Patient A's own view of every type (Flag: the physician's), each entry a valid R4B resource."""
    for name in TYPES:
        viewer = chart.physician if name == "Flag" else chart.patient
        bundle = _bundle(_search(viewer, name))
        assert bundle.type == "searchset" and bundle.total >= 1, name
        for entry in bundle.entry:
            resource = entry.resource
            assert resource.get_resource_type() == name
            get_fhir_model_class(name).model_validate(resource.model_dump())
            read = client_for(viewer).get(f"/fhir/r4/{name}/{resource.id}")
            assert read.status_code == 200, (name, resource.id, read.content)
            assert read["Content-Type"] == FHIR
            get_fhir_model_class(name).model_validate_json(read.content)


def test_codes_of_the_clinical_resources(chart):
    observations = _search(chart.physician, "Observation", patient=f"Patient/{chart.patient.public_id}").json()
    by_code = {e["resource"]["code"]["coding"][0]["code"]: e["resource"] for e in observations["entry"]}
    assert by_code["44261-6"]["valueInteger"] == chart.phq9.total
    assert by_code["peg3-score"]["valueQuantity"]["value"] == pytest.approx(4.67)
    bp = by_code["85354-9"]
    assert [c["code"]["coding"][0]["code"] for c in bp["component"]] == ["8480-6", "8462-4"]
    assert [c["valueQuantity"]["value"] for c in bp["component"]] == [128, 82]
    assert {c["code"] for c in bp["category"][0]["coding"]} == {"vital-signs"}
    headache = by_code["headache-days-per-month"]
    assert headache["valueQuantity"]["value"] >= 1

    rx = client_for(chart.patient).get(f"/fhir/r4/MedicationRequest/{chart.rx.public_id}").json()
    assert rx["status"] == "active" and rx["intent"] == "order"
    assert rx["dispenseRequest"]["numberOfRepeatsAllowed"] == chart.rx.refills
    assert rx["dispenseRequest"]["quantity"]["value"] == chart.rx.quantity
    assert rx["dispenseRequest"]["initialFill"]["quantity"]["value"] == 4
    ingredient = rx["contained"][0]["ingredient"][0]["itemCodeableConcept"]["coding"][0]
    assert (ingredient["system"], ingredient["code"]) == ("http://www.nlm.nih.gov/research/umls/rxnorm", "6130")
    assert rx["requester"]["reference"] == f"Practitioner/{chart.physician.public_id}"

    fill = client_for(chart.patient).get(f"/fhir/r4/MedicationDispense/{chart.fill.public_id}").json()
    assert fill["status"] == "completed" and fill["type"]["coding"][0]["code"] == "FF"
    assert fill["authorizingPrescription"][0]["reference"] == f"MedicationRequest/{chart.rx.public_id}"
    assert "1Z999" in fill["note"][1]["text"]

    encounter = client_for(chart.patient).get(f"/fhir/r4/Encounter/{chart.visit.public_id}").json()
    assert encounter["class"]["code"] == "VR" and encounter["status"] == "finished"

    doctor = client_for(chart.patient).get(f"/fhir/r4/Practitioner/{chart.physician.public_id}").json()
    systems = {i["system"] for i in doctor["identifier"]}
    assert {"http://hl7.org/fhir/sid/us-npi", "urn:oid:2.16.840.1.113883.4.814"} <= systems
    assert doctor["qualification"]


def test_in_person_visits_are_ambulatory_encounters(chart):
    from tests.scheduling.factories import AppointmentFactory, VisitLocationFactory

    now = dt.datetime.now(dt.UTC)
    visit = AppointmentFactory(
        patient=chart.patient,
        physician=chart.physician,
        starts_at=now - dt.timedelta(days=20),
        status="completed",
        completed_at=now - dt.timedelta(days=20),
        modality="in_person",
        location=VisitLocationFactory(),
    )
    encounter = client_for(chart.patient).get(f"/fhir/r4/Encounter/{visit.public_id}").json()
    assert encounter["class"]["code"] == "AMB"
    assert "Miami office" in encounter["location"][0]["location"]["display"]


def test_search_by_patient_date_status_and_paging(chart, medical_director):
    # patient
    mine = _search(medical_director, "QuestionnaireResponse", patient=str(chart.patient.public_id))
    assert _ids(mine) == {str(chart.phq9.public_id), str(chart.peg3.public_id)}
    assert _ids(_search(medical_director, "QuestionnaireResponse", patient="not-an-id")) == set()
    # date
    recent = (dt.date.today() - dt.timedelta(days=7)).isoformat()
    assert _ids(_search(chart.patient, "QuestionnaireResponse", date=f"ge{recent}")) == {str(chart.peg3.public_id)}
    assert _ids(_search(chart.patient, "QuestionnaireResponse", date=f"lt{recent}")) == {str(chart.phq9.public_id)}
    # status
    assert _ids(_search(chart.patient, "Appointment", status="booked")) == {str(chart.upcoming.public_id)}
    assert _ids(_search(chart.patient, "Appointment", status="fulfilled")) == {str(chart.visit.public_id)}
    assert _ids(_search(chart.patient, "Appointment", status="booked,fulfilled")) == {
        str(chart.upcoming.public_id),
        str(chart.visit.public_id),
    }
    assert _ids(_search(chart.physician, "Flag", status="inactive")) == set()
    # Observation code and category
    assert len(_ids(_search(chart.patient, "Observation", code="http://loinc.org|85354-9"))) == 1
    assert len(_ids(_search(chart.patient, "Observation", category="vital-signs"))) == 1
    # paging: _count and the next link, followed to the end
    seen, url, pages = set(), "/fhir/r4/Observation?_count=2", 0
    while url:
        page = client_for(chart.patient).get(url)
        bundle = _bundle(page)
        seen |= {e.resource.id for e in bundle.entry}
        assert len(bundle.entry) <= 2
        nxt = [link.url for link in bundle.link if link.relation == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else None
        pages += 1
    total = _bundle(_search(chart.patient, "Observation")).total
    assert len(seen) == total and pages == (total + 1) // 2 and total >= 4


def test_bad_search_parameters_are_operation_outcomes(chart):
    for params in ({"date": "yesterday"}, {"_count": "many"}, {"_offset": "-1"}):
        response = _search(chart.patient, "Observation", **params)
        assert response.status_code == 400
        OperationOutcome.model_validate_json(response.content)
        assert response.json()["issue"][0]["code"] == "invalid"


@pytest.mark.parametrize(
    ("viewer", "sees_patient_a_chart"),
    [
        ("patient", True),
        ("other_patient", False),
        ("physician", True),
        ("other_physician", False),
        ("medical_director", True),
        ("staff", False),
        ("pharmacy_liaison", False),
        ("admin_user", False),
    ],
)
def test_scoping_matches_the_json_api(request, chart, viewer, sees_patient_a_chart):
    user = request.getfixturevalue(viewer)
    url = f"/fhir/r4/Observation/{chart.phq9.public_id}"
    response = client_for(user).get(url)
    if sees_patient_a_chart:
        assert response.status_code == 200
    else:
        assert response.status_code == 404
        outcome = OperationOutcome.model_validate_json(response.content)
        assert outcome.issue[0].code == "not-found"
        assert str(chart.patient.public_id) not in response.content.decode()
    listed = client_for(user).get("/fhir/r4/Observation", {"patient": str(chart.patient.public_id)})
    if sees_patient_a_chart:
        assert _ids(listed)
    else:
        assert listed.status_code == 404 or not _ids(listed)


def test_flags_visits_and_the_other_physicians_patients(chart, staff, other_physician, pharmacy_liaison):
    # Care coordinators: flags and visits of every patient, no chart.
    assert str(chart.flag.public_id) in _ids(_search(staff, "Flag"))
    assert str(chart.visit.public_id) in _ids(_search(staff, "Encounter"))
    assert _search(staff, "Observation").status_code == 404
    # Patients never see flags (as in the JSON API); a physician only their caseload's.
    assert _search(chart.patient, "Flag").status_code == 404
    assert _ids(_search(chart.physician, "Flag")) == {str(chart.flag.public_id)}
    assert _ids(_search(other_physician, "Flag")) == {str(chart.other_flag.public_id)}
    # A pharmacy liaison reaches no FHIR patient data at all.
    for name in TYPES:
        assert _search(pharmacy_liaison, name).status_code == 404, name
    # Practitioners: a patient their own physicians only.
    assert _ids(_search(chart.patient, "Practitioner")) == {str(chart.physician.public_id)}
    assert client_for(chart.patient).get(f"/fhir/r4/Practitioner/{other_physician.public_id}").status_code == 404


def test_anonymous_is_401_and_the_capability_statement_is_public(chart):
    response = client_for(None).get("/fhir/r4/Patient")
    assert response.status_code == 401
    assert OperationOutcome.model_validate_json(response.content).issue[0].code == "login"
    metadata = client_for(None).get("/fhir/r4/metadata", HTTP_ACCEPT="application/json")
    assert metadata.status_code == 200 and metadata["Content-Type"] == FHIR
    statement = CapabilityStatement.model_validate_json(metadata.content)
    assert {r.type for r in statement.rest[0].resource} == set(TYPES)
    assert statement.fhirVersion == "4.3.0"


def test_every_read_is_audited(chart):
    before = AuditEvent.objects.count()
    client_for(chart.physician).get(f"/fhir/r4/Observation/{chart.bp.public_id}")
    event = AuditEvent.objects.order_by("-id").first()
    assert (event.action, event.object_type, event.patient_id) == ("read", "patients.vitalreading", chart.patient.pk)
    assert event.detail == "fhir Observation read"
    page = _search(chart.physician, "Observation", patient=str(chart.patient.public_id)).json()
    rows = AuditEvent.objects.filter(detail="fhir Observation search")
    assert rows.count() == len(page["entry"])
    assert {r.object_type for r in rows} == {
        "patients.questionnaireresponse",
        "patients.vitalreading",
        "outcomes.headachemonth",
    }
    assert AuditEvent.objects.count() == before + 1 + len(page["entry"])
