"""/fhir/r4/: the CapabilityStatement, then search and read of each resource type."""

from django.urls import path

from interop.fhir_api import READ_VIEWS, SEARCH_VIEWS, FhirMetadataApi

urlpatterns = [path("metadata", FhirMetadataApi.as_view(), name="fhir-metadata")]
for _name in SEARCH_VIEWS:
    urlpatterns += [
        path(_name, SEARCH_VIEWS[_name].as_view(), name=f"fhir-{_name.lower()}-search"),
        path(f"{_name}/<str:resource_id>", READ_VIEWS[_name].as_view(), name=f"fhir-{_name.lower()}-read"),
    ]
