from django.urls import path

from practice import apis

_physician = "staff/physicians/<uuid:physician_id>"

urlpatterns = [
    path("service-area/check/", apis.ServiceAreaCheckApi.as_view(), name="service-area-check"),
    path("service-area/counties/", apis.CountyListApi.as_view(), name="service-area-counties"),
    path("staff/physicians/", apis.StaffPhysicianListApi.as_view(), name="staff-physicians"),
    path(f"{_physician}/", apis.StaffPhysicianDetailApi.as_view(), name="staff-physician"),
    path(f"{_physician}/licences/", apis.StaffLicenceListApi.as_view(), name="staff-physician-licences"),
    path(
        f"{_physician}/licences/<uuid:credential_id>/",
        apis.StaffLicenceDetailApi.as_view(),
        name="staff-physician-licence",
    ),
    path(
        f"{_physician}/dea-registrations/",
        apis.StaffDEARegistrationListApi.as_view(),
        name="staff-physician-dea-registrations",
    ),
    path(
        f"{_physician}/dea-registrations/<uuid:credential_id>/",
        apis.StaffDEARegistrationDetailApi.as_view(),
        name="staff-physician-dea-registration",
    ),
    path(
        f"{_physician}/cds-registrations/",
        apis.StaffCDSRegistrationListApi.as_view(),
        name="staff-physician-cds-registrations",
    ),
    path(
        f"{_physician}/cds-registrations/<uuid:credential_id>/",
        apis.StaffCDSRegistrationDetailApi.as_view(),
        name="staff-physician-cds-registration",
    ),
    path("physician/credentials/", apis.PhysicianOwnCredentialsApi.as_view(), name="physician-credentials"),
]
