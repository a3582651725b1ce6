import pytest
from django.db import connection
from django.test import Client

from accounts.audit import audit_log
from accounts.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


def test_unknown_api_route_is_a_json_404_envelope(api, patient):
    response = api(patient).get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Not found.", "fields": {}}


def test_validation_error_envelope_lists_field_codes(anon_client):
    response = anon_client.post("/api/v1/auth/token/", {"email": "not-an-email"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["fields"]["email"][0]["code"] == "invalid"
    assert body["fields"]["password"][0]["code"] == "required"


def test_malformed_json_is_a_400_parse_error(anon_client):
    response = anon_client.generic("POST", "/api/v1/auth/token/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_wrong_content_type_is_415(anon_client):
    response = anon_client.generic("POST", "/api/v1/auth/token/", "email=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_method_not_allowed_envelope(api, patient):
    response = api(patient).delete("/api/v1/auth/me/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_request_id_is_echoed_and_generated(anon_client):
    assert len(anon_client.get("/healthz")["X-Request-ID"]) == 32
    assert anon_client.get("/healthz", HTTP_X_REQUEST_ID="abc12345-trace")["X-Request-ID"] == "abc12345-trace"


def test_healthz_reports_database_and_broker(anon_client):
    response = anon_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_healthz_is_503_when_the_broker_is_down(anon_client, monkeypatch):
    from api import health

    def broken():
        raise ConnectionError("broker down")

    monkeypatch.setattr(health, "_check_broker", broken)
    response = anon_client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "unavailable"}


def test_audit_log_writes_one_row_per_record_with_who_what_where(rf, patient, other_patient, physician):
    request = rf.get("/api/v1/something/", REMOTE_ADDR="203.0.113.9")
    request.user = physician
    request.request_id = "req-123456"
    rows = audit_log(request, AuditAction.READ, patient, other_patient)
    assert len(rows) == 2
    stored = AuditEvent.objects.filter(actor=physician).order_by("id")
    assert [(r.patient_id, r.action, r.ip_address, r.request_id, r.actor_role) for r in stored] == [
        (patient.pk, "read", "203.0.113.9", "req-123456", "physician"),
        (other_patient.pk, "read", "203.0.113.9", "req-123456", "physician"),
    ]


def test_audit_rows_cannot_be_changed_or_deleted_through_the_app(patient):
    (row,) = audit_log(None, AuditAction.READ, patient, actor=None)
    row = AuditEvent.objects.get()
    row.detail = "tampered"
    with pytest.raises(PermissionError):
        row.save()
    with pytest.raises(PermissionError):
        row.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.update(detail="x")
    assert AuditEvent.objects.get().detail == ""


def test_audit_rows_are_protected_by_a_database_trigger(on_postgres, patient, django_db_blocker):
    from django.db import DatabaseError, transaction

    audit_log(None, AuditAction.READ, patient, actor=None)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_auditevent SET detail = 'x'")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_auditevent")
    assert AuditEvent.objects.count() == 1


def test_deleting_a_user_an_audit_event_names_is_refused(patient, staff):
    from django.db.models import ProtectedError

    audit_log(None, AuditAction.READ, patient, actor=staff)
    for user in (patient, staff):
        with pytest.raises(ProtectedError):
            user.delete()
    assert AuditEvent.objects.count() == 1


def test_audit_ids_carry_no_constraint_and_no_index_of_their_own(on_postgres):
    """An audited read writes a row per record shown: without a foreign key its commit neither
    checks nor KEY SHARE-locks the users it names; the composite indexes lead with each id."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'accounts_auditevent'::regclass AND contype = 'f'"
        )
        assert cursor.fetchall() == []
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'accounts_auditevent'")
        defs = [row[0].split(" USING btree ")[1] for row in cursor.fetchall()]
    assert sorted(defs) == ["(actor_id, created_at)", "(created_at)", "(id)", "(patient_id, created_at)"]


def test_audit_admin_is_read_only(admin_user, patient):
    audit_log(None, AuditAction.READ, patient, actor=None)
    client = Client()
    client.force_login(admin_user)
    row = AuditEvent.objects.get()
    assert client.get("/admin/accounts/auditevent/").status_code == 200
    assert client.post(f"/admin/accounts/auditevent/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.count() == 1


def test_admin_session_expires_after_idle_time(admin_user, settings):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    client = Client()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client.force_login(admin_user)
        assert client.get("/admin/").status_code == 200
        traveller.shift(settings.ADMIN_IDLE_TIMEOUT - timedelta(minutes=1))
        assert client.get("/admin/").status_code == 200
        traveller.shift(settings.ADMIN_IDLE_TIMEOUT + timedelta(minutes=1))
        response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("page", ["0", "-1", "abc", "999"])
def test_invalid_page_is_a_400_field_error(api, admin_user, page):
    response = api(admin_user).get(f"/api/v1/service-area/counties/?page={page}")
    assert response.status_code == 400
    assert response.json()["fields"]["page"][0]["code"] == "invalid_page"


def test_page_size_is_capped(anon_client):
    response = anon_client.get("/api/v1/service-area/counties/?page_size=1000")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 88  # all counties fit under the cap of 100
    small = anon_client.get("/api/v1/service-area/counties/?page_size=5").json()
    assert len(small["results"]) == 5 and small["count"] == 88


def test_audit_log_writes_any_number_of_rows_in_one_statement_that_reads_back(
    rf, patient, other_patient, physician, django_assert_num_queries
):
    request = rf.get("/api/v1/something/", REMOTE_ADDR="2001:db8::7")
    request.user = physician
    records = [patient, other_patient] * 15
    with django_assert_num_queries(1):  # no transaction of its own either
        rows = audit_log(request, AuditAction.READ, *records, detail="list")
    stored = list(AuditEvent.objects.filter(created_at=rows[0].created_at).order_by("id"))
    assert len(stored) == 30
    assert {(r.ip_address, r.actor_id, r.actor_role, r.detail, r.path) for r in stored} == {
        ("2001:db8::7", physician.pk, "physician", "list", "/api/v1/something/")
    }
    assert [r.patient_id for r in stored] == [patient.pk, other_patient.pk] * 15
    assert [r.object_id for r in stored] == [str(patient.pk), str(other_patient.pk)] * 15
    assert audit_log(request, AuditAction.READ) == []
