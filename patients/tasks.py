"""Thin Celery tasks: ids in, the service does the work, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from patients.models import SafetyFlag
from patients.services.safety import safety_flag_alert


@shared_task
def send_safety_flag_alerts(flag_id: int) -> int:
    """Kept for messages queued before alerts moved to the outbox: (re)writes the flag's alert
    rows, which the dedupe key makes a no-op when they exist. New flags write them themselves."""
    flag = SafetyFlag.objects.select_related("patient__patient_profile__assigned_physician").filter(pk=flag_id).first()
    if flag is None or not flag.is_open:
        return 0
    return safety_flag_alert(flag=flag)
