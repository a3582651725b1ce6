from django.urls import path

from prescriptions.erx.webhooks import erx_webhook
from prescriptions.webhooks import easypost_webhook

urlpatterns = [
    path("easypost/", easypost_webhook, name="easypost-webhook"),
    path("erx/", erx_webhook, name="erx-webhook"),
]
