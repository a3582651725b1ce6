from django.apps import AppConfig


class MessagingConfig(AppConfig):
    """Secure messages between a patient and their care team (docs/messaging.md).

    Sits above scheduling and prescriptions, beside treatment and outcomes: it reads the care
    team from `patients` (the assigned physician) and opens safety flags there; nothing below
    imports it.
    """

    name = "messaging"
    default_auto_field = "django.db.models.BigAutoField"
