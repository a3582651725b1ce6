"""Domain errors of the treatment app, each with a stable code the mobile apps switch on."""

from __future__ import annotations

from api.errors import Conflict, Refused


class SessionRefused(Refused):
    """A session may not start; `reasons` lists every failing rule (docs/treatment.md#sessions)."""

    code = "session_refused"
    default_message = "A session cannot start now."


class SessionAlreadyOpen(Conflict):
    code = "session_open"
    default_message = "A session is already open: end it first."


class SessionNotOpen(Conflict):
    code = "session_not_open"
    default_message = "This session has already ended."


class SessionNotEnded(Conflict):
    code = "session_not_ended"
    default_message = "End the session before checking in."


class AlreadyCheckedIn(Conflict):
    code = "already_checked_in"
    default_message = "This session already has a check-in."


class CheckInWindowClosed(Conflict):
    code = "check_in_window_closed"
    default_message = "The check-in window for this session has closed; contact your care team."
