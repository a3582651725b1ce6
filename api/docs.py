"""The interactive API docs page (Swagger UI over /api/schema/)."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.views import SpectacularSwaggerView


class DocsView(SpectacularSwaggerView):
    """The interactive docs page. Its only renderer is an HTML template, which has nothing to render
    an OPTIONS answer with (500): OPTIONS answers an empty 200 with the Allow header instead."""

    def options(self, request, *args, **kwargs):
        return HttpResponse(status=200, content_type="text/plain")
