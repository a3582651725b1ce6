"""Request and response shapes of the messaging app. Bodies are returned only to the patient and
their care team (the caller found the thread through their scope)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from messaging.models import Message, SenderRole


class MessageInput(serializers.Serializer):
    body = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=True)
    attachment = serializers.FileField(
        required=False, allow_null=True, help_text="Optional: PDF, JPEG, PNG or WebP (multipart/form-data)."
    )


class AttachmentOutput(serializers.Serializer):
    name = serializers.CharField(source="attachment_name")
    content_type = serializers.CharField(source="attachment_content_type")
    size = serializers.IntegerField(source="attachment_size")


class ThreadMessageOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    sender_role = serializers.ChoiceField(choices=SenderRole.choices)
    sender_name = serializers.SerializerMethodField()
    body = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True, help_text="A patient message: the care team's reply time.")
    answered_at = serializers.DateTimeField(allow_null=True)
    attachment = serializers.SerializerMethodField()

    def get_body(self, obj: Message) -> str:
        return obj.body or ""

    def get_sender_name(self, obj: Message) -> str:
        if obj.sender_role == SenderRole.AUTOMATIC or obj.sender is None:
            return "Automatic reply"
        if obj.sender_role == SenderRole.PATIENT:
            return obj.sender.full_name or "Patient"
        return obj.sender.full_name or "Care team"

    @extend_schema_field(AttachmentOutput(allow_null=True))
    def get_attachment(self, obj: Message) -> dict | None:
        return AttachmentOutput(obj).data if obj.attachment else None


class SentOutput(serializers.Serializer):
    message = ThreadMessageOutput()
    automatic_reply = ThreadMessageOutput(allow_null=True, help_text="Crisis words: where to get help now (988, 911).")


class InboxPatientOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.SerializerMethodField()

    def get_name(self, obj) -> str:
        return obj.full_name


class InboxThreadOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    patient = InboxPatientOutput()
    waiting_since = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.SerializerMethodField()
    last_message_at = serializers.DateTimeField(allow_null=True)
    unread_count = serializers.IntegerField()
    messages_url = serializers.SerializerMethodField()

    def get_overdue(self, obj) -> bool:
        now = self.context["now"]
        return obj.due_at is not None and obj.due_at <= now

    def get_messages_url(self, obj) -> str:
        return f"/api/v1/care-team/patients/{obj.patient.public_id}/messages/"
