from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """One service for every outbound message and external side effect: kinds, channels, the outbox.

    Sits just above `accounts` and imports no other project app, so every app may call it.
    docs/notifications.md describes the pattern and its guarantees.
    """

    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"
