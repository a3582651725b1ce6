"""The caseload's order kept on the patient profile (docs/caseload.md#order).

`PatientProfile.user_last_name` / `user_first_name` copy the patient's `accounts.User` name so that
the index `profile_caseload_order` (assigned physician, last name, first name, user) reads a page
of a physician's patients in name order without visiting every patient's user. The copies are
written:

- when a profile is created (from its user, which the creating code holds);
- when a user's name is saved (`post_save` on the user, wired in PatientsConfig.ready()): one
  UPDATE that touches the profile only if a copy differs;
- by `resync_names`, which the caseload page calls when a row it read shows a copy that differs
  from the user's name (a write that bypassed save(): QuerySet.update, raw SQL), and which
  `manage.py caseload_rebuild` runs for every profile.
"""

from __future__ import annotations

from django.db.models import OuterRef, Q, Subquery

from accounts.models import User
from patients.models import PatientProfile

NAME_FIELDS = frozenset({"first_name", "last_name"})


def copy_names_on_create(sender, instance: PatientProfile, raw: bool = False, **kwargs) -> None:
    """pre_save of a profile: a new profile takes its user's name (fixtures load as they are)."""
    if raw or not instance._state.adding or instance.user_id is None:
        return
    user = instance.user  # the creating code passes the user: no query
    instance.user_last_name, instance.user_first_name = user.last_name, user.first_name


def copy_names_on_user_save(sender, instance: User, created: bool = False, raw: bool = False, **kwargs) -> None:
    """post_save of a user: a changed name reaches the user's profile (none for a new user)."""
    update_fields = kwargs.get("update_fields")
    if raw or created or (update_fields is not None and NAME_FIELDS.isdisjoint(update_fields)):
        return
    PatientProfile.objects.filter(user_id=instance.pk).exclude(
        user_last_name=instance.last_name, user_first_name=instance.first_name
    ).update(user_last_name=instance.last_name, user_first_name=instance.first_name)


def resync_names(**filters) -> int:
    """Copy the user's name onto the profiles (of `filters`: assigned_physician=...) whose copy
    differs; returns how many were wrong."""
    user = User.objects.filter(pk=OuterRef("user_id"))
    last, first = Subquery(user.values("last_name")[:1]), Subquery(user.values("first_name")[:1])
    return (
        PatientProfile.objects.filter(**filters)
        .exclude(Q(user_last_name=last) & Q(user_first_name=first))
        .update(user_last_name=last, user_first_name=first)
    )
