from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    """Headache and pain outcomes: diary, 28-day summaries, cluster attacks, review flags, the outcome report."""

    name = "outcomes"
