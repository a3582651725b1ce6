"""A signed-in patient's onboarding state, shown on /api/v1/auth/me/ (docs/api-conventions.md#onboarding).

What it is made of (profile, consents, membership, visits) lives in apps above this one, so the
computation is registered by the app that can see them all (scheduling, in its AppConfig.ready)
and looked up here; accounts imports nothing from above.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models

from accounts.models import User


class NextStep(models.TextChoices):
    """What the app should ask the patient to do next, in this order."""

    COMPLETE_PROFILE = "complete_profile", "Complete your profile"
    SIGN_CONSENTS = "sign_consents", "Sign the consent documents"
    START_MEMBERSHIP = "start_membership", "Start your membership"
    BOOK_VISIT = "book_visit", "Book your first visit"
    DONE = "done", "Nothing left to set up"


_provider: Callable[[User], dict[str, Any]] | None = None


def register_onboarding_provider(provider: Callable[[User], dict[str, Any]]) -> None:
    global _provider
    _provider = provider


def onboarding_state(user: User) -> dict[str, Any] | None:
    """The patient's onboarding state; None for physicians, staff and admins."""
    if not user.is_patient or _provider is None:
        return None
    return _provider(user)
