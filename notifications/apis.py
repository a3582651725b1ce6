"""Devices and notification preferences: every signed-in person's own (docs/notifications.md)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.schema import errors
from notifications import serializers as s
from notifications.devices import device_register, device_unregister
from notifications.kinds import GROUPS, KINDS
from notifications.preferences import contact_of, preference_for, preferences_update

TAGS = ["notifications"]


class DeviceApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=s.DeviceInput,
        responses={201: s.DeviceOutput, 200: s.DeviceOutput, **errors(400)},
        tags=TAGS,
        description=(
            "Register this app install's push token (201), or refresh it (200; a token registered by "
            "someone else before moves to you). The token is never returned."
        ),
    )
    def post(self, request):
        data = s.DeviceInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = device_register(user=request.user, **data.validated_data)
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(s.DeviceOutput(result.device).data, status=code)

    @extend_schema(
        request=s.DeviceDeleteInput,
        responses={204: None, **errors(400)},
        tags=TAGS,
        description="Stop pushes to this token (sign-out). Always 204: an unknown token is already gone.",
    )
    def delete(self, request):
        data = s.DeviceDeleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        device_unregister(user=request.user, token=data.validated_data["token"])
        return Response(status=status.HTTP_204_NO_CONTENT)


def _always_sent() -> list[str]:
    return sorted({spec.group or "safety" for spec in KINDS.values() if spec.required})


def _body(user) -> dict:
    pref = preference_for(user)
    _, zone = contact_of(user)
    channels = {g: {c: (pref.allows(g, c) if pref else True) for c in s.CHANNELS} for g in GROUPS}
    fmt = lambda t: t.strftime("%H:%M") if t is not None else None  # noqa: E731
    return {
        "channels": channels,
        "quiet_hours_start": fmt(pref.quiet_start) if pref else None,
        "quiet_hours_end": fmt(pref.quiet_end) if pref else None,
        "time_zone": zone.key,
        "sms_consent": pref.sms_consent if pref else True,
        "always_sent": _always_sent(),
    }


class NotificationPreferencesApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: s.NotificationPreferencesOutput}, tags=TAGS)
    def get(self, request):
        return Response(s.NotificationPreferencesOutput(_body(request.user)).data)

    @extend_schema(
        request=s.NotificationPreferencesInput,
        responses={200: s.NotificationPreferencesOutput, **errors(400, 409)},
        tags=TAGS,
        description=(
            'Partial update. `channels` merges ({"reminders": {"sms": false}} leaves the rest); quiet '
            "hours are wall-clock times in your own zone (both, or both null); reminders inside them wait "
            "until they end unless the visit starts sooner. `sms_consent: true` after you texted STOP is "
            "refused with `sms_stopped` (text START instead). Safety notices and payments that need you "
            "are sent whatever you choose (never with health details)."
        ),
    )
    def patch(self, request):
        data = s.NotificationPreferencesInput(data=request.data)
        data.is_valid(raise_exception=True)
        preferences_update(user=request.user, data=data.validated_data)
        return Response(s.NotificationPreferencesOutput(_body(request.user)).data)
