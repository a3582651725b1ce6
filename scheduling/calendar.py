"""iCalendar (.ics) for physicians, who live in their calendars.

Events carry no patient name or other PHI: only "Video visit" (or "In-person visit" with the
office's address, which is the practice's, not the patient's), the time, a stable UID and a
link to the app, because calendar feeds end up synced to third-party calendar services that
are outside the practice's BAAs. The app shows who the visit is with. No event carries a video
link (those are made shortly before the visit and handed out by the join endpoint).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from icalendar import Calendar, Event

from scheduling.models import AppointmentStatus, VisitLocationKind


def build_calendar(appointments) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Practice//Video visits//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Video visits")
    stamp = timezone.now()
    for appointment in appointments:
        link = f"{settings.SCHEDULING_APP_URL.rstrip('/')}/visits/{appointment.public_id}"
        event = Event()
        event.add("uid", f"{appointment.public_id}@practice.example")
        event.add("dtstamp", stamp)
        event.add("dtstart", appointment.starts_at)
        event.add("dtend", appointment.ends_at)
        location = appointment.location
        if location is None:
            event.add("summary", "Video visit")
        else:
            event.add("summary", "In-person visit")
            if location.kind != VisitLocationKind.HOME_VISIT:
                event.add("location", location.address_text)
        event.add("description", f"Open the app for details: {link}")
        event.add("url", link)
        event.add("status", "CANCELLED" if appointment.status == AppointmentStatus.CANCELLED else "CONFIRMED")
        cal.add_component(event)
    return cal.to_ical()


def ics_response(appointments, *, filename: str) -> HttpResponse:
    response = HttpResponse(build_calendar(appointments), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
