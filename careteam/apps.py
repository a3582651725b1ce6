from django.apps import AppConfig


class CareteamConfig(AppConfig):
    """Read models that gather from every app for the care team (the prescribing-readiness
    worklist), at the top of the app graph: nothing below imports it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "careteam"
    verbose_name = "Care team"
