from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    """Physician availability, appointments (free consultations, follow-ups), video visits,
    reminders, caseloads. Sits above `patients` because slots are shown in the patient's time
    zone and offered only in the patient's state."""

    name = "scheduling"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_migrate, post_save

        from accounts.onboarding import register_onboarding_provider
        from scheduling.onboarding import onboarding_for_patient

        register_onboarding_provider(onboarding_for_patient)  # /auth/me/ (accounts/onboarding.py)

        from scheduling import appointment_types, availability_cache, caseload
        from scheduling.models import Appointment, AppointmentType, AvailabilityException, WeeklyAvailability

        def changed(sender, instance, **kwargs) -> None:
            availability_cache.physician_changed(instance.physician_id)

        # The appointment types' cache (scheduling/appointment_types.py): every save or delete,
        # and every migrate (data migrations send no signals to these receivers).
        def types_changed(sender, **kwargs) -> None:
            appointment_types.types_changed()

        post_save.connect(types_changed, sender=AppointmentType, dispatch_uid="appointment-types-saved", weak=False)
        post_delete.connect(types_changed, sender=AppointmentType, dispatch_uid="appointment-types-deleted", weak=False)
        post_migrate.connect(types_changed, dispatch_uid="appointment-types-migrated", weak=False)

        # What a physician's slots are computed from; licences are read on every search instead.
        for model in (Appointment, WeeklyAvailability, AvailabilityException):
            post_save.connect(changed, sender=model, dispatch_uid=f"availability-{model.__name__}-saved", weak=False)
            post_delete.connect(
                changed, sender=model, dispatch_uid=f"availability-{model.__name__}-deleted", weak=False
            )
        caseload.connect_inputs()  # the caseload's read model (docs/caseload.md#invalidation)
