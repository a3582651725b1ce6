from django.apps import AppConfig

# User fields a search reads (physicians_offering and the names an answer shows).
_SEARCHED_USER_FIELDS = frozenset({"role", "is_active", "first_name", "last_name", "public_id"})


class PracticeConfig(AppConfig):
    """Service area, physicians and credentials, availability, appointments, caseloads."""

    name = "practice"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from accounts.models import Role, User
        from practice import search_context
        from practice.models import PhysicianProfile, StateLicense

        def changed(sender, instance, **kwargs) -> None:
            search_context.changed()

        # What an availability search's context is read from (practice/search_context.py).
        for model in (PhysicianProfile, StateLicense):
            post_save.connect(changed, sender=model, dispatch_uid=f"search-context-{model.__name__}-saved", weak=False)
            post_delete.connect(
                changed, sender=model, dispatch_uid=f"search-context-{model.__name__}-deleted", weak=False
            )

        def user_saved(sender, instance, created, update_fields=None, **kwargs) -> None:
            # Any save that may touch what a search reads of a physician (a sign-in's last_login
            # alone does not): a physician made a patient is no longer one when this runs, so
            # every existing user's save counts; a new user only when a physician.
            if update_fields is not None and not (set(update_fields) & _SEARCHED_USER_FIELDS):
                return
            if created and instance.role != Role.PHYSICIAN:  # a new patient or staff member
                return
            search_context.changed()

        def user_deleted(sender, instance, **kwargs) -> None:
            if instance.role == Role.PHYSICIAN:
                search_context.changed()

        post_save.connect(user_saved, sender=User, dispatch_uid="search-context-user-saved", weak=False)
        post_delete.connect(user_deleted, sender=User, dispatch_uid="search-context-user-deleted", weak=False)
