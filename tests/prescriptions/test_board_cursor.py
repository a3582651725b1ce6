"""The staff delivery board pages by keyset cursor (api/pagination.py, docs/api-conventions.md#pagination)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from prescriptions.models import DeliveryOrder
from tests.prescriptions.factories import DeliveryOrderFactory

pytestmark = pytest.mark.django_db
BOARD = "/api/v1/staff/delivery-orders/"


@pytest.fixture
def orders():
    now = timezone.now()
    made = [DeliveryOrderFactory() for _ in range(7)]
    # Two share a created_at: the id breaks the tie, so neither is skipped nor repeated.
    for i, order in enumerate(made):
        DeliveryOrder.objects.filter(pk=order.pk).update(created_at=now - timedelta(minutes=i if i != 4 else 3))
    return list(DeliveryOrder.objects.order_by("-created_at", "-id").values_list("public_id", flat=True))


def _ids(body):
    return [row["id"] for row in body["results"]]


def test_following_next_walks_every_order_once_newest_first(api, staff, orders):
    client = api(staff)
    body = client.get(BOARD, {"page_size": 3}).json()
    assert body["count"] == 7 and body["previous"] is None
    seen = _ids(body)
    while body["next"]:
        assert "cursor=" in body["next"] and "page=" not in body["next"]
        body = client.get(body["next"]).json()
        seen += _ids(body)
    assert seen == [str(i) for i in orders]


def test_previous_walks_back(api, staff, orders):
    client = api(staff)
    first = client.get(BOARD, {"page_size": 3}).json()
    second = client.get(first["next"]).json()
    back = client.get(second["previous"]).json()
    assert _ids(back) == _ids(first) and back["previous"] is None


def test_an_order_placed_while_paging_neither_repeats_nor_hides_a_row(api, staff, orders):
    client = api(staff)
    first = client.get(BOARD, {"page_size": 3}).json()
    DeliveryOrderFactory()  # newest: it belongs before page one, not in page two
    second = client.get(first["next"]).json()
    assert _ids(second) == [str(i) for i in orders[3:6]]


@pytest.mark.parametrize("cursor", ["garbage", "eyJrIjpbXX0:forged:sig", ""])
def test_a_tampered_cursor_is_a_400_invalid_cursor(api, staff, orders, cursor):
    response = api(staff).get(BOARD, {"cursor": cursor or "x" * 40})
    assert response.status_code == 400
    assert response.json()["fields"]["cursor"][0]["code"] == "invalid_cursor"


def test_page_numbers_still_answer_for_older_clients(api, staff, orders):
    body = api(staff).get(BOARD, {"page": 2, "page_size": 3}).json()
    assert _ids(body) == [str(i) for i in orders[3:6]] and "page=3" in body["next"]


def test_a_cursor_page_costs_the_same_at_any_depth(api, staff, orders, django_assert_max_num_queries):
    client = api(staff)
    first_url = client.get(BOARD, {"page_size": 2}).json()["next"]
    deep_url = client.get(client.get(first_url).json()["next"]).json()["next"]
    with django_assert_max_num_queries(6):  # user, newest order (cached count), page, audit insert
        deep = client.get(deep_url).json()
    assert len(deep["results"]) == 1
