from django.urls import path

from notifications import apis

urlpatterns = [
    path("devices/", apis.DeviceApi.as_view(), name="devices"),
    path("me/notification-preferences/", apis.NotificationPreferencesApi.as_view(), name="notification-preferences"),
]
