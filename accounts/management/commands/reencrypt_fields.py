"""Re-encrypt every encrypted field with the current key: the middle step of a key rotation.

Rotation: (1) put the old SECRET_KEY into SECRET_KEY_FALLBACKS and deploy the new SECRET_KEY
(old rows still decrypt); (2) `manage.py reencrypt_fields`; (3) drop the old key from the
fallbacks. Fields of django-fernet-encrypted-fields derive their keys from SECRET_KEY (+ the
fallbacks) and SALT_KEY.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from encrypted_fields.fields import EncryptedFieldMixin

BATCH = 500


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field with the current SECRET_KEY (key rotation)."

    def handle(self, *args, **options):
        total = 0
        for model in apps.get_models():
            fields = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedFieldMixin)]
            if not fields:
                continue
            ids = list(model._base_manager.order_by("pk").values_list("pk", flat=True))
            for start in range(0, len(ids), BATCH):
                with transaction.atomic():
                    rows = list(model._base_manager.filter(pk__in=ids[start : start + BATCH]))
                    # Reading decrypts with any key; writing encrypts with the current one.
                    model._base_manager.bulk_update(rows, fields)
                total += len(rows)
                self.stdout.write(f"  {model._meta.label}: {min(start + BATCH, len(ids))}/{len(ids)}")
        self.stdout.write(self.style.SUCCESS(f"re-encrypted {total} rows"))
