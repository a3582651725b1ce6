"""Indexes behind the lists the benchmark found slow (docs/performance.md).

The staff delivery board orders every delivery order newest first: at 50,000 orders, without an
index on that order PostgreSQL sorted the whole table for each page (250 ms per request on the
benchmark machine, 3 ms with the index).
"""

from __future__ import annotations

import pytest
from django.db import connection


def test_the_delivery_board_order_has_an_index():
    from prescriptions.models import DeliveryOrder
    from prescriptions.selectors import delivery_order_list_for_staff

    board_order = list(delivery_order_list_for_staff().query.order_by)
    indexed = [list(index.fields) for index in DeliveryOrder._meta.indexes]
    assert board_order in indexed, (board_order, indexed)


@pytest.mark.django_db
def test_postgresql_pages_the_delivery_board_through_the_index(on_postgres):
    from prescriptions.selectors import delivery_order_list_for_staff

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # tiny test tables: judge the plan's shape, not its cost
        cursor.execute("SET LOCAL enable_sort = off")
        plan = delivery_order_list_for_staff()[:20].explain()
    assert "order_newest_first" in plan, plan
