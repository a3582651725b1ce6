"""The staff console pages (docs/staff-console.md): who opens which, what the delivery board
puts first, bulk moves through the state machine with the API's refusals, the worklist and the
review queue with their CSV exports, and audited reads."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEvent
from console.links import tracking_url
from prescriptions.models import OrderEvent, OrderStatus
from tests.factories import PatientUserFactory
from tests.patients.factories import PatientProfileFactory, SafetyFlagFactory
from tests.prescriptions.conftest import make_ready
from tests.prescriptions.factories import DeliveryOrderFactory, SignedPrescriptionFactory, licensed_pharmacy

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
BOARD = "/admin/console/deliveries/"
READINESS = "/admin/console/prescribing-readiness/"
QUEUE = "/admin/console/review-queue/"


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=NY), tick=False):
        yield


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def orders():
    now = timezone.now()
    on_time = DeliveryOrderFactory(ship_to_name="Olive Ontime", status_changed_at=now - timedelta(hours=1))
    stuck = DeliveryOrderFactory(
        ship_to_name="Stella Stuck", status=OrderStatus.SENT_TO_PHARMACY, status_changed_at=now - timedelta(hours=60)
    )
    silent = DeliveryOrderFactory(
        ship_to_name="Simon Silent",
        status=OrderStatus.IN_TRANSIT,
        status_changed_at=now - timedelta(hours=80),
        shipped_at=now - timedelta(hours=90),
        carrier="USPS",
        tracking_number="9400 1000",
        last_carrier_update=now - timedelta(hours=80),
    )
    exception = DeliveryOrderFactory(
        ship_to_name="Eve Exception", status=OrderStatus.EXCEPTION, status_changed_at=now - timedelta(hours=2)
    )
    delivered = DeliveryOrderFactory(
        ship_to_name="Dora Delivered", status=OrderStatus.DELIVERED, status_changed_at=now - timedelta(days=9)
    )
    return {"on_time": on_time, "stuck": stuck, "silent": silent, "exception": exception, "delivered": delivered}


def _rows(body: str) -> list[str]:
    """The order ids of the board's rows, in the page's order."""
    import re

    return re.findall(r'<tr class="[^"]*" data-order="([0-9a-f-]+)"', body)


# --- Who opens what ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "who, board, readiness, queue",
    [
        ("staff", 200, 200, 200),
        ("pharmacy_liaison", 200, 404, 404),
        ("medical_director", 404, 200, 200),
        ("admin_user", 404, 404, 404),
    ],
)
def test_each_staff_role_opens_the_pages_the_api_allows_it(request, who, board, readiness, queue):
    client = browser_for(request.getfixturevalue(who))
    assert client.get(BOARD).status_code == board
    assert client.get(READINESS).status_code == readiness
    assert client.get(QUEUE).status_code == queue


@pytest.mark.parametrize("who", ["patient", "physician"])
def test_patients_and_physicians_are_sent_to_the_admin_sign_in(request, who):
    client = browser_for(request.getfixturevalue(who))
    for url in (BOARD, READINESS, QUEUE, "/admin/console/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url


def test_anonymous_visitors_are_sent_to_the_admin_sign_in():
    response = Client().get(BOARD)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_the_admin_home_lists_the_console_pages_of_the_role(pharmacy_liaison, staff):
    body = browser_for(pharmacy_liaison).get("/admin/").content.decode()
    assert "Delivery board" in body and "Review queue" not in body and "Prescribing readiness" not in body
    body = browser_for(staff).get("/admin/").content.decode()
    assert "Delivery board" in body and "Review queue" in body and "Prescribing readiness" in body


# --- Delivery board ------------------------------------------------------------------------------
def test_exceptions_silent_shipments_and_stuck_orders_come_first_and_are_highlighted(staff, orders):
    body = browser_for(staff).get(BOARD).content.decode()
    ids = _rows(body)
    expected = [orders[k].public_id for k in ("exception", "silent", "stuck", "on_time", "delivered")]
    assert ids == [str(i) for i in expected]
    assert f'<tr class="attention-exception" data-order="{orders["exception"].public_id}"' in body
    assert f'<tr class="attention-silent" data-order="{orders["silent"].public_id}"' in body
    assert f'<tr class="attention-stuck" data-order="{orders["stuck"].public_id}"' in body
    assert f'<tr class="" data-order="{orders["on_time"].public_id}"' in body


def test_the_board_shows_counts_time_in_status_patient_state_and_the_tracking_link(staff, orders):
    body = browser_for(staff).get(BOARD).content.decode()
    assert 'data-status="created"' in body and 'data-status="overdue"' in body
    assert "Simon Silent" in body and ">FL<" in body
    assert "3 d 8 h" in body  # the silent order, 80 h in transit
    assert "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400%201000" in body
    counts = body[body.index('id="status-counts"') : body.index("</ul>", body.index('id="status-counts"'))]
    assert '<a href="?overdue=yes">Overdue</a><span class="n">2</span>' in counts
    assert '<a href="?status=exception">Exception</a><span class="n">1</span>' in counts


def test_the_overdue_filter_uses_the_api_rules(staff, orders):
    client = browser_for(staff)
    ids = _rows(client.get(BOARD, {"overdue": "yes"}).content.decode())
    assert set(ids) == {str(orders["silent"].public_id), str(orders["stuck"].public_id)}
    ids = _rows(client.get(BOARD, {"status": "exception"}).content.decode())
    assert ids == [str(orders["exception"].public_id)]
    assert len(_rows(client.get(BOARD, {"status": "nonsense"}).content.decode())) == 5  # ignored, not a 500


def test_a_bulk_move_goes_through_the_state_machine_and_lists_the_refusals(pharmacy_liaison, orders):
    client = browser_for(pharmacy_liaison)
    response = client.post(
        BOARD,
        {
            "orders": [str(orders["on_time"].public_id), str(orders["delivered"].public_id)],
            "to": OrderStatus.SENT_TO_PHARMACY,
            "query": "overdue=no",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == BOARD + "?overdue=no"
    body = response.content.decode()
    assert "1 order(s) moved to sent to pharmacy." in body
    assert f"Order {str(orders['delivered'].public_id)[:8]} refused (illegal_transition)" in body
    orders["on_time"].refresh_from_db()
    orders["delivered"].refresh_from_db()
    assert orders["on_time"].status == OrderStatus.SENT_TO_PHARMACY
    assert orders["delivered"].status == OrderStatus.DELIVERED
    event = OrderEvent.objects.filter(order=orders["on_time"]).latest("id")
    assert (event.from_status, event.to_status, event.actor) == ("created", "sent_to_pharmacy", pharmacy_liaison)


def test_shipping_without_a_tracking_number_is_refused_as_by_the_api(staff):
    order = DeliveryOrderFactory(status=OrderStatus.COMPOUNDING)
    body = (
        browser_for(staff)
        .post(BOARD, {"orders": [str(order.public_id)], "to": OrderStatus.SHIPPED}, follow=True)
        .content.decode()
    )
    assert "refused (tracking_required)" in body
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPOUNDING


def test_a_move_without_a_status_or_orders_is_a_message_not_an_error(staff, orders):
    client = browser_for(staff)
    assert (
        "Choose the status"
        in client.post(BOARD, {"orders": [str(orders["on_time"].public_id)]}, follow=True).content.decode()
    )
    assert "Select at least one order" in client.post(BOARD, {"to": "compounding"}, follow=True).content.decode()
    assert (
        "Select at least one order"
        in client.post(BOARD, {"to": "compounding", "orders": ["x"]}, follow=True).content.decode()
    )


def test_the_order_page_shows_the_timeline_and_moves_one_step(staff, orders):
    client = browser_for(staff)
    url = f"{BOARD}{orders['stuck'].public_id}/"
    body = client.get(url).content.decode()
    assert "Stella Stuck" in body and "1 Main St" in body and 'id="timeline"' in body
    assert '<option value="compounding">Compounding</option>' in body
    body = client.post(url, {"to": "compounding", "note": "pharmacy called"}, follow=True).content.decode()
    timeline = body[body.index('id="timeline"') :]
    assert "Sent to pharmacy" in timeline and "Compounding" in timeline and "pharmacy called" in timeline


def test_an_unknown_order_is_404(staff):
    assert browser_for(staff).get(f"{BOARD}00000000-0000-0000-0000-000000000000/").status_code == 404


def test_board_reads_are_audited(staff, orders):
    browser_for(staff).get(BOARD)
    assert AuditEvent.objects.filter(detail="console board", actor=staff).count() == 5


def test_tracking_links_of_known_carriers_only():
    assert tracking_url("UPS", "1Z 999") == "https://www.ups.com/track?tracknum=1Z%20999"
    assert tracking_url("FedEx", "12/3").endswith("trknbr=12%2F3")
    assert tracking_url("PonyExpress", "1") is None
    assert tracking_url("USPS", "") is None


# --- Prescribing readiness and the review queue ---------------------------------------------------
@pytest.fixture
def cohort(patient, other_patient, physician):
    pharmacy = licensed_pharmacy("FL", "NJ")
    make_ready(patient, physician)
    make_ready(other_patient, physician, state="NJ")
    for who in (patient, other_patient):
        SignedPrescriptionFactory(patient=who, physician=physician, pharmacy=pharmacy)
    return {"alice": patient, "bruno": other_patient}


def test_the_readiness_page_lists_counts_and_links_to_the_patient(staff, cohort):
    client = browser_for(staff)
    body = client.get(READINESS, {"on": "2027-01-01"}).content.decode()
    alice = cohort["alice"].patient_profile
    assert f"/admin/patients/patientprofile/{alice.pk}/change/" in body
    assert alice.legal_last_name in body
    assert 'id="readiness-by-physician"' in body and "On treatment" in body


def test_the_readiness_csv_matches_the_api_columns(staff, cohort):
    from careteam.apis import CSV_COLUMNS

    response = browser_for(staff).get(READINESS, {"on": "2027-01-01", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0]) == CSV_COLUMNS and len(rows) == 2
    assert AuditEvent.objects.filter(detail="console readiness csv").count() == 2


def test_a_bad_readiness_date_falls_back_to_today_with_a_message(staff, cohort):
    body = browser_for(staff).get(READINESS, {"on": "2027-13-01"}).content.decode()
    assert "The date must be YYYY-MM-DD" in body and "2026-11-30" in body


def test_the_review_queue_counts_and_exports_each_list(staff, physician):
    waiting = PatientProfileFactory(legal_first_name="Wanda", legal_last_name="Waiting", assigned_physician=None)
    flagged = PatientProfileFactory(legal_first_name="Fred", assigned_physician=physician)
    SafetyFlagFactory(patient=flagged.user)
    client = browser_for(staff)
    body = client.get(QUEUE).content.decode()
    assert "Wanda Waiting" in body and f"/admin/patients/patientprofile/{waiting.pk}/change/" in body
    assert f"/admin/patients/patientprofile/{flagged.pk}/change/" in body
    assert '<a href="#flags">Open safety flags</a><span class="n">1</span>' in body
    for export, key in [("flags", "flag_id"), ("registrations", "patient_id"), ("assessments", "assessment_id")]:
        response = client.get(QUEUE, {"export": export})
        assert response["Content-Type"].startswith("text/csv")
        assert response.content.decode().splitlines()[0].startswith(key)
    flags = list(csv.DictReader(io.StringIO(client.get(QUEUE, {"export": "flags"}).content.decode())))
    assert flags[0]["patient_id"] == str(flagged.user.public_id)


def test_nobody_without_the_capability_reaches_the_csv_exports(pharmacy_liaison):
    client = browser_for(pharmacy_liaison)
    assert client.get(QUEUE, {"export": "flags"}).status_code == 404
    assert client.get(READINESS, {"format": "csv"}).status_code == 404


def test_a_patient_outside_the_worklist_is_not_listed(staff, cohort):
    PatientProfileFactory(user=PatientUserFactory(last_name="Nobodytreated"))
    assert "Nobodytreated" not in browser_for(staff).get(READINESS).content.decode()
