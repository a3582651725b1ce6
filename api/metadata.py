"""What OPTIONS answers: the view's name, description and methods, nothing introspected.

DRF's default (SimpleMetadata) builds a form description from the view's serializer; views in this
codebase parse with input serializers inside their handlers and have no `serializer_class`, and
DRF's generic views without one raise while being described: OPTIONS answered 500. The request
and response shapes are published once, in the OpenAPI schema (/api/schema/).
"""

from __future__ import annotations

from rest_framework.metadata import BaseMetadata


class MethodsOnlyMetadata(BaseMetadata):
    def determine_metadata(self, request, view):
        return {
            "name": view.get_view_name(),
            "description": view.get_view_description(),
            "renders": [renderer.media_type for renderer in view.renderer_classes],
            "parses": [parser.media_type for parser in view.parser_classes],
            "methods": sorted(view.allowed_methods),
        }
