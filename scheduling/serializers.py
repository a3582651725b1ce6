"""Input serializers check shape only (no queries); output serializers use public ids."""

from __future__ import annotations

from datetime import date

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts import scopes
from api.fields import iso_datetime
from api.serializers import ReferenceIdsMixin
from api.us_fields import USZipCode
from practice.models import ServiceState
from scheduling import caseload_columns
from scheduling.models import (
    Appointment,
    AppointmentTypeCode,
    AvailabilityException,
    ExceptionKind,
    Modality,
    VisitLocationKind,
    Weekday,
    WeeklyAvailability,
    address_text,
)
from scheduling.selectors import location_data

# --- availability search -----------------------------------------------------------------

# Dates outside this range are nonsense for a calendar (and would overflow date arithmetic).
_EARLIEST, _LATEST = date(2000, 1, 1), date(2100, 12, 31)


def _in_range(value):
    if not (_EARLIEST <= value.date() <= _LATEST):
        raise serializers.ValidationError("Out of range.", code="out_of_range")
    return value


class _SearchWhere(serializers.Serializer):
    """What a search is for and where the patient is (shared by the day view, the strip and the
    deprecated window)."""

    appointment_type = serializers.ChoiceField(
        choices=AppointmentTypeCode.choices, default=AppointmentTypeCode.FREE_CONSULTATION
    )
    physician = serializers.UUIDField(required=False, help_text="A physician's public id: only their slots.")
    assessment = serializers.UUIDField(
        required=False, help_text="Prospective patients: the public id of their free assessment (its ZIP decides)."
    )
    assessment_token = serializers.CharField(
        required=False,
        max_length=128,
        help_text="The assessment's claim_token (from its answer); not needed by the patient who claimed it.",
    )
    zip = serializers.RegexField(
        r"^\d{5}(-?\d{4})?$",
        required=False,
        help_text="Prospective patients (not signed in): the ZIP code from the assessment.",
    )
    county = serializers.RegexField(r"^\d{5}$", required=False, help_text="County FIPS when the ZIP spans counties.")
    location = serializers.UUIDField(
        required=False,
        help_text="In-person types: only slots at this visit location (public id). Ignored for video types.",
    )

    def _check_range(self, attrs, *names):
        for name in names:
            if name in attrs and not (_EARLIEST <= attrs[name] <= _LATEST):
                raise serializers.ValidationError({name: "Out of range."}, code="out_of_range")


class AvailabilityQuery(_SearchWhere):
    """`date`: one day's slots (the day view). `start` and `end`: the deprecated window form."""

    date = serializers.DateField(
        required=False, help_text="The day view: one local date (the patient's zone), today or later."
    )
    start = serializers.DateField(required=False, help_text="Deprecated (with `end`): use `date` or /days/.")
    end = serializers.DateField(required=False, help_text="Deprecated (with `start`).")

    def validate(self, attrs):
        if "date" in attrs:
            extra = [name for name in ("start", "end") if name in attrs]
            if extra:
                raise serializers.ValidationError(
                    {extra[0]: "Give either a date or a start and end, not both."}, code="conflicting_parameters"
                )
        else:
            for name in ("start", "end"):
                if name not in attrs:
                    raise serializers.ValidationError({name: "This field is required."}, code="required")
        self._check_range(attrs, "date", "start", "end")
        return attrs


class AvailabilityDaysQuery(_SearchWhere):
    start = serializers.DateField(help_text="First local date (the patient's zone), today or later.")
    end = serializers.DateField(help_text="Last local date, inclusive; at most the window limit (14 days) in all.")

    def validate(self, attrs):
        self._check_range(attrs, "start", "end")
        return attrs


class VisitLocationOutput(serializers.Serializer):
    """A visit location as every answer names it (scheduling.selectors.location_data)."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=VisitLocationKind.choices)
    address = serializers.CharField(help_text='One line; "At your home" for home visits.')
    address_line1 = serializers.CharField(allow_blank=True)
    address_line2 = serializers.CharField(allow_blank=True)
    city = serializers.CharField(allow_blank=True)
    state = serializers.CharField()
    zip_code = serializers.CharField(allow_blank=True)
    time_zone = serializers.CharField(help_text="In-person visit times are given in this zone.")
    instructions = serializers.CharField(allow_blank=True)


class StaffVisitLocationOutput(VisitLocationOutput):
    is_active = serializers.BooleanField()


class StaffVisitLocationInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=VisitLocationKind.choices, default=VisitLocationKind.OFFICE)
    address_line1 = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    address_line2 = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    state = serializers.ChoiceField(choices=ServiceState.choices)
    zip_code = USZipCode(max_length=10, required=False, default="", allow_blank=True)
    time_zone = serializers.ChoiceField(
        choices=[("America/New_York", "Eastern"), ("America/Chicago", "Central")], default="America/New_York"
    )
    instructions = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
    is_active = serializers.BooleanField(default=True)


class StaffVisitLocationPatchInput(StaffVisitLocationInput):
    name = serializers.CharField(max_length=120, required=False)
    kind = serializers.ChoiceField(choices=VisitLocationKind.choices, required=False)
    address_line1 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    address_line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    state = serializers.ChoiceField(choices=ServiceState.choices, required=False)
    zip_code = USZipCode(max_length=10, required=False, allow_blank=True)
    time_zone = serializers.ChoiceField(
        choices=[("America/New_York", "Eastern"), ("America/Chicago", "Central")], required=False
    )
    instructions = serializers.CharField(max_length=255, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class VisitLocationQuery(serializers.Serializer):
    state = serializers.ChoiceField(choices=ServiceState.choices, required=False)


class PersonOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    first_name = serializers.CharField()
    last_name = serializers.CharField()


class SlotOutput(serializers.Serializer):
    starts_at = serializers.CharField(help_text="ISO 8601 in the patient's time zone, with offset.")
    ends_at = serializers.CharField(help_text="ISO 8601 in the patient's time zone, with offset.")
    starts_at_utc = serializers.CharField(help_text="ISO 8601 in UTC (send this back to book).")
    ends_at_utc = serializers.CharField()


class PhysicianSlotsOutput(serializers.Serializer):
    physician = PersonOutput()
    physician_time_zone = serializers.CharField()
    location = VisitLocationOutput(
        required=False,
        help_text="In-person types only: where the visit takes place; the slots are in its time zone.",
    )
    slots = SlotOutput(many=True)


class AvailabilityOutput(serializers.Serializer):
    state = serializers.CharField()
    time_zone = serializers.CharField(
        help_text="The patient's zone; slot times are shown in it (in-person types: in each entry's location's zone)."
    )
    date = serializers.DateField(required=False, help_text="The day view: the date asked for (start and end equal it).")
    start = serializers.DateField()
    end = serializers.DateField()
    appointment_type = serializers.CharField()
    duration_minutes = serializers.IntegerField()
    count = serializers.IntegerField(help_text="Physicians with at least one slot.")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = PhysicianSlotsOutput(many=True)


class AvailabilityDayOutput(serializers.Serializer):
    date = serializers.DateField(help_text="A local date in the patient's zone.")
    available = serializers.BooleanField(help_text="At least one free slot that day.")
    physicians = serializers.IntegerField(help_text="Physicians with at least one free slot that day.")
    earliest_start = serializers.CharField(
        allow_null=True, help_text="The day's earliest free slot, ISO 8601 in the patient's zone."
    )
    earliest_start_utc = serializers.CharField(allow_null=True)


class AvailabilityDaysOutput(serializers.Serializer):
    state = serializers.CharField()
    time_zone = serializers.CharField(help_text="The patient's zone: the dates and times are in it.")
    start = serializers.DateField()
    end = serializers.DateField()
    appointment_type = serializers.CharField()
    duration_minutes = serializers.IntegerField()
    days = AvailabilityDayOutput(many=True, help_text="Every date from start to end, in order.")


# --- appointments ------------------------------------------------------------------------


class BookInput(serializers.Serializer):
    physician = serializers.UUIDField()
    appointment_type = serializers.ChoiceField(choices=AppointmentTypeCode.choices)
    starts_at = serializers.DateTimeField(
        help_text="A slot's start (ISO 8601 with offset or Z).", validators=[_in_range]
    )
    idempotency_key = serializers.CharField(min_length=8, max_length=64)
    location = serializers.UUIDField(
        required=False,
        help_text="In-person visits: the visit location (public id); needed when the physician has several in "
        "your state.",
    )


class RescheduleInput(serializers.Serializer):
    starts_at = serializers.DateTimeField(validators=[_in_range])


class PractitionerPresentInput(serializers.Serializer):
    """The practitioner physically with the patient during a video visit (21 U.S.C. 802(54)(B))."""

    name = serializers.CharField(max_length=200)
    npi = serializers.CharField(max_length=10)
    dea_number = serializers.CharField(max_length=9)
    state = serializers.ChoiceField(choices=ServiceState.choices, help_text="Must be the patient's state at the visit.")


class CompleteInput(serializers.Serializer):
    visit_note = serializers.CharField(max_length=20000)
    modality = serializers.ChoiceField(
        choices=Modality.choices,
        required=False,
        help_text="audio_video for video visits, in_person for in-person visits (the default is the visit's).",
    )
    patient_state_at_visit = serializers.ChoiceField(
        choices=["FL", "NJ"],
        required=False,
        help_text="Where the patient was during the visit; defaults to their profile's state (an in-person "
        "visit: the location's).",
    )
    assign_to_me = serializers.BooleanField(
        default=True, help_text="After a free consultation, put the patient on my caseload."
    )
    attest_in_person = serializers.BooleanField(
        default=False,
        help_text="In-person visits: required true, attesting that you evaluated the patient in your physical "
        "presence.",
    )
    others_present = serializers.CharField(
        max_length=300, required=False, default="", allow_blank=True, help_text="In-person visits: who else was there."
    )
    practitioner_present = PractitionerPresentInput(
        required=False,
        help_text="Video visits: a practitioner DEA-registered in the patient's state was with the patient.",
    )


class AppointmentOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    patient = PersonOutput(read_only=True)
    physician = PersonOutput(read_only=True)
    appointment_type = serializers.CharField(source="appointment_type.code", read_only=True)
    video_ready = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()

    class Meta:
        model = Appointment
        fields = [
            "id",
            "patient",
            "physician",
            "appointment_type",
            "starts_at",
            "ends_at",
            "status",
            "modality",
            "patient_state",
            "patient_state_at_visit",
            "started_at",
            "completed_at",
            "cancelled_at",
            "reschedule_count",
            "video_ready",
            "location",
            "created_at",
        ]
        read_only_fields = fields

    def get_video_ready(self, obj) -> bool:
        return obj.video_status == "ready"

    @extend_schema_field(VisitLocationOutput(allow_null=True))
    def get_location(self, obj) -> dict | None:
        """In-person visits: where, with the address. Null for video visits."""
        return location_data(obj.location) if obj.location_id else None


def _dt(value) -> str | None:
    return iso_datetime(value)


def person_data(user) -> dict:
    """PersonOutput(user).data, built directly."""
    return {"id": str(user.public_id), "first_name": user.first_name, "last_name": user.last_name}


def appointment_data(a) -> dict:
    """AppointmentOutput(appointment).data built directly (the same keys, order and values:
    tests/perf/test_read_paths.py compares them): the booking's answer, where building the
    ModelSerializer's fields cost more than the rest of the answer."""
    return {
        "id": str(a.public_id),
        "patient": person_data(a.patient),
        "physician": person_data(a.physician),
        "appointment_type": a.appointment_type.code,
        **_visit_fields(a),
        "location": location_data(a.location) if a.location_id else None,
        "created_at": iso_datetime(a.created_at),
    }


def _visit_fields(a) -> dict:
    """The visit's own fields of AppointmentOutput, from a model instance or an AppointmentRow
    (the same attribute names)."""
    dt = iso_datetime
    return {
        "starts_at": dt(a.starts_at),
        "ends_at": dt(a.ends_at),
        "status": a.status,
        "modality": a.modality,
        "patient_state": a.patient_state,
        "patient_state_at_visit": a.patient_state_at_visit,
        "started_at": dt(a.started_at),
        "completed_at": dt(a.completed_at),
        "cancelled_at": dt(a.cancelled_at),
        "reschedule_count": a.reschedule_count,
        "video_ready": a.video_status == "ready",
    }


def appointment_list_data(rows) -> list[dict]:
    """AppointmentOutput(appointments, many=True).data as plain dicts, from the list's
    AppointmentRow tuples (selectors.appointment_list_rows; the same keys, order and values:
    tests/perf/test_read_paths.py compares them): the list endpoint is a patient's first screen,
    and DRF's field machinery, model instances and the query's compilation were most of its time."""
    dt = iso_datetime
    return [
        {
            "id": str(a.public_id),
            "patient": {
                "id": str(a.patient__public_id),
                "first_name": a.patient__first_name,
                "last_name": a.patient__last_name,
            },
            "physician": {
                "id": str(a.physician__public_id),
                "first_name": a.physician__first_name,
                "last_name": a.physician__last_name,
            },
            "appointment_type": a.appointment_type__code,
            **_visit_fields(a),
            "location": _location_row_data(a) if a.location_id else None,
            "created_at": dt(a.created_at),
        }
        for a in rows
    ]


def _location_row_data(a) -> dict:
    """location_data(appointment.location) from an AppointmentRow's location columns."""
    return {
        "id": str(a.location__public_id),
        "name": a.location__name,
        "kind": a.location__kind,
        "address": address_text(
            a.location__kind,
            a.location__address_line1,
            a.location__address_line2,
            a.location__city,
            a.location__state,
            a.location__zip_code,
        ),
        "address_line1": a.location__address_line1,
        "address_line2": a.location__address_line2,
        "city": a.location__city,
        "state": a.location__state,
        "zip_code": a.location__zip_code,
        "time_zone": a.location__time_zone,
        "instructions": a.location__instructions,
    }


class AppointmentDetailOutput(AppointmentOutput):
    visit_note = serializers.SerializerMethodField()

    class Meta(AppointmentOutput.Meta):
        fields = [*AppointmentOutput.Meta.fields, "visit_note"]
        read_only_fields = fields

    def get_visit_note(self, obj) -> str | None:
        """The physician's note: clinical content, so null unless the viewer sees clinical content
        (the visit's physician, the medical director); null for the patient and care coordinators."""
        viewer = self.context.get("viewer")
        if viewer is not None and scopes.sees_clinical(viewer):
            return obj.visit_note
        return None


class VisitNoteOutput(serializers.Serializer):
    """The note of one visit; `appointment` is the older name of `appointment_id` (docs/api-conventions.md#ids)."""

    appointment = serializers.UUIDField(source="public_id")
    status = serializers.CharField()
    completed_at = serializers.DateTimeField(allow_null=True)
    visit_note = serializers.CharField(allow_null=True)
    appointment_id = serializers.UUIDField(source="public_id")


class JoinOutput(serializers.Serializer):
    url = serializers.URLField()


# --- physician availability --------------------------------------------------------------


_HOURS_LOCATION_HELP = (
    "A visit location's public id: in-person hours there, in the location's time zone. Omit or null: "
    "video hours, in your own zone."
)


class WeeklyAvailabilityInput(serializers.Serializer):
    weekday = serializers.ChoiceField(choices=Weekday.choices)
    start_time = serializers.TimeField()
    end_time = serializers.TimeField()
    location = serializers.UUIDField(required=False, allow_null=True, help_text=_HOURS_LOCATION_HELP)

    def validate(self, attrs):
        start, end = attrs.get("start_time"), attrs.get("end_time")
        if start is not None and end is not None and end <= start:
            raise serializers.ValidationError({"end_time": "Must be after the start time."}, code="end_before_start")
        return attrs


class WeeklyAvailabilityPatchInput(WeeklyAvailabilityInput):
    weekday = serializers.ChoiceField(choices=Weekday.choices, required=False)
    start_time = serializers.TimeField(required=False)
    end_time = serializers.TimeField(required=False)


class WeeklyAvailabilityOutput(ReferenceIdsMixin, serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    # Wall-clock times without an offset (they are in the physician's zone), so plain strings:
    # OpenAPI's "time" format demands an offset.
    start_time = serializers.CharField(read_only=True, help_text="HH:MM:SS, physician's zone (or the location's).")
    end_time = serializers.CharField(read_only=True, help_text="HH:MM:SS, physician's zone (or the location's).")
    location = serializers.UUIDField(source="location.public_id", read_only=True, allow_null=True, default=None)

    class Meta:
        model = WeeklyAvailability
        fields = ["id", "weekday", "start_time", "end_time", "location"]
        read_only_fields = fields


class AvailabilityExceptionInput(serializers.Serializer):
    date = serializers.DateField()
    kind = serializers.ChoiceField(choices=ExceptionKind.choices)
    start_time = serializers.TimeField(required=False, allow_null=True)
    end_time = serializers.TimeField(required=False, allow_null=True)
    location = serializers.UUIDField(
        required=False, allow_null=True, help_text="Extra hours only: in-person hours at this visit location."
    )

    def validate(self, attrs):
        start, end = attrs.get("start_time"), attrs.get("end_time")
        if (start is None) != (end is None):
            raise serializers.ValidationError({"end_time": "Give both times or neither."}, code="times_incomplete")
        if start is not None and end <= start:
            raise serializers.ValidationError({"end_time": "Must be after the start time."}, code="end_before_start")
        if attrs.get("kind") == ExceptionKind.EXTRA_HOURS and start is None:
            raise serializers.ValidationError({"start_time": "Extra hours need times."}, code="required")
        return attrs


class AvailabilityExceptionPatchInput(serializers.Serializer):
    date = serializers.DateField(required=False)
    kind = serializers.ChoiceField(choices=ExceptionKind.choices, required=False)
    start_time = serializers.TimeField(required=False, allow_null=True)
    end_time = serializers.TimeField(required=False, allow_null=True)
    location = serializers.UUIDField(required=False, allow_null=True)


class AvailabilityExceptionOutput(ReferenceIdsMixin, serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    start_time = serializers.CharField(read_only=True, allow_null=True, help_text="HH:MM:SS, physician's zone.")
    end_time = serializers.CharField(read_only=True, allow_null=True, help_text="HH:MM:SS, physician's zone.")
    location = serializers.UUIDField(source="location.public_id", read_only=True, allow_null=True, default=None)

    class Meta:
        model = AvailabilityException
        fields = ["id", "date", "kind", "start_time", "end_time", "location"]
        read_only_fields = fields


# --- caseload ----------------------------------------------------------------------------


class ScoreOutput(serializers.Serializer):
    score = serializers.IntegerField(allow_null=True)
    band = serializers.CharField(allow_null=True)
    taken_at = serializers.DateTimeField(allow_null=True)


class SubscriptionOutput(serializers.Serializer):
    ok = serializers.BooleanField()
    status = serializers.CharField()


class _CaseloadRowBase(serializers.Serializer):
    patient = PersonOutput()
    next_appointment_id = serializers.UUIDField(allow_null=True)
    next_appointment_at = serializers.DateTimeField(allow_null=True)
    last_visit_at = serializers.DateTimeField(allow_null=True)
    phq9 = ScoreOutput(allow_null=True)
    gad7 = ScoreOutput(allow_null=True)
    open_safety_flags = serializers.IntegerField()
    subscription = SubscriptionOutput(allow_null=True)
    prescription_status = serializers.CharField(allow_null=True, help_text="From the prescriptions app.")


# The columns the apps above scheduling publish (scheduling/caseload_columns.py), read once when
# this module loads: the serializer, the OpenAPI schema and caseload_row_data carry the same set.
_CASELOAD_EXTRA_FIELDS = caseload_columns.fields()
CaseloadRowOutput = type(
    "CaseloadRowOutput",
    (_CaseloadRowBase,),
    {
        "__module__": __name__,
        "__doc__": "One patient on the physician's caseload, with the columns the upper apps add.",
        **_CASELOAD_EXTRA_FIELDS,
    },
)


def _score_data(score) -> dict | None:
    if score is None:
        return None
    return {"score": score.total, "band": score.band, "taken_at": _dt(score.taken_at)}


def caseload_row_data(row) -> dict:
    """CaseloadRowOutput's representation of a scheduling.selectors.CaseloadRow, built directly
    (the same keys, order and values; tests/perf/test_read_paths.py compares them)."""
    standing = row.subscription
    return {
        "patient": person_data(row.patient),
        "next_appointment_id": str(row.next_appointment_id) if row.next_appointment_id is not None else None,
        "next_appointment_at": _dt(row.next_appointment_at),
        "last_visit_at": _dt(row.last_visit_at),
        "phq9": _score_data(row.scores.get("phq9")),
        "gad7": _score_data(row.scores.get("gad7")),
        "open_safety_flags": row.open_flags,
        "subscription": {"ok": bool(standing.ok), "status": standing.status} if standing is not None else None,
        "prescription_status": row.prescription_status,
        **(
            {name: row.columns.get(name) for name in _CASELOAD_EXTRA_FIELDS}
            if row.columns_represented
            else {
                name: (None if (value := row.columns.get(name)) is None else field.to_representation(value))
                for name, field in _CASELOAD_EXTRA_FIELDS.items()
            }
        ),
    }


class InPersonEvaluationInput(serializers.Serializer):
    """An in-person evaluation the physician conducted elsewhere, attested by posting it."""

    evaluated_on = serializers.DateField(help_text="The local date of the evaluation (never in the future).")
    place_state = serializers.ChoiceField(choices=ServiceState.choices, help_text="Where it took place: FL or NJ.")
    place_address = serializers.CharField(
        max_length=300,
        required=False,
        default="",
        allow_blank=True,
        help_text="Address of the place; for a home visit it defaults to the patient's verified home address.",
    )
    home_visit = serializers.BooleanField(default=False)
    location = serializers.UUIDField(required=False, allow_null=True, help_text="A visit location's id, if there.")
    others_present = serializers.CharField(
        max_length=300, required=False, default="", allow_blank=True, help_text="Who else was present (roles, names)."
    )


class InPersonEvaluationVoidInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class InPersonEvaluationOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    patient_id = serializers.UUIDField(source="patient.public_id")
    physician_id = serializers.UUIDField(source="physician.public_id")
    physician_name = serializers.CharField(source="physician.full_name")
    evaluated_on = serializers.DateField()
    source = serializers.CharField()
    appointment_id = serializers.SerializerMethodField()
    location_id = serializers.SerializerMethodField()
    home_visit = serializers.BooleanField()
    place_address = serializers.CharField()
    place_state = serializers.CharField()
    others_present = serializers.CharField()
    attested_at = serializers.DateTimeField()
    voided_at = serializers.DateTimeField(allow_null=True)
    void_reason = serializers.CharField()

    def get_appointment_id(self, obj) -> str | None:
        return str(obj.appointment.public_id) if obj.appointment_id else None

    def get_location_id(self, obj) -> str | None:
        return str(obj.location.public_id) if obj.location_id else None


class AppointmentTypeOutput(serializers.Serializer):
    """One kind of visit: how long, how (video or in person), and what it costs."""

    code = serializers.ChoiceField(
        choices=AppointmentTypeCode.choices, help_text="What booking names as appointment_type."
    )
    name = serializers.CharField()
    duration_minutes = serializers.IntegerField()
    modality = serializers.ChoiceField(choices=Modality.choices, help_text="audio_video (a video visit) or in_person.")
    is_free = serializers.BooleanField(help_text="True when no membership is needed (the free consultation).")
    requires_membership = serializers.BooleanField()
    price = serializers.ChoiceField(
        choices=["free", "included_in_membership"],
        help_text="free, or included_in_membership (the monthly membership covers it; no charge per visit).",
    )


def appointment_type_data(appointment_type) -> dict:
    return {
        "code": appointment_type.code,
        "name": appointment_type.name,
        "duration_minutes": appointment_type.duration_minutes,
        "modality": Modality.IN_PERSON if appointment_type.in_person else Modality.AUDIO_VIDEO,
        "is_free": not appointment_type.requires_subscription,
        "requires_membership": appointment_type.requires_subscription,
        "price": "included_in_membership" if appointment_type.requires_subscription else "free",
    }
