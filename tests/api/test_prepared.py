"""api.prepared: a prepared read runs the SQL the ORM compiles for its queryset, with each call's
values in their places, and its rows are the ORM's rows; the list endpoints on it keep their audit rows."""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple
from uuid import UUID

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.scopes import Reach
from api.prepared import PreparedRead
from tests.conftest import client_for
from tests.factories import PatientUserFactory, PhysicianUserFactory, StaffUserFactory

pytestmark = pytest.mark.django_db


def _prepared_sql(read, arguments, start, stop):
    compiled = read.compiled("default", arguments)
    values = {name: compiled.adapters.get(name, lambda v: v)(value) for name, value in arguments.items()}
    params = [values[name] if name else constant for name, constant in compiled.slots]
    limits = connection.ops.limit_offset_sql(start, stop)
    return f"{compiled.sql} {limits}" if limits else compiled.sql, tuple(params)


def _orm_sql(read, arguments, start, stop):
    sql, params = read.queryset(arguments)[start:stop].query.get_compiler(connection=connection).as_sql()
    return sql, tuple(params)


@pytest.mark.parametrize("reach", [Reach.ALL, Reach.CARE, Reach.SELF])
@pytest.mark.parametrize(("start", "stop"), [(0, 21), (40, 60), (0, None), (5, None)])
def test_appointment_rows_run_the_orms_sql(reach, start, stop):
    from scheduling.selectors import APPOINTMENT_ROWS

    arguments = {"reach": reach, "viewer_id": 4321}
    assert _prepared_sql(APPOINTMENT_ROWS, arguments, start, stop) == _orm_sql(APPOINTMENT_ROWS, arguments, start, stop)


def test_board_and_newest_order_run_the_orms_sql():
    from prescriptions.selectors import _NEWEST_ORDER, BOARD_ROWS

    for read in (BOARD_ROWS, _NEWEST_ORDER):
        assert _prepared_sql(read, {}, 0, 21) == _orm_sql(read, {}, 0, 21)


def test_the_caseload_page_and_size_run_the_orms_sql():
    from scheduling.caseload import _PAGE, _TOTAL

    for read in (_PAGE, _TOTAL):
        for start, stop in ((0, 20), (40, 60)):
            arguments = {"physician_id": 4321}
            assert _prepared_sql(read, arguments, start, stop) == _orm_sql(read, arguments, start, stop)


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_on_postgresql_a_read_is_a_prepared_statement_logged_with_its_values():
    from scheduling.selectors import APPOINTMENT_ROWS
    from tests.scheduling.factories import AppointmentFactory

    patient = AppointmentFactory(starts_at=timezone.now() + timedelta(days=2)).patient
    arguments = {"reach": Reach.SELF, "viewer_id": patient.pk}
    orm = list(APPOINTMENT_ROWS.orm_rows(**arguments)[0:20])
    assert len(orm) == 1
    with CaptureQueriesContext(connection) as ctx:
        rows = APPOINTMENT_ROWS.rows(**arguments).slice(0, 20)
    assert rows == orm
    assert [(r.starts_at.tzinfo, r.starts_at.isoformat()) for r in rows] == [
        (r.starts_at.tzinfo, r.starts_at.isoformat()) for r in orm
    ]  # psycopg's timestamp loader gives what Django's gives, zone object included
    assert any('"scheduling_appointment"' in sql for sql in _prepared_statements())
    assert f"= {patient.pk}" in ctx.captured_queries[0]["sql"]  # the log shows the values, not $1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_without_a_prepare_threshold_a_read_is_sent_unprepared_with_the_same_rows(monkeypatch):
    """Behind PgBouncer (config/database.py) the connection has no threshold: nothing is prepared."""
    from scheduling.selectors import APPOINTMENT_ROWS

    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "prepare_threshold", None)
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    connection.connection._prepared.clear()  # psycopg's own record of what it prepared
    from tests.scheduling.factories import AppointmentFactory

    patient = AppointmentFactory(starts_at=timezone.now() + timedelta(days=2)).patient
    arguments = {"reach": Reach.SELF, "viewer_id": patient.pk}
    rows = APPOINTMENT_ROWS.rows(**arguments).slice(0, 20)
    assert len(rows) == 1 and rows == list(APPOINTMENT_ROWS.orm_rows(**arguments)[0:20])
    assert _prepared_statements() == []


def test_a_read_with_no_rows_for_its_shape_reads_nothing():
    from scheduling.selectors import APPOINTMENT_ROWS

    with CaptureQueriesContext(connection) as ctx:
        assert APPOINTMENT_ROWS.rows(reach=Reach.NONE, viewer_id=1)[0:20] == []
    assert ctx.captured_queries == []


class _Row(NamedTuple):
    id: int
    public_id: UUID


def test_a_value_the_orm_transforms_is_refused():
    from scheduling.models import Appointment

    read = PreparedRead(
        Appointment,
        _Row,
        lambda text: Appointment.objects.filter(status__icontains=text),
        params=("text",),
        types={"text": str},
    )
    with pytest.raises(ImproperlyConfigured):
        read.rows(text="book")[0:1]  # the ORM sends %book%


def test_the_list_endpoints_audit_each_row_as_before():
    from tests.prescriptions.factories import DeliveryOrderFactory, SignedPrescriptionFactory
    from tests.scheduling.factories import AppointmentFactory

    physician = PhysicianUserFactory()
    patient = PatientUserFactory()
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    visits = [
        AppointmentFactory(patient=patient, physician=physician, starts_at=start + timedelta(hours=i)) for i in range(3)
    ]
    client_for(patient).get(reverse("v1:appointments"))
    rows = AuditEvent.objects.filter(path=reverse("v1:appointments")).order_by("id")
    assert [(r.object_type, r.object_id, r.patient_id, r.actor_id, r.detail) for r in rows] == [
        ("scheduling.appointment", str(v.pk), patient.pk, patient.pk, "") for v in reversed(visits)
    ]
    rx = SignedPrescriptionFactory(physician=physician)
    orders = [DeliveryOrderFactory(prescription=rx, sequence=i + 1) for i in range(2)]
    staff = StaffUserFactory()
    client_for(staff).get(reverse("v1:staff-order-list"))
    rows = AuditEvent.objects.filter(path=reverse("v1:staff-order-list")).order_by("id")
    assert sorted((r.object_type, r.object_id, r.patient_id, r.actor_id, r.detail) for r in rows) == sorted(
        ("prescriptions.deliveryorder", str(o.pk), o.patient_id, staff.pk, "list") for o in orders
    )


@pytest.mark.parametrize("ordering", [("-created_at", "-id"), ("created_at", "id")])
def test_keyset_pages_run_the_orms_sql_and_rows(ordering):
    from api.prepared import keyset_after
    from prescriptions.selectors import BOARD_ROWS, delivery_order_board
    from tests.prescriptions.factories import DeliveryOrderFactory, SignedPrescriptionFactory

    rx = SignedPrescriptionFactory()
    orders = [DeliveryOrderFactory(prescription=rx, sequence=i + 1) for i in range(5)]
    middle = orders[2]
    keys = [middle.created_at, middle.pk]
    read = BOARD_ROWS.keyset_read(ordering)
    prepared = _prepared_sql(read, {"key0": keys[0], "key1": keys[1]}, 0, 3)
    orm = BOARD_ROWS.queryset({}).order_by(*ordering).filter(keyset_after(ordering, keys))[0:3]
    orm_sql, orm_params = orm.query.get_compiler(connection=connection).as_sql()
    assert prepared == (orm_sql, tuple(orm_params))
    page = delivery_order_board().keyset(ordering, keys, 3)
    assert page == delivery_order_board()._wrap(orm) and len(page) == 2
    assert [row.id for row in page] == [o.pk for o in (orders[:2][::-1] if ordering[0][0] == "-" else orders[3:])]
    assert delivery_order_board(status=middle.status).keyset(ordering, keys, 3) == page  # the ORM's, filtered


def test_a_deep_keyset_page_starts_its_index_scan_at_the_position(on_postgres):
    """The first key's bound is an index condition, not a filter over every row before it."""
    from prescriptions.selectors import BOARD_ROWS
    from tests.prescriptions.factories import DeliveryOrderFactory, SignedPrescriptionFactory

    rx = SignedPrescriptionFactory()
    orders = [DeliveryOrderFactory(prescription=rx, sequence=i + 1) for i in range(3)]
    read = BOARD_ROWS.keyset_read(("-created_at", "-id"))
    sql, params = _prepared_sql(read, {"key0": orders[1].created_at, "key1": orders[1].pk}, 0, 3)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a few rows: make the planner show the index
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    conditions = [line for line in plan.splitlines() if "Index Cond" in line]
    assert any("created_at <=" in line for line in conditions), plan


def test_a_keyset_on_another_kind_of_key_goes_through_the_orm():
    from prescriptions.selectors import BOARD_ROWS

    assert BOARD_ROWS.keyset_read(("-status", "-id")) is None
    assert BOARD_ROWS.keyset_read(("-patient__public_id", "-id")) is None


def _booking_reads():
    """The reads inside a booking's transaction, each with arguments of every kind it takes."""
    from billing.services.standing import _SUBSCRIPTIONS
    from practice.services.licensing import _CDS, _DEA, _LICENCES
    from scheduling.contracts import _ASSIGNED, _CONTACT, _INFO
    from scheduling.selectors import _EXCEPTIONS, _WEEKLY, BOOKING_GATES, BOOKING_GATES_STANDING
    from scheduling.services.booking import _LOCKED, _VISITS_AROUND

    now = timezone.now()
    day = now.date()
    return [
        *(
            (read, {"patient_id": 7, "now": now, "physician_id": 3, "on": day, "state": state, "standing": standing})
            for read, standing in ((BOOKING_GATES, False), (BOOKING_GATES_STANDING, True))
            for state in ("FL", "NJ", "TX")  # TX: a state not served, no licence subquery
        ),
        (_WEEKLY, {"physician_id": 3, "location_id": None}),
        (_WEEKLY, {"physician_id": 3, "location_id": 12}),
        (_EXCEPTIONS, {"physician_id": 3, "location_id": None, "first": day, "last": day + timedelta(days=4)}),
        (
            _VISITS_AROUND,
            {
                "physician_id": 3,
                "before": now,
                "after": now - timedelta(hours=3),
                "earliest": now - timedelta(hours=7),
                "exclude_id": 0,
            },
        ),
        (_LOCKED, {"patient_id": 7, "physician_public_id": UUID("6f1c2d3e-0000-4000-8000-000000000001")}),
        (_INFO, {"physician_id": 3}),
        (_ASSIGNED, {"patient_id": 7}),
        (_CONTACT, {"patient_id": 7}),
        (_SUBSCRIPTIONS, {"patient_id": 7}),
        (_LICENCES, {"physician_id": 3, "state": "NJ"}),
        (_DEA, {"physician_id": 3, "state": "FL"}),
        (_CDS, {"physician_id": 3}),
    ]


def test_the_booking_reads_run_the_orms_sql():
    from django.db import transaction

    with transaction.atomic():  # the lock's FOR UPDATE compiles only inside a transaction
        for read, arguments in _booking_reads():
            assert _prepared_sql(read, arguments, 0, None) == _orm_sql(read, arguments, 0, None), read.build


def test_a_read_of_model_instances_gives_the_orms_instances():
    from practice.services.licensing import _LICENCES
    from tests.practice.factories import StateLicenseFactory

    physician = PhysicianUserFactory()
    StateLicenseFactory(physician=physician, state="NJ", number="NJ-2")
    prepared = _LICENCES.rows(physician_id=physician.pk, state="NJ").slice(0, None)
    orm = list(_LICENCES.queryset({"physician_id": physician.pk, "state": "NJ"}))
    assert prepared == orm and prepared
    assert [vars(p) | {"_state": None} for p in prepared] == [vars(o) | {"_state": None} for o in orm]
    assert not prepared[0]._state.adding and prepared[0]._state.db == "default"
    assert _LICENCES.first(physician_id=physician.pk, state="TX") is None


def test_a_read_of_instances_refuses_related_or_annotated_rows():
    from django.db.models import Count

    from practice.models import StateLicense

    for build in (
        lambda physician_id: StateLicense.objects.select_related("physician").filter(physician_id=physician_id),
        lambda physician_id: StateLicense.objects.annotate(n=Count("id")).filter(physician_id=physician_id),
    ):
        read = PreparedRead(StateLicense, None, build, params=("physician_id",))
        with pytest.raises(ImproperlyConfigured):
            read.first(physician_id=1)


def test_uuid_values_reach_the_sql_as_the_orm_sends_them():
    from scheduling.models import Appointment

    read = PreparedRead(
        Appointment,
        _Row,
        lambda public_id: Appointment.objects.filter(public_id=public_id),
        params=("public_id",),
        types={"public_id": UUID},
    )
    from tests.scheduling.factories import AppointmentFactory

    visit = AppointmentFactory(starts_at=timezone.now().replace(microsecond=0) + timedelta(days=2))
    assert read.first(public_id=visit.public_id) == (visit.pk, visit.public_id)
    assert read.first(public_id=str(visit.public_id)) == (visit.pk, visit.public_id)  # text, as the ORM takes it
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        read.first(public_id="not-a-uuid")


def test_a_locking_read_is_read_whole():
    from django.db import transaction

    from scheduling.services.booking import _LOCKED

    with transaction.atomic():
        rows = _LOCKED.rows(patient_id=1, physician_public_id=UUID(int=1))
        if connection.features.has_select_for_update:
            with pytest.raises(ImproperlyConfigured):
                rows.slice(0, 1)
        assert rows.slice(0, None) == []


def _stored(obj) -> dict:
    model = type(obj)
    return model.objects.filter(pk=obj.pk).values(*[f.attname for f in model._meta.concrete_fields]).get()


def test_insert_new_stores_what_bulk_create_and_save_store():
    from api.prepared import insert_new
    from scheduling.models import Reminder
    from tests.scheduling.factories import AppointmentFactory

    visit = AppointmentFactory(starts_at=timezone.now().replace(microsecond=0) + timedelta(days=3))
    due = visit.starts_at - timedelta(hours=24)
    mine = insert_new([Reminder(appointment=visit, channel=c, kind="24h", due_at=due) for c in ("email", "sms")])
    theirs = Reminder.objects.bulk_create(
        [Reminder(appointment=visit, channel=c, kind="1h", due_at=due) for c in ("email", "sms")]
    )
    assert all(r.pk and not r._state.adding and r._state.db == "default" for r in mine)
    for a, b in zip(mine, theirs, strict=True):
        assert {**_stored(a), "id": 0, "kind": ""} == {**_stored(b), "id": 0, "kind": ""}
    assert insert_new([]) == []


def test_insert_new_with_signals_is_save():
    from django.db.models.signals import post_save, pre_save

    from api.prepared import insert_new
    from scheduling.models import Appointment
    from tests.scheduling.factories import AppointmentFactory

    template = AppointmentFactory(starts_at=timezone.now().replace(microsecond=0) + timedelta(days=3))
    sent = []

    def pre(sender, instance, **kwargs):
        sent.append(("pre", instance.pk, kwargs["raw"], kwargs["update_fields"]))

    def post(sender, instance, **kwargs):
        sent.append(("post", instance.pk, kwargs["created"], kwargs["update_fields"]))

    pre_save.connect(pre, sender=Appointment, weak=False, dispatch_uid="t-pre")
    post_save.connect(post, sender=Appointment, weak=False, dispatch_uid="t-post")
    try:
        fields = ["patient", "physician", "appointment_type", "ends_at", "buffer_minutes", "patient_state"]
        later = template.starts_at + timedelta(hours=5)
        visit = Appointment(
            **{f: getattr(template, f) for f in fields},
            starts_at=later,
            idempotency_key="insert-new",
        )
        visit.ends_at = later + (template.ends_at - template.starts_at)
        insert_new([visit], signals=True)
    finally:
        pre_save.disconnect(sender=Appointment, dispatch_uid="t-pre")
        post_save.disconnect(sender=Appointment, dispatch_uid="t-post")
    assert sent == [("pre", None, False, None), ("post", visit.pk, True, None)]
    stored = Appointment.objects.get(pk=visit.pk)
    assert stored.public_id == visit.public_id and stored.created_at == visit.created_at is not None
    assert stored.idempotency_key == "insert-new" and stored.status == "booked"


def test_insert_new_refuses_what_it_cannot_store_as_save_would():
    from api.prepared import insert_new
    from scheduling.models import Reminder
    from tests.scheduling.factories import AppointmentFactory

    visit = AppointmentFactory(starts_at=timezone.now().replace(microsecond=0) + timedelta(days=3))
    stored = Reminder.objects.create(appointment=visit, channel="email", kind="24h", due_at=visit.starts_at)
    with pytest.raises(ImproperlyConfigured):
        insert_new([stored])  # not new
    with pytest.raises(ImproperlyConfigured):
        insert_new([Reminder(appointment=visit, channel="sms", kind="1h", due_at=visit.starts_at), visit])
    with pytest.raises(ImproperlyConfigured):
        insert_new(
            [Reminder(appointment=visit, channel=c, kind="1h", due_at=visit.starts_at) for c in ("sms", "push")],
            signals=True,
        )
