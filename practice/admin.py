"""Staff manage counties (read-only) and physicians' credentials here; every save goes through the services."""

from __future__ import annotations

from django.contrib import admin
from django.db import models

from accounts.admin_mixins import ReadOnlyAdminMixin
from practice.models import (
    County,
    CredentialChange,
    CredentialExpiryNotice,
    DEARegistration,
    NJCDSRegistration,
    PhysicianProfile,
    StateLicense,
)
from practice.services import credentials


class _ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


@admin.register(County)
class CountyAdmin(_ReadOnlyAdmin):
    list_display = ["fips", "name", "state"]
    list_filter = ["state"]
    search_fields = ["fips", "name"]


class _ThroughServicesAdmin(admin.ModelAdmin):
    """The form validates (model full_clean); saving calls the create/update service so the change is logged."""

    owner_field = "physician"  # the form field naming the physician
    owner_field_kw = "physician"  # the create service's keyword for it
    create_service = None
    update_service = None
    update_keyword = ""
    editable: frozenset[str] = frozenset()

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate (status) instead: the history of who could treat when must stay

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in self.editable}
        if change:
            original = type(obj).objects.get(pk=obj.pk)
            saved = type(self).update_service(actor=request.user, **{self.update_keyword: original}, **data)
        else:
            fields = {name: form.cleaned_data[name] for name in self.editable if name in form.cleaned_data}
            owner = form.cleaned_data[self.owner_field]
            saved = type(self).create_service(actor=request.user, **{self.owner_field_kw: owner}, **fields)
        obj.pk = saved.pk
        obj.public_id = saved.public_id


@admin.register(PhysicianProfile)
class PhysicianProfileAdmin(_ThroughServicesAdmin):
    list_display = ["user", "npi", "time_zone", "accepting_new_patients", "new_patient_cap"]
    list_filter = ["accepting_new_patients", "time_zone"]
    search_fields = ["npi", "user__email", "user__last_name"]
    raw_id_fields = ["user"]
    owner_field = "user"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    create_service = staticmethod(credentials.physician_profile_create)
    update_service = staticmethod(credentials.physician_profile_update)
    update_keyword = "profile"
    editable = credentials.PROFILE_FIELDS

    def get_readonly_fields(self, request, obj=None):
        return ["user"] if obj else []


class _CredentialAdmin(_ThroughServicesAdmin):
    list_filter = ["status"]
    search_fields = ["number", "physician__email", "physician__last_name"]
    raw_id_fields = ["physician"]
    date_hierarchy = "expires_on"

    def get_readonly_fields(self, request, obj=None):
        return ["physician"] if obj else []


@admin.register(StateLicense)
class StateLicenseAdmin(_CredentialAdmin):
    list_display = ["physician", "state", "kind", "number", "status", "issued_on", "expires_on"]
    list_filter = ["state", "kind", "status"]
    create_service = staticmethod(credentials.state_licence_create)
    update_service = staticmethod(credentials.state_licence_update)
    update_keyword = "licence"
    editable = credentials.LICENCE_FIELDS


@admin.register(DEARegistration)
class DEARegistrationAdmin(_CredentialAdmin):
    list_display = ["physician", "state", "number", "schedules", "status", "expires_on", "needs_verification"]
    list_filter = ["state", "status", "needs_verification"]
    create_service = staticmethod(credentials.dea_registration_create)
    update_service = staticmethod(credentials.dea_registration_update)
    update_keyword = "registration"
    editable = credentials.DEA_FIELDS

    def get_readonly_fields(self, request, obj=None):
        return (
            ["physician", "verified_by", "verified_at"] if obj else ["needs_verification", "verified_by", "verified_at"]
        )

    def get_changeform_initial_data(self, request):
        return {"schedules": ["II", "IIN", "III", "IIIN", "IV", "V"]}


@admin.register(NJCDSRegistration)
class NJCDSRegistrationAdmin(_CredentialAdmin):
    list_display = ["physician", "number", "status", "issued_on", "expires_on"]
    create_service = staticmethod(credentials.cds_registration_create)
    update_service = staticmethod(credentials.cds_registration_update)
    update_keyword = "registration"
    editable = credentials.CDS_FIELDS


@admin.register(CredentialChange)
class CredentialChangeAdmin(_ReadOnlyAdmin):
    list_display = ["created_at", "actor", "physician", "credential_type", "credential_id", "action"]
    list_filter = ["credential_type", "action"]
    search_fields = ["credential_id"]


@admin.register(CredentialExpiryNotice)
class CredentialExpiryNoticeAdmin(_ReadOnlyAdmin):
    list_display = ["sent_at", "credential_type", "credential_id", "expires_on"]
    list_filter = ["credential_type"]
