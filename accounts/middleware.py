"""Admin sessions end after ADMIN_IDLE_TIMEOUT without a request (a shared clinic computer)."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect

_KEY = "admin_last_seen"


class AdminIdleTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/admin/") and request.user.is_authenticated:
            now = time.time()
            last_seen = request.session.get(_KEY)
            if last_seen is not None and now - last_seen > settings.ADMIN_IDLE_TIMEOUT.total_seconds():
                logout(request)
                return redirect(f"/admin/login/?next={request.path}")
            request.session[_KEY] = now
        return self.get_response(request)
