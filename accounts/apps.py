from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users and roles, authentication, the audit trail, notification backends."""

    name = "accounts"
