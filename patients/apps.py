from django.apps import AppConfig


class PatientsConfig(AppConfig):
    """Intake, profile, consents, questionnaires, safety flags, vitals."""

    name = "patients"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from patients import policy
        from patients.models import ClinicalPolicy

        # A policy row saved or deleted in this process is seen at once (docs/policy.md).
        for signal in (post_save, post_delete):
            signal.connect(lambda **kwargs: policy.forget(), sender=ClinicalPolicy, weak=False)
