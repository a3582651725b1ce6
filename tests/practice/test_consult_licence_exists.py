"""`consult_licence_exists` (the consult rule as an expression of a caller's query: a booking's
limits read) gives `physician_authorization`'s yes or no for every combination of state, kind,
status and dates around the day asked, for active and inactive physicians, with one licence or
several. A booking trusts its yes without reading the licences again."""

import datetime as dt
import itertools

import pytest
from django.db.models import OuterRef

from accounts.models import Role, User
from practice.models import CredentialStatus, LicenceKind
from practice.services.licensing import consult_licence_exists, physician_authorization
from tests.factories import PhysicianUserFactory
from tests.practice.factories import StateLicenseFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2027, 1, 1)  # the 2026/2027 boundary: the day before is the last of 2026
ONE = dt.timedelta(days=1)
ISSUED = (DAY - 400 * ONE, DAY - ONE, DAY, DAY + ONE)
EXPIRES = (DAY - ONE, DAY, DAY + ONE, DAY + 400 * ONE)


def physicians_with_one_licence() -> list[User]:
    made = []
    for kind, status, issued, expires, licence_state in itertools.product(
        LicenceKind.values, CredentialStatus.values, ISSUED, EXPIRES, ("FL", "NJ")
    ):
        if expires <= issued or (kind == LicenceKind.FL_TELEHEALTH_REGISTRATION and licence_state != "FL"):
            continue  # the table's constraints: expiry after issue; a telehealth registration is Florida's
        physician = PhysicianUserFactory()
        StateLicenseFactory(
            physician=physician, state=licence_state, kind=kind, status=status, issued_on=issued, expires_on=expires
        )
        made.append(physician)
    return made


def answers(physicians: list[User], state: str, on: dt.date) -> dict[int, bool]:
    """Each physician's yes or no from one query, the physician named by an OuterRef."""
    rows = User.objects.filter(pk__in=[p.pk for p in physicians]).annotate(
        licensed=consult_licence_exists(physician_id=OuterRef("pk"), state=state, on=on)
    )
    return dict(rows.values_list("pk", "licensed"))


@pytest.mark.parametrize("state", ["FL", "NJ", "NY"])
def test_the_expression_and_the_rule_agree_on_every_licence(state):
    physicians = physicians_with_one_licence()
    for on in (DAY - ONE, DAY, DAY + ONE):
        expression = answers(physicians, state, on)
        rule = {
            p.pk: physician_authorization(physician=p, state=state, on=on, action="consult").allowed for p in physicians
        }
        assert expression == rule, on
    if state != "NY":
        assert any(rule.values()) and not all(rule.values())  # both answers were exercised


def test_several_licences_one_of_them_valid_say_yes_and_an_inactive_physician_says_no():
    physician, inactive, patient_role = PhysicianUserFactory(), PhysicianUserFactory(), PhysicianUserFactory()
    StateLicenseFactory(physician=physician, state="FL", issued_on=DAY - 800 * ONE, expires_on=DAY - ONE)
    StateLicenseFactory(physician=physician, state="FL", status=CredentialStatus.SUSPENDED)
    StateLicenseFactory(physician=physician, state="FL", issued_on=DAY - ONE, expires_on=DAY + 30 * ONE)
    for other in (inactive, patient_role):
        StateLicenseFactory(physician=other, state="FL")
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    User.objects.filter(pk=patient_role.pk).update(role=Role.PATIENT)
    trio = [User.objects.get(pk=u.pk) for u in (physician, inactive, patient_role)]
    assert answers(trio, "FL", DAY) == {physician.pk: True, inactive.pk: False, patient_role.pk: False}
    assert [physician_authorization(physician=p, state="FL", on=DAY, action="consult").allowed for p in trio] == [
        True,
        False,
        False,
    ]


def test_a_value_for_the_physician_reads_the_same():
    physician = PhysicianUserFactory()
    StateLicenseFactory(physician=physician, state="NJ", expires_on=DAY)
    one = User.objects.filter(pk=physician.pk)
    for on, expected in ((DAY, True), (DAY + ONE, False)):
        row = one.annotate(licensed=consult_licence_exists(physician_id=physician.pk, state="NJ", on=on))
        assert row.values_list("licensed", flat=True).get() is expected
