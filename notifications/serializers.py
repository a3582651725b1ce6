"""Request and response shapes of devices and notification preferences."""

from __future__ import annotations

from rest_framework import serializers

from notifications.kinds import GROUPS
from notifications.models import Channel, Platform

CHANNELS = (Channel.PUSH.value, Channel.SMS.value, Channel.EMAIL.value)


class DeviceInput(serializers.Serializer):
    platform = serializers.ChoiceField(choices=Platform.choices)
    token = serializers.CharField(max_length=512, trim_whitespace=True)
    app_version = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class DeviceDeleteInput(serializers.Serializer):
    token = serializers.CharField(max_length=512, trim_whitespace=True)


class DeviceOutput(serializers.Serializer):
    platform = serializers.CharField()
    app_version = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()


class GroupChannels(serializers.Serializer):
    push = serializers.BooleanField(required=False)
    sms = serializers.BooleanField(required=False)
    email = serializers.BooleanField(required=False)


class ChannelsField(serializers.Serializer):
    reminders = GroupChannels(required=False)
    shipping = GroupChannels(required=False)
    messages = GroupChannels(required=False)
    diary = GroupChannels(required=False)
    billing = GroupChannels(required=False)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(GROUPS))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown group."] for name in unknown}, code="invalid_choice")
            for group, choices in data.items():
                if isinstance(choices, dict) and set(choices) - set(CHANNELS):
                    raise serializers.ValidationError({group: ["Unknown channel."]}, code="invalid_choice")
        return super().to_internal_value(data)


class NotificationPreferencesInput(serializers.Serializer):
    channels = ChannelsField(required=False)
    quiet_hours_start = serializers.TimeField(required=False, allow_null=True, format="%H:%M")
    quiet_hours_end = serializers.TimeField(required=False, allow_null=True, format="%H:%M")
    sms_consent = serializers.BooleanField(required=False)

    def validate(self, attrs):
        if ("quiet_hours_start" in attrs) != ("quiet_hours_end" in attrs):
            raise serializers.ValidationError(
                {"quiet_hours_end": ["Send quiet_hours_start and quiet_hours_end together."]}, code="required"
            )
        start, end = attrs.get("quiet_hours_start"), attrs.get("quiet_hours_end")
        if (start is None) != (end is None):
            raise serializers.ValidationError(
                {"quiet_hours_end": ["Both times, or both null to switch quiet hours off."]}, code="invalid"
            )
        if start is not None and start == end:
            raise serializers.ValidationError({"quiet_hours_end": ["Must differ from the start."]}, code="invalid")
        return attrs


class NotificationPreferencesOutput(serializers.Serializer):
    channels = serializers.DictField(
        child=serializers.DictField(child=serializers.BooleanField()),
        help_text="Every group (reminders, shipping, messages, diary, billing) x channel (push, sms, email).",
    )
    quiet_hours_start = serializers.CharField(allow_null=True, help_text="HH:MM in time_zone, or null.")
    quiet_hours_end = serializers.CharField(allow_null=True)
    time_zone = serializers.CharField(help_text="Your own zone, from your address (read-only).")
    sms_consent = serializers.BooleanField()
    always_sent = serializers.ListField(
        child=serializers.CharField(),
        help_text="Notices sent whatever the choices and the hour (safety; payments that need you).",
    )
