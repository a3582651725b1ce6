from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from interop.models import RecordExport
from interop.services import PARTS, download_token


class DownloadLinkOutput(serializers.Serializer):
    part = serializers.ChoiceField(choices=PARTS, help_text="bundle: the FHIR Bundle (JSON); pdf: the summary.")
    url = serializers.URLField()
    expires_at = serializers.DateTimeField()


class RecordExportOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    patient_id = serializers.UUIDField(source="patient.public_id", read_only=True)
    downloads = serializers.SerializerMethodField()

    class Meta:
        model = RecordExport
        fields = [
            "id",
            "patient_id",
            "status",
            "progress",
            "created_at",
            "finished_at",
            "available_until",
            "resource_count",
            "error_code",
            "downloads",
        ]
        read_only_fields = fields

    @extend_schema_field(DownloadLinkOutput(many=True))
    def get_downloads(self, export) -> list[dict]:
        """Fresh signed links while the export is available; [] otherwise."""
        if not export.is_available():
            return []
        request = self.context["request"]
        links = []
        for part in PARTS:
            link = download_token(export, part)
            url = request.build_absolute_uri(f"/api/v1/record-export/download/{link.token}/")
            links.append({"part": part, "url": url, "expires_at": link.expires_at})
        return DownloadLinkOutput(links, many=True).data
