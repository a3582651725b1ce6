import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from patients.models import ConsentDocument, ConsentSignature
from patients.services.consents import patient_consents_current

pytestmark = pytest.mark.django_db

URL = "/api/v1/patient/consents/"
KINDS = ["telehealth", "ketamine_informed_consent", "controlled_substance_agreement", "privacy_notice"]


def sign(client, document):
    return client.post(f"{URL}{document.public_id}/sign/", format="json")


def test_documents_exist_from_the_data_migration_and_ketamine_consent_cites_the_fda():
    assert sorted(ConsentDocument.objects.values_list("kind", flat=True)) == sorted(KINDS)
    assert "FDA" in ConsentDocument.objects.get(kind="ketamine_informed_consent").body


def test_list_shows_current_documents_unsigned(api, patient):
    response = api(patient).get(URL)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["kind"] for r in rows] == KINDS
    assert not any(r["signed"] for r in rows)
    assert patient_consents_current(patient=patient) == KINDS


def test_signing_records_who_when_where_and_the_exact_version(api, patient):
    document = ConsentDocument.objects.get(kind="telehealth")
    response = api(patient).post(
        f"{URL}{document.public_id}/sign/", HTTP_USER_AGENT="PracticeApp/2.1 iOS", REMOTE_ADDR="198.51.100.7"
    )
    assert response.status_code == 201, response.json()
    signature = ConsentSignature.objects.get()
    assert (signature.patient, signature.document_version, signature.ip_address, signature.user_agent) == (
        patient,
        1,
        "198.51.100.7",
        "PracticeApp/2.1 iOS",
    )
    assert len(signature.body_sha256) == 64
    assert "telehealth" not in response.json()["missing_kinds"]
    assert AuditEvent.objects.filter(action="sign", object_id=str(signature.pk)).count() == 1


def test_signing_twice_is_idempotent(api, patient):
    document = ConsentDocument.objects.get(kind="privacy_notice")
    first = sign(api(patient), document)
    second = sign(api(patient), document)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["signature_id"] == second.json()["signature_id"]
    assert ConsentSignature.objects.count() == 1


def test_all_signed_then_a_new_version_requires_a_new_signature(api, patient):
    for document in ConsentDocument.objects.all():
        sign(api(patient), document)
    assert patient_consents_current(patient=patient) == []
    old = ConsentDocument.objects.get(kind="ketamine_informed_consent")
    new = ConsentDocument.objects.create(
        kind="ketamine_informed_consent", version=2, title="v2", body="New text.", effective_at=timezone.now()
    )
    assert patient_consents_current(patient=patient) == ["ketamine_informed_consent"]
    superseded = sign(
        api(patient),
        ConsentDocument.objects.create(
            kind="telehealth", version=0, title="old", body="old", effective_at=timezone.now() - dt.timedelta(days=999)
        ),
    )
    assert superseded.status_code == 409 and superseded.json()["code"] == "document_superseded"
    assert sign(api(patient), new).status_code == 201
    assert patient_consents_current(patient=patient) == []
    assert ConsentSignature.objects.filter(document=old).exists()  # the old signature stays


def test_a_future_version_is_not_current_yet(patient):
    ConsentDocument.objects.create(
        kind="telehealth", version=2, title="v2", body="x", effective_at=timezone.now() + dt.timedelta(days=3)
    )
    from patients.services.consents import current_documents

    assert {d.kind: d.version for d in current_documents()}["telehealth"] == 1


def test_signatures_are_immutable(api, patient):
    sign(api(patient), ConsentDocument.objects.get(kind="telehealth"))
    signature = ConsentSignature.objects.get()
    signature.user_agent = "tampered"
    with pytest.raises(PermissionError):
        signature.save()
    with pytest.raises(PermissionError):
        signature.delete()
    with pytest.raises(PermissionError):
        ConsentSignature.objects.all().delete()
    with pytest.raises(PermissionError):
        ConsentSignature.objects.update(user_agent="x")
    assert ConsentSignature.objects.get().user_agent == ""


def test_unknown_document_is_404(api, patient):
    import uuid

    assert api(patient).post(f"{URL}{uuid.uuid4()}/sign/").status_code == 404
