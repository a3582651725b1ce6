"""Scheduling writes: availability, booking (book, reschedule, cancel), visits, reminders, video links."""
