from django.urls import path

from notifications.webhooks import twilio_sms_webhook

urlpatterns = [
    path("twilio/sms/", twilio_sms_webhook, name="twilio-sms-webhook"),
]
