from django.urls import path

from scheduling import apis

urlpatterns = [
    path("availability/", apis.AvailabilityApi.as_view(), name="availability"),
    path("availability/days/", apis.AvailabilityDaysApi.as_view(), name="availability-days"),
    path("appointment-types/", apis.AppointmentTypeListApi.as_view(), name="appointment-types"),
    path("visit-locations/", apis.VisitLocationListApi.as_view(), name="visit-locations"),
    path("staff/visit-locations/", apis.StaffVisitLocationListApi.as_view(), name="staff-visit-locations"),
    path(
        "staff/visit-locations/<uuid:public_id>/",
        apis.StaffVisitLocationDetailApi.as_view(),
        name="staff-visit-location-detail",
    ),
    path("appointments/", apis.AppointmentListApi.as_view(), name="appointments"),
    path("appointments/<uuid:public_id>/", apis.AppointmentDetailApi.as_view(), name="appointment-detail"),
    path(
        "appointments/<uuid:public_id>/reschedule/",
        apis.AppointmentRescheduleApi.as_view(),
        name="appointment-reschedule",
    ),
    path(
        "appointments/<uuid:public_id>/visit-note/",
        apis.AppointmentVisitNoteApi.as_view(),
        name="appointment-visit-note",
    ),
    path("appointments/<uuid:public_id>/cancel/", apis.AppointmentCancelApi.as_view(), name="appointment-cancel"),
    path("appointments/<uuid:public_id>/start/", apis.AppointmentStartApi.as_view(), name="appointment-start"),
    path("appointments/<uuid:public_id>/complete/", apis.AppointmentCompleteApi.as_view(), name="appointment-complete"),
    path("appointments/<uuid:public_id>/no-show/", apis.AppointmentNoShowApi.as_view(), name="appointment-no-show"),
    path("appointments/<uuid:public_id>/join/", apis.AppointmentJoinApi.as_view(), name="appointment-join"),
    path("appointments/<uuid:public_id>/calendar.ics", apis.AppointmentIcsApi.as_view(), name="appointment-ics"),
    path("physician/calendar.ics", apis.PhysicianCalendarApi.as_view(), name="physician-calendar"),
    path("physician/caseload/", apis.PhysicianCaseloadApi.as_view(), name="physician-caseload"),
    path("physician/availability/weekly/", apis.WeeklyAvailabilityListApi.as_view(), name="weekly-availability"),
    path(
        "physician/availability/weekly/<uuid:public_id>/",
        apis.WeeklyAvailabilityDetailApi.as_view(),
        name="weekly-availability-detail",
    ),
    path(
        "physician/availability/exceptions/",
        apis.AvailabilityExceptionListApi.as_view(),
        name="availability-exceptions",
    ),
    path(
        "physician/availability/exceptions/<uuid:public_id>/",
        apis.AvailabilityExceptionDetailApi.as_view(),
        name="availability-exception-detail",
    ),
    path(
        "physician/patients/<uuid:patient_id>/in-person-evaluations/",
        apis.PhysicianInPersonEvaluationsApi.as_view(),
        name="physician-patient-in-person-evaluations",
    ),
    path(
        "physician/in-person-evaluations/<uuid:evaluation_id>/void/",
        apis.PhysicianInPersonEvaluationVoidApi.as_view(),
        name="physician-in-person-evaluation-void",
    ),
]
