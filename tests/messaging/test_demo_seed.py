import pytest
from django.core.management import call_command
from django.utils import timezone

from messaging.models import Thread
from notifications.models import Delivery, Device, NotificationPreference

pytestmark = pytest.mark.django_db


def test_demo_has_an_unanswered_and_an_overdue_thread_a_device_and_preferences(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed", stdout=open("/dev/null", "w"))  # noqa: SIM115
    now = timezone.now()
    waiting = Thread.objects.filter(waiting_since__isnull=False)
    assert waiting.filter(due_at__gt=now).count() == 1
    assert waiting.filter(due_at__lte=now).count() == 1
    assert Thread.objects.filter(waiting_since__isnull=True, last_answered_by__isnull=False).count() == 1
    assert Device.objects.count() == 1 and NotificationPreference.objects.count() == 1
    assert Delivery.objects.filter(kind="care_team_message").exists()
    count = Thread.objects.count()
    call_command("seed", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Thread.objects.count() == count
