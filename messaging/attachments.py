"""Attachment checks: the type from the file's content, never its name (docs/messaging.md#attachments).

Accepted: PDF, JPEG, PNG, WebP, each recognised by its signature ("magic bytes") and, for
images, opened and verified by Pillow (a file that only starts like a PNG is refused). The size
limit is MESSAGING_ATTACHMENT_MAX_BYTES. The stored name is opaque; the patient's own file name
is kept encrypted, since it may itself say something about them.

A file is written to storage before its message row commits; a send that then fails removes it
(`removes_stored_files_on_failure`), and a sweep removes any other file no row names
(docs/messaging.md#orphaned-files).
"""

from __future__ import annotations

import functools
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from messaging.errors import FieldInvalid
from messaging.models import Message

logger = logging.getLogger(__name__)

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


# --- files written by a send that did not commit (docs/messaging.md#orphaned-files) ---------------

_stored: ContextVar[list | None] = ContextVar("messaging_stored_attachments", default=None)
# A file older than this that no message names is an orphan: no send holds its transaction open
# for hours, so the sweep never races a send still in flight.
ORPHAN_GRACE = timedelta(hours=6)
ROOT = "messages"


def attachment_store(message: Message, upload) -> None:
    """Write the upload to storage for `message` (not saved yet), remembered for the cleanup."""
    message.attachment.save("upload", upload, save=False)  # upload_to gives it an opaque name
    stored = _stored.get()
    if stored is not None:
        stored.append((message.attachment.storage, message.attachment.name))


def removes_stored_files_on_failure(func):
    """Around a write's transaction (outside its `transaction.atomic`): if it raises, the message
    rows rolled back, so the files it stored are deleted too. Django has no rollback hook; a
    rollback this cannot see (an outer transaction, a crash) is the sweep's."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        stored: list = []
        token = _stored.set(stored)
        try:
            return func(*args, **kwargs)
        except BaseException:
            for storage, name in stored:
                try:
                    storage.delete(name)
                except Exception:  # the sweep will find it
                    logger.warning("could not delete an unsent attachment; the sweep will", exc_info=True)
            raise
        finally:
            _stored.reset(token)

    return wrapper


def _stored_names(storage) -> list[str]:
    try:
        folders, files = storage.listdir(ROOT)
    except FileNotFoundError:
        return []
    names = [f"{ROOT}/{name}" for name in files]
    for folder in folders:
        names.extend(f"{ROOT}/{folder}/{name}" for name in storage.listdir(f"{ROOT}/{folder}")[1])
    return names


def attachment_orphans_sweep(*, now: datetime | None = None, storage=None, batch_size: int = 500) -> int:
    """Delete stored attachment files that no message names and that are older than ORPHAN_GRACE.
    Safe to run twice; returns how many were deleted."""
    storage = storage or default_storage
    cutoff = (now or timezone.now()) - ORPHAN_GRACE
    names = _stored_names(storage)
    deleted = 0
    for start in range(0, len(names), batch_size):
        batch = names[start : start + batch_size]
        known = set(Message.objects.filter(attachment__in=batch).values_list("attachment", flat=True))
        for name in batch:
            if name not in known and storage.get_modified_time(name) < cutoff:
                storage.delete(name)
                deleted += 1
    if deleted:
        logger.info("orphaned message attachments deleted count=%s", deleted)
    return deleted
