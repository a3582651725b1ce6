from django.urls import include, path

from prescriptions import apis

urlpatterns = [
    # catalogue and pharmacies
    path("medications/", apis.ProductListApi.as_view(), name="medication-list"),
    path("pharmacies/", apis.PharmacyListApi.as_view(), name="pharmacy-list"),
    path("staff/medications/", apis.StaffProductListApi.as_view(), name="staff-medication-list"),
    path("staff/medications/<uuid:product_id>/", apis.StaffProductDetailApi.as_view(), name="staff-medication-detail"),
    # physician
    path("physician/prescriptions/", apis.PhysicianPrescriptionListApi.as_view(), name="physician-rx-list"),
    path(
        "physician/prescriptions/<uuid:prescription_id>/",
        apis.PhysicianPrescriptionDetailApi.as_view(),
        name="physician-rx-detail",
    ),
    path(
        "physician/prescriptions/<uuid:prescription_id>/sign/",
        apis.PhysicianPrescriptionSignApi.as_view(),
        name="physician-rx-sign",
    ),
    path(
        "physician/prescriptions/<uuid:prescription_id>/discard/",
        apis.PhysicianPrescriptionDiscardApi.as_view(),
        name="physician-rx-discard",
    ),
    path("", include("prescriptions.erx.urls")),  # EPCS signing session, sandbox signing screen
    path("physician/patients/<uuid:patient_id>/pdmp-checks/", apis.PDMPCheckApi.as_view(), name="pdmp-checks"),
    path("physician/refill-requests/", apis.PhysicianRefillQueueApi.as_view(), name="physician-refill-queue"),
    path(
        "physician/refill-requests/<uuid:refill_id>/approve/",
        apis.PhysicianRefillApproveApi.as_view(),
        name="physician-refill-approve",
    ),
    path(
        "physician/refill-requests/<uuid:refill_id>/decline/",
        apis.PhysicianRefillDeclineApi.as_view(),
        name="physician-refill-decline",
    ),
    path("physician/delivery-orders/", apis.PhysicianDeliveryOrderListApi.as_view(), name="physician-order-list"),
    # patient
    path("patient/prescriptions/", apis.PatientPrescriptionListApi.as_view(), name="patient-rx-list"),
    path(
        "patient/prescriptions/<uuid:prescription_id>/",
        apis.PatientPrescriptionDetailApi.as_view(),
        name="patient-rx-detail",
    ),
    path(
        "patient/prescriptions/<uuid:prescription_id>/refill-requests/",
        apis.PatientRefillRequestApi.as_view(),
        name="patient-refill-request",
    ),
    path("patient/delivery-orders/", apis.PatientDeliveryOrderListApi.as_view(), name="patient-order-list"),
    path(
        "patient/delivery-orders/<uuid:order_id>/",
        apis.PatientDeliveryOrderDetailApi.as_view(),
        name="patient-order-detail",
    ),
    # staff delivery board
    path("staff/delivery-orders/", apis.StaffDeliveryOrderListApi.as_view(), name="staff-order-list"),
    path(
        "staff/delivery-orders/<uuid:order_id>/", apis.StaffDeliveryOrderDetailApi.as_view(), name="staff-order-detail"
    ),
    path(
        "staff/delivery-orders/<uuid:order_id>/transition/",
        apis.StaffDeliveryOrderTransitionApi.as_view(),
        name="staff-order-transition",
    ),
]
