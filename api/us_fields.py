"""US address fields for the API, checked by django-localflavor (the same rules as the models'
USStateField / USZipCodeField and the admin's forms), so a ZIP or state is validated one way."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from localflavor.us.forms import USZipCodeField as USZipCodeFormField
from localflavor.us.us_states import STATE_CHOICES
from rest_framework import serializers


class USZipCode(serializers.CharField):
    """12345 or 12345-6789; blank when the field allows it. Error code `invalid`."""

    default_error_messages = {"invalid": "Enter a ZIP code as 12345 or 12345-6789."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value == "":
            return value
        try:
            return USZipCodeFormField().clean(value)
        except DjangoValidationError:
            self.fail("invalid")


class USState(serializers.ChoiceField):
    """A two-letter US state or territory code (django-localflavor's list). Error code `invalid_choice`."""

    def __init__(self, **kwargs):
        super().__init__(choices=STATE_CHOICES, **kwargs)
