from django.apps import AppConfig


class SeedsConfig(AppConfig):
    """Reference data (counties) and demo data, loaded by `manage.py seed`."""

    name = "seeds"
