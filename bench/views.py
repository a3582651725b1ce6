"""The framework floor: an authenticated DRF view that touches no database beyond authentication.

Every other endpoint's throughput is reported as a ratio to this one, measured in the same run.
"""

from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView


class FloorApi(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"ok": True, "role": request.user.role})
