"""Every limit at its boundary, on each side, at drafting, at signing and at a later fill: a
changed comparison (`>` for `>=`) must fail here. Defaults: 30 days' supply, 5 refills
(21 CFR 1306.22), first fill between 1 and the quantity, a fill between 1 and the quantity."""

from datetime import date

import pytest

from prescriptions.errors import FillRefused, InvalidPrescription, SigningRefused
from prescriptions.models import PrescribingPolicy, Prescription
from prescriptions.services.orders import delivery_order_create
from prescriptions.services.prescribing import limit_failures
from tests.prescriptions.factories import PrescriptionFactory
from tests.prescriptions.test_signing import sign

pytestmark = pytest.mark.django_db

URL = "/api/v1/physician/prescriptions/"


def codes(**values):
    base = {"quantity": 8, "days_supply": 30, "refills": 5, "first_fill_quantity": None}
    base.update(values)
    return [code for _, code, _ in limit_failures(policy=PrescribingPolicy(effective_from=date(2000, 1, 1)), **base)]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"days_supply": 30}, []),
        ({"days_supply": 31}, ["days_supply_exceeds_limit"]),
        ({"days_supply": 1}, []),
        ({"days_supply": 0}, ["invalid_days_supply"]),
        ({"refills": 5}, []),
        ({"refills": 6}, ["too_many_refills"]),
        ({"refills": 0}, []),
        ({"refills": -1}, ["invalid_refills"]),
        ({"quantity": 1}, []),
        ({"quantity": 0}, ["invalid_quantity"]),
        ({"first_fill_quantity": 8}, []),
        ({"first_fill_quantity": 9}, ["invalid_first_fill_quantity"]),
        ({"first_fill_quantity": 1}, []),
        ({"first_fill_quantity": 0}, ["invalid_first_fill_quantity"]),
    ],
    ids=lambda v: str(v),
)
def test_each_limit_on_each_side_of_its_boundary(values, expected):
    assert codes(**values) == expected


def test_the_limits_follow_the_policy_in_force():
    policy = PrescribingPolicy(effective_from=date(2000, 1, 1), max_days_supply=28, max_refills=3)
    ok = limit_failures(policy=policy, quantity=8, days_supply=28, refills=3)
    over = limit_failures(policy=policy, quantity=8, days_supply=29, refills=4)
    assert ok == [] and [c for _, c, _ in over] == ["days_supply_exceeds_limit", "too_many_refills"]


@pytest.fixture
def payload(ready, product, pharmacy):
    return {
        "patient": str(ready.public_id),
        "product": str(product.public_id),
        "pharmacy": str(pharmacy.public_id),
        "dose": "100 mg",
        "directions": "One troche during a monitored session.",
        "quantity": 8,
        "days_supply": 30,
        "refills": 5,
    }


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"days_supply": 30}, 201, None),
        ({"days_supply": 31}, 400, "days_supply_exceeds_limit"),
        ({"refills": 5}, 201, None),
        ({"refills": 6}, 400, "too_many_refills"),
    ],
)
def test_drafting_at_the_boundaries(api, physician, payload, change, status, code):
    response = api(physician).post(URL, {**payload, **change}, format="json")
    assert response.status_code == status, response.json()
    if code:
        assert response.json()["code"] == code and not Prescription.objects.exists()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"days_supply": 30}, None),
        ({"days_supply": 31}, "days_supply_exceeds_limit"),
        ({"refills": 5}, None),
    ],
)
def test_signing_at_the_boundaries(physician, draft, change, expected):
    Prescription.objects.filter(pk=draft.pk).update(**change)
    draft.refresh_from_db()
    if expected is None:
        assert sign(draft, physician).status == "signed"
    else:
        with pytest.raises(SigningRefused) as exc:
            sign(draft, physician)
        assert [r["code"] for r in exc.value.reasons] == [expected]


def test_signing_at_the_refill_boundary_of_a_lowered_policy(physician, draft):
    # The database refuses 6 refills outright (Schedule III); a lowered policy: 4 passes, 5 fails.
    PrescribingPolicy.objects.create(effective_from=date(2026, 11, 1), max_refills=4)
    Prescription.objects.filter(pk=draft.pk).update(refills=4)
    draft.refresh_from_db()
    assert sign(draft, physician).status == "signed"
    second = PrescriptionFactory(
        patient=draft.patient, physician=physician, product=draft.product, pharmacy=draft.pharmacy, refills=5
    )
    Prescription.objects.filter(pk=draft.pk).update(status="superseded")
    with pytest.raises(SigningRefused) as exc:
        sign(second, physician)
    assert [r["code"] for r in exc.value.reasons] == ["too_many_refills"]


def test_the_database_refuses_six_refills():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        PrescriptionFactory(refills=6)


@pytest.mark.parametrize(("quantity", "ok"), [(8, True), (9, False), (1, True), (0, False)])
def test_a_fill_quantity_at_the_boundaries(physician, signed, quantity, ok):
    if ok:
        assert delivery_order_create(actor=physician, prescription=signed, quantity=quantity).quantity == quantity
    else:
        with pytest.raises(FillRefused) as exc:
            delivery_order_create(actor=physician, prescription=signed, quantity=quantity)
        assert [r["code"] for r in exc.value.reasons] == ["invalid_quantity"]


def test_draft_edit_at_the_boundary(api, physician, draft):
    url = f"{URL}{draft.public_id}/"
    assert api(physician).patch(url, {"days_supply": 30}, format="json").status_code == 200
    response = api(physician).patch(url, {"days_supply": 31}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "days_supply_exceeds_limit"
    with pytest.raises(InvalidPrescription):
        from prescriptions.services.prescribing import prescription_draft_update

        prescription_draft_update(actor=physician, prescription_id=draft.public_id, refills=6)
