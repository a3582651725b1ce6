from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    """Physician availability, appointments (free consultations, follow-ups), video visits,
    reminders, caseloads. Sits above `patients` because slots are shown in the patient's time
    zone and offered only in the patient's state."""

    name = "scheduling"
