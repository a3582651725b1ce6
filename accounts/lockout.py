"""django-axes lockout response: the API's JSON envelope for the apps, a plain page for the admin."""

from django.http import HttpResponse, JsonResponse

from accounts.errors import AccountLocked
from api.exceptions import envelope


def lockout_response(request, original_response=None, credentials=None):
    if request.path.startswith("/api/"):
        return JsonResponse(
            envelope(AccountLocked.code, AccountLocked.default_message), status=AccountLocked.status_code
        )
    return HttpResponse(AccountLocked.default_message, status=AccountLocked.status_code, content_type="text/plain")
