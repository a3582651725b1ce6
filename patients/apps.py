from django.apps import AppConfig


class PatientsConfig(AppConfig):
    """Intake, profile, consents, questionnaires, safety flags, vitals."""

    name = "patients"

    def ready(self):
        from django.conf import settings
        from django.db.models.signals import post_delete, post_save, pre_save

        from patients import ordering, policy
        from patients.models import ClinicalPolicy, PatientProfile

        # The caseload's order: the user's name copied onto the profile (docs/caseload.md#order).
        pre_save.connect(ordering.copy_names_on_create, sender=PatientProfile, weak=False)
        post_save.connect(ordering.copy_names_on_user_save, sender=settings.AUTH_USER_MODEL, weak=False)

        # A policy row saved or deleted in this process is seen at once (docs/policy.md).
        for signal in (post_save, post_delete):
            signal.connect(lambda **kwargs: policy.forget(), sender=ClinicalPolicy, weak=False)
