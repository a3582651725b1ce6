from django.apps import AppConfig


class PracticeConfig(AppConfig):
    """Service area, physicians and credentials, availability, appointments, caseloads."""

    name = "practice"
