"""The project's routes plus the benchmark's floor endpoint (only under bench.settings)."""

from django.urls import path

from bench.views import FloorApi
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("bench/floor/", FloorApi.as_view(), name="bench-floor"), *project_urlpatterns]
