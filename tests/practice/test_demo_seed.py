import io

import pytest

from practice.identifiers import dea_checksum_ok, npi_is_valid
from practice.models import CredentialChange, DEARegistration, PhysicianProfile, StateLicense
from practice.services.expiry import practice_today
from practice.services.licensing import physician_authorization
from seeds.demo import practice as demo

pytestmark = pytest.mark.django_db


def test_demo_physicians_are_idempotent_and_checksum_valid():
    demo.run(io.StringIO())
    changes = CredentialChange.objects.count()
    demo.run(io.StringIO())
    assert CredentialChange.objects.count() == changes
    assert PhysicianProfile.objects.count() == 4
    assert all(npi_is_valid(p.npi) for p in PhysicianProfile.objects.all())
    assert all(dea_checksum_ok(d.number) and not d.needs_verification for d in DEARegistration.objects.all())


def test_demo_physicians_cover_the_cast():
    demo.run(io.StringIO())
    today = practice_today()

    def allowed(email, state):
        from accounts.models import User

        user = User.objects.get(email=email)
        return physician_authorization(physician=user, state=state, on=today, action="prescribe").allowed

    assert (allowed("dr.florida@demo.practice.example", "FL"), allowed("dr.florida@demo.practice.example", "NJ")) == (
        True,
        False,
    )
    assert (allowed("dr.jersey@demo.practice.example", "FL"), allowed("dr.jersey@demo.practice.example", "NJ")) == (
        False,
        True,
    )
    assert allowed("dr.both@demo.practice.example", "FL") and allowed("dr.both@demo.practice.example", "NJ")
    expiring = StateLicense.objects.get(physician__email="dr.expiring@demo.practice.example")
    assert 0 < (expiring.expires_on - today).days <= 30
    assert PhysicianProfile.objects.get(user__email="dr.florida@demo.practice.example").time_zone == "America/Chicago"
