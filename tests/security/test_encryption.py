"""The most sensitive free text (visit notes, safety-flag resolution notes) is encrypted at rest,
and the key can be rotated without losing a row."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from tests.patients.factories import SafetyFlagFactory
from tests.scheduling.factories import AppointmentFactory

pytestmark = pytest.mark.django_db
NOTE = "Canary7f3k: patient reports passive ideation, no plan."


def _encrypted_fields():
    from patients.models import SafetyFlag
    from scheduling.models import Appointment

    return [SafetyFlag._meta.get_field("resolution_note"), Appointment._meta.get_field("visit_note")]


@pytest.fixture(autouse=True)
def _fresh_keys():
    """The library caches derived keys on each field; forget them around key changes."""

    def clear():
        for field in _encrypted_fields():
            field.__dict__.pop("keys", None)
            field.__dict__.pop("f", None)

    clear()
    yield clear
    clear()


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 - names are literals
        return str(cursor.fetchone()[0])


def test_safety_flag_resolution_note_is_ciphertext_in_the_database(patient):
    from patients.models import SafetyFlag

    flag = SafetyFlagFactory(patient=patient, resolution_note=NOTE)
    stored = raw("patients_safetyflag", "resolution_note", flag.pk)
    assert "Canary7f3k" not in stored and "ideation" not in stored
    assert stored.startswith("gAAAA")  # a Fernet token
    assert SafetyFlag.objects.get(pk=flag.pk).resolution_note == NOTE


def test_visit_note_is_ciphertext_in_the_database():
    from scheduling.models import Appointment

    appointment = AppointmentFactory(starts_at=timezone.now().replace(microsecond=0), visit_note=NOTE)
    stored = raw("scheduling_appointment", "visit_note", appointment.pk)
    assert "Canary7f3k" not in stored and stored.startswith("gAAAA")
    assert Appointment.objects.get(pk=appointment.pk).visit_note == NOTE


def test_key_rotation_keeps_old_rows_readable_and_reencrypts(settings, patient, _fresh_keys):
    from patients.models import SafetyFlag

    old_key = settings.SECRET_KEY
    flag = SafetyFlagFactory(patient=patient, resolution_note=NOTE)
    before = raw("patients_safetyflag", "resolution_note", flag.pk)

    settings.SECRET_KEY = "rotated-" + "k" * 60
    settings.SECRET_KEY_FALLBACKS = [old_key]
    _fresh_keys()
    assert SafetyFlag.objects.get(pk=flag.pk).resolution_note == NOTE  # old row, new key + fallback

    call_command("reencrypt_fields", stdout=open("/dev/null", "w"))
    after = raw("patients_safetyflag", "resolution_note", flag.pk)
    assert after != before

    settings.SECRET_KEY_FALLBACKS = []  # the old key is gone for good
    _fresh_keys()
    assert SafetyFlag.objects.get(pk=flag.pk).resolution_note == NOTE


def test_a_wrong_key_raises_instead_of_returning_ciphertext(settings, patient, _fresh_keys):
    """The library returned the ciphertext as the note; the project's field raises."""
    from accounts.encryption import EncryptionKeyError
    from patients.models import SafetyFlag

    flag = SafetyFlagFactory(patient=patient, resolution_note=NOTE)
    settings.SECRET_KEY = "a-wrong-key-" + "w" * 60
    settings.SECRET_KEY_FALLBACKS = []
    _fresh_keys()
    with pytest.raises(EncryptionKeyError):
        SafetyFlag.objects.get(pk=flag.pk)


def test_encrypted_fields_need_no_migration_for_the_strict_class():
    from accounts.encryption import EncryptedTextField

    for field in _encrypted_fields():
        assert isinstance(field, EncryptedTextField)
        assert field.deconstruct()[1] == "encrypted_fields.fields.EncryptedTextField"
