from django.urls import path

from prescriptions.webhooks import easypost_webhook

urlpatterns = [
    path("easypost/", easypost_webhook, name="easypost-webhook"),
]
