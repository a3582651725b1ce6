"""Attachment checks: the type from the file's content, never its name (docs/messaging.md#attachments).

Accepted: PDF, JPEG, PNG, WebP, each recognised by its signature ("magic bytes") and, for
images, opened and verified by Pillow (a file that only starts like a PNG is refused). The size
limit is MESSAGING_ATTACHMENT_MAX_BYTES. The stored name is opaque; the patient's own file name
is kept encrypted, since it may itself say something about them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from messaging.errors import FieldInvalid

PDF, JPEG, PNG, WEBP = "application/pdf", "image/jpeg", "image/png", "image/webp"
_PILLOW_FORMATS = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP"}


@dataclass(frozen=True)
class CheckedFile:
    content_type: str
    size: int
    name: str


def sniff(head: bytes) -> str | None:
    """The content type of a file from its first bytes, among those accepted; None otherwise."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return None


def _image_ok(upload, content_type: str) -> bool:
    from PIL import Image, UnidentifiedImageError

    upload.seek(0)
    try:
        with Image.open(upload) as image:
            if image.format != _PILLOW_FORMATS[content_type]:
                return False
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return False
    finally:
        upload.seek(0)
    return True


def attachment_check(upload) -> CheckedFile:
    """Refuse (400, `fields.attachment`) a file too large, of another type, or not what it claims."""
    limit = settings.MESSAGING_ATTACHMENT_MAX_BYTES
    size = upload.size or 0
    if size > limit:
        raise FieldInvalid("attachment", "file_too_large", f"At most {limit // (1024 * 1024)} MB.")
    if size == 0:
        raise FieldInvalid("attachment", "empty_file", "The file is empty.")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    content_type = sniff(head)
    if content_type is None:
        raise FieldInvalid("attachment", "unsupported_file_type", "Send a PDF, JPEG, PNG or WebP file.")
    if content_type != PDF and not _image_ok(upload, content_type):
        raise FieldInvalid("attachment", "unsupported_file_type", "The image could not be read.")
    if content_type == PDF:
        upload.seek(max(size - 1024, 0))
        tail = upload.read()
        upload.seek(0)
        if b"%%EOF" not in tail:
            raise FieldInvalid("attachment", "unsupported_file_type", "The PDF is incomplete.")
    name = (getattr(upload, "name", "") or "attachment")[-200:]
    return CheckedFile(content_type=content_type, size=size, name=name)
