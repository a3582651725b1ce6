"""Request ids: every request gets one (or keeps a sane one from the client/proxy), echoed in
the X-Request-ID header, stamped on log lines and on audit rows."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SANE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def current_request_id() -> str:
    return _request_id.get()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SANE.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class ApiEdgeMiddleware:
    """The API's edge cases answered in the envelope, before Django's HTML defaults can
    (docs/api-conventions.md#errors):

    - a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE (by its Content-Length) is refused at once
      with 413 `payload_too_large`, before anything reads it;
    - a path under /api/ without its trailing slash is served as the slashed route when that one
      exists (APPEND_SLASH would answer a redirect, which loses a POST body): both forms work;
    - any other HTML error page for an /api/ path (a 405 from a plain Django view, say) becomes
      the envelope with a code named after the status.
    """

    _CODES = {
        400: "bad_request",
        403: "permission_denied",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
        500: "server_error",
    }

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith("/api/"):
            return self.get_response(request)
        from django.conf import settings
        from django.http import JsonResponse

        # Not at module level: the logging configuration imports this module (its request-id
        # filter) before DRF, which api.exceptions needs, can be imported.
        from api.exceptions import envelope, payload_too_large_body

        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            return JsonResponse(payload_too_large_body(), status=413)
        if not request.path_info.endswith("/"):
            self._add_slash(request)
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if response.status_code >= 400 and not content_type.startswith("application/json"):
            code = self._CODES.get(response.status_code, "server_error" if response.status_code >= 500 else "error")
            message = getattr(response, "reason_phrase", "") or "Error."
            replaced = JsonResponse(envelope(code, f"{message}."), status=response.status_code)
            for header in ("Allow", "Retry-After", "WWW-Authenticate", "X-Request-ID"):
                if header in response:
                    replaced[header] = response[header]
            return replaced
        return response

    @staticmethod
    def _add_slash(request) -> None:
        from django.urls import Resolver404, get_urlconf, resolve

        urlconf = getattr(request, "urlconf", get_urlconf())
        try:
            resolve(request.path_info, urlconf)
            return
        except Resolver404:
            pass
        try:
            resolve(request.path_info + "/", urlconf)
        except Resolver404:
            return
        request.path_info += "/"
        request.path += "/"
