"""Encrypted model fields that fail loudly on a wrong key.

django-fernet-encrypted-fields returns the stored ciphertext as if it were the value when no key
decrypts it (it swallows InvalidToken): with a wrong SECRET_KEY, or an old key dropped from
SECRET_KEY_FALLBACKS before `manage.py reencrypt_fields` ran, notes would silently read as
"gAAAAA..." and be saved back as such. These fields raise instead (docs/security.md#encryption).

A value that is not a Fernet token at all (a serialised fixture carries plaintext, which Django's
deserialiser passes through `to_python`) is returned as it is.
"""

from __future__ import annotations

import re

from cryptography.fernet import InvalidToken
from django.core.exceptions import ImproperlyConfigured
from encrypted_fields import fields as library

# A Fernet token: version byte 0x80 then a timestamp, base64url ("gAAAAA..."), at least 100 chars.
_FERNET_TOKEN = re.compile(r"^gA[A-Za-z0-9_-]{98,}={0,2}$")


class EncryptionKeyError(ImproperlyConfigured):
    """A stored value is ciphertext none of the configured keys can open."""


class EncryptedTextField(library.EncryptedTextField):
    def to_python(self, value):
        if value is None or not isinstance(value, str) or hasattr(self, "_already_decrypted"):
            return value
        if not _FERNET_TOKEN.match(value):
            return value
        try:
            return self.f.decrypt(value.encode("utf-8")).decode("utf-8")
        except InvalidToken as exc:
            raise EncryptionKeyError(
                f"{self.model._meta.label}.{self.name}: no key in SECRET_KEY / SECRET_KEY_FALLBACKS decrypts "
                "the stored value (a wrong key, or an old key dropped before reencrypt_fields ran)."
            ) from exc

    def deconstruct(self):
        # Same column and behaviour at the database level as the library's field: keep its path in
        # migrations, so swapping the class needs no migration in the apps that use it.
        name, _path, args, kwargs = super().deconstruct()
        return name, "encrypted_fields.fields.EncryptedTextField", args, kwargs
