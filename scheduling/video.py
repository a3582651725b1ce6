"""Video visit links behind one small adapter (VIDEO_PROVIDER setting).

- "fake" (default in development): clearly fake links on the reserved `.invalid` domain.
- "static": each physician's fixed room (PhysicianProfile.static_video_url) for both people.
- "daily": Daily's REST API (Daily signs a BAA): a private room that expires, and one meeting
  token each for the patient and the physician (owner), also expiring. Rooms are named with a
  random id and carry no PHI. Tests pass an httpx.MockTransport: no network.

Links are made shortly before the visit by a beat task (scheduling.tasks.create_due_video_links),
never at booking.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from api.errors import ServiceUnavailable


@dataclass(frozen=True)
class VideoLinks:
    room: str
    patient_url: str
    physician_url: str


class VideoProvider:
    def create_links(self, *, starts_at: datetime, ends_at: datetime, static_url: str = "") -> VideoLinks:
        raise NotImplementedError


class FakeVideoProvider(VideoProvider):
    def create_links(self, *, starts_at, ends_at, static_url=""):
        room = f"fake-{secrets.token_hex(8)}"
        return VideoLinks(
            room=room,
            patient_url=f"https://video.invalid/{room}?role=patient",
            physician_url=f"https://video.invalid/{room}?role=physician",
        )


class StaticLinkVideoProvider(VideoProvider):
    def create_links(self, *, starts_at, ends_at, static_url=""):
        if not static_url:
            raise ServiceUnavailable("This physician has no video room configured.", code="video_not_configured")
        return VideoLinks(room="static", patient_url=static_url, physician_url=static_url)


class DailyVideoProvider(VideoProvider):
    def __init__(self, *, api_key: str | None = None, base_url: str | None = None, transport=None):
        self.api_key = api_key if api_key is not None else settings.DAILY_API_KEY
        if not self.api_key:
            raise ImproperlyConfigured("VIDEO_PROVIDER=daily needs DAILY_API_KEY.")
        self.base_url = (base_url or settings.DAILY_API_URL).rstrip("/")
        self.transport = transport

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=10.0,
            transport=self.transport,
        )

    def _post(self, client: httpx.Client, path: str, payload: dict) -> dict:
        try:
            response = client.post(path, json=payload)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ServiceUnavailable("The video service is unavailable.") from exc

    def create_links(self, *, starts_at, ends_at, static_url=""):
        expires = int((starts_at + timedelta(minutes=settings.VIDEO_LINK_VALID_MINUTES)).timestamp())
        not_before = int((starts_at - timedelta(minutes=settings.VIDEO_LINK_LEAD_MINUTES)).timestamp())
        name = f"visit-{secrets.token_hex(10)}"
        with self._client() as client:
            room = self._post(
                client,
                "/rooms",
                {"name": name, "privacy": "private", "properties": {"exp": expires, "nbf": not_before}},
            )
            room_url = room["url"]
            tokens = {}
            for role, owner in (("patient", False), ("physician", True)):
                body = self._post(
                    client,
                    "/meeting-tokens",
                    {
                        "properties": {
                            "room_name": room["name"],
                            "exp": expires,
                            "nbf": not_before,
                            "is_owner": owner,
                            "user_name": role.capitalize(),
                        }
                    },
                )
                tokens[role] = body["token"]
        return VideoLinks(
            room=room["name"],
            patient_url=f"{room_url}?t={tokens['patient']}",
            physician_url=f"{room_url}?t={tokens['physician']}",
        )


_PROVIDERS = {"fake": FakeVideoProvider, "static": StaticLinkVideoProvider, "daily": DailyVideoProvider}


def video_provider() -> VideoProvider:
    try:
        return _PROVIDERS[settings.VIDEO_PROVIDER]()
    except KeyError as exc:
        raise ImproperlyConfigured(f"Unknown VIDEO_PROVIDER {settings.VIDEO_PROVIDER!r}") from exc
