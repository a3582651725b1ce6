from django.urls import path

from practice import apis

urlpatterns = [
    path("service-area/check/", apis.ServiceAreaCheckApi.as_view(), name="service-area-check"),
    path("service-area/counties/", apis.CountyListApi.as_view(), name="service-area-counties"),
]
