from django.apps import AppConfig


class ApiConfig(AppConfig):
    """Cross-cutting API pieces: error type and envelope, pagination, schema hooks, health."""

    name = "api"

    def ready(self) -> None:
        from api.fields import install

        install()  # every DateTimeField input needs its UTC offset (api/fields.py)
