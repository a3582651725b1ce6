from django.apps import AppConfig


class ApiConfig(AppConfig):
    """Cross-cutting API pieces: error type and envelope, pagination, schema hooks, health."""

    name = "api"
