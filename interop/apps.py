from django.apps import AppConfig


class InteropConfig(AppConfig):
    """FHIR R4 read API and the patient's record export (docs/fhir.md). At the top of the app
    direction: it reads from every app and nothing imports it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "interop"
    verbose_name = "Interoperability (FHIR)"
