from django.apps import AppConfig


class TreatmentConfig(AppConfig):
    """Between deliveries: dosing sessions, post-session check-ins, supply reconciliation."""

    name = "treatment"
