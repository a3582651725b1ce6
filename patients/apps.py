from django.apps import AppConfig


class PatientsConfig(AppConfig):
    """Intake, profile, consents, questionnaires, safety flags, vitals."""

    name = "patients"
