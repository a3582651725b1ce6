"""iCalendar (.ics) for physicians, who live in their calendars.

Events carry no patient name or other PHI: only "Video visit", the time, a stable UID and a
link to the app, because calendar feeds end up synced to third-party calendar services that
are outside the practice's BAAs. The app shows who the visit is with.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from icalendar import Calendar, Event

from scheduling.models import AppointmentStatus


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
        event.add("summary", "Video visit")
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
