from django.urls import path

from messaging import apis

urlpatterns = [
    path("patient/messages/", apis.PatientMessagesApi.as_view(), name="patient-messages"),
    path(
        "patient/messages/<uuid:message_id>/attachment/",
        apis.PatientMessageAttachmentApi.as_view(),
        name="patient-message-attachment",
    ),
    path("care-team/inbox/", apis.InboxApi.as_view(), name="care-team-inbox"),
    path(
        "care-team/patients/<uuid:patient_id>/messages/", apis.CareTeamMessagesApi.as_view(), name="care-team-messages"
    ),
    path(
        "care-team/patients/<uuid:patient_id>/messages/<uuid:message_id>/read/",
        apis.CareTeamMessageReadApi.as_view(),
        name="care-team-message-read",
    ),
    path(
        "care-team/patients/<uuid:patient_id>/messages/<uuid:message_id>/attachment/",
        apis.CareTeamMessageAttachmentApi.as_view(),
        name="care-team-message-attachment",
    ),
]
