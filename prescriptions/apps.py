from django.apps import AppConfig


class PrescriptionsConfig(AppConfig):
    """Prescriptions, pharmacies, delivery orders, shipment tracking, refills."""

    name = "prescriptions"
