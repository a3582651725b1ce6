"""Input serializers check shape and types only (no queries, no saves); output serializers shape answers."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers

from api.serializers import ReferenceIdsMixin
from patients import eligibility
from patients.models import (
    Assessment,
    AssessmentOutcome,
    CheckOutcome,
    Contraindication,
    PatientProfile,
    QuestionnaireResponse,
    SafetyFlag,
    Screening,
    VitalReading,
)
from patients.models.vitals import DIASTOLIC_RANGE, SYSTOLIC_RANGE
from patients.policy import CRISIS_RESOURCES
from patients.scoring import INSTRUMENT_CHOICES, INSTRUMENTS
from patients.selectors import progress


class ReasonOutput(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class CrisisLineOutput(serializers.Serializer):
    name = serializers.CharField()
    call = serializers.CharField()
    text = serializers.CharField(allow_blank=True)


class CrisisResourcesOutput(serializers.Serializer):
    message = serializers.CharField()
    lines = CrisisLineOutput(many=True)


# --- assessments ------------------------------------------------------------------------------


class AssessmentInput(serializers.Serializer):
    zip_code = serializers.CharField(max_length=10)
    county_fips = serializers.CharField(max_length=5, required=False, allow_blank=True, allow_null=True)
    date_of_birth = serializers.DateField()
    conditions = serializers.ListField(
        child=serializers.ChoiceField(choices=eligibility.CONDITIONS), allow_empty=False, max_length=20
    )
    treatments_tried = serializers.ListField(
        child=serializers.ChoiceField(choices=eligibility.TREATMENTS), allow_empty=True, max_length=20
    )
    contraindications = serializers.ListField(
        child=serializers.ChoiceField(choices=list(eligibility.CONTRAINDICATIONS)),
        allow_empty=True,
        max_length=20,
        help_text="Every screening item that applies; an empty list means none apply.",
    )
    medications = serializers.ListField(
        child=serializers.ChoiceField(choices=list(eligibility.MEDICATIONS)), allow_empty=True, max_length=10
    )
    phq9 = serializers.ListField(child=serializers.IntegerField(), required=False, allow_null=True, max_length=30)
    gad7 = serializers.ListField(child=serializers.IntegerField(), required=False, allow_null=True, max_length=30)
    consent_to_contact = serializers.BooleanField(default=False)
    contact_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    contact_email = serializers.EmailField(required=False, allow_blank=True, default="")
    contact_phone = PhoneNumberField(region="US", required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if attrs.get("consent_to_contact") and not (attrs.get("contact_email") or attrs.get("contact_phone")):
            raise serializers.ValidationError(
                {
                    "contact_email": [
                        serializers.ErrorDetail("Give an email or phone to be contacted.", "contact_required")
                    ]
                }
            )
        if attrs.get("contact_phone"):
            attrs["contact_phone"] = attrs["contact_phone"].as_e164
        return attrs


class LocationOutput(serializers.Serializer):
    zip_code = serializers.CharField()
    state = serializers.CharField(allow_blank=True)
    county_fips = serializers.CharField(allow_null=True)
    county_name = serializers.CharField(allow_null=True)
    time_zone = serializers.CharField(allow_blank=True)
    served = serializers.BooleanField()


class QuestionnaireScoreOutput(serializers.Serializer):
    total = serializers.IntegerField()
    band = serializers.CharField()


class AssessmentOutput(ReferenceIdsMixin, serializers.Serializer):
    own_id = "assessment_id"

    assessment_id = serializers.UUIDField()
    claim_token = serializers.CharField(help_text="Send with assessment_id when registering to carry the answers over.")
    outcome = serializers.ChoiceField(choices=AssessmentOutcome.choices)
    reasons = ReasonOutput(many=True)
    message = serializers.CharField()
    location = LocationOutput()
    phq9 = QuestionnaireScoreOutput(allow_null=True)
    gad7 = QuestionnaireScoreOutput(allow_null=True)
    crisis_resources = CrisisResourcesOutput(allow_null=True)


# --- profile ----------------------------------------------------------------------------------


class ProfileInput(serializers.Serializer):
    """PUT sends every field (optional ones left out are cleared), PATCH only what changes."""

    legal_first_name = serializers.CharField(max_length=150, required=False)
    legal_last_name = serializers.CharField(max_length=150, required=False)
    date_of_birth = serializers.DateField(required=False)
    phone = PhoneNumberField(region="US", required=False, allow_blank=True)
    address_line1 = serializers.CharField(max_length=200, required=False)
    address_line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False)
    state = serializers.CharField(min_length=2, max_length=2, required=False)
    county_fips = serializers.RegexField(r"^[0-9]{5}$", required=False, allow_null=True)
    zip_code = serializers.CharField(max_length=10, required=False)
    emergency_contact_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    emergency_contact_phone = PhoneNumberField(region="US", required=False, allow_blank=True)
    emergency_contact_relationship = serializers.CharField(max_length=60, required=False, allow_blank=True)
    monitor_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    monitor_phone = PhoneNumberField(region="US", required=False, allow_blank=True)
    monitor_relationship = serializers.CharField(max_length=60, required=False, allow_blank=True)
    monitor_adult_confirmed = serializers.BooleanField(required=False)
    pharmacy_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    pharmacy_phone = PhoneNumberField(region="US", required=False, allow_blank=True)
    assessment_id = serializers.UUIDField(required=False, help_text="A free assessment to carry over (pre-fills).")
    assessment_token = serializers.CharField(required=False, max_length=100)

    def validate_state(self, value):
        return value.upper()

    def validate(self, attrs):
        if ("assessment_id" in attrs) != ("assessment_token" in attrs):
            raise serializers.ValidationError(
                {"assessment_token": [serializers.ErrorDetail("Send assessment_id with its token.", "required")]}
            )
        if attrs.get("monitor_name") and not attrs.get("monitor_phone") and not self.partial:
            raise serializers.ValidationError(
                {"monitor_phone": [serializers.ErrorDetail("The monitor's phone is required.", "required")]}
            )
        return attrs


class ProfileOutput(serializers.ModelSerializer):
    patient_id = serializers.UUIDField(source="user.public_id")
    email = serializers.EmailField(source="user.email")
    county_fips = serializers.CharField(source="county_id")
    county_name = serializers.CharField(source="county.name")
    assigned_physician_id = serializers.UUIDField(source="assigned_physician.public_id", allow_null=True)
    assigned_physician_name = serializers.SerializerMethodField()
    phone = serializers.CharField()
    emergency_contact_phone = serializers.CharField()
    monitor_phone = serializers.CharField()
    pharmacy_phone = serializers.CharField()
    missing_items = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = PatientProfile
        fields = [
            "patient_id",
            "email",
            "legal_first_name",
            "legal_last_name",
            "date_of_birth",
            "phone",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "county_fips",
            "county_name",
            "zip_code",
            "time_zone",
            "address_verified_at",
            "emergency_contact_name",
            "emergency_contact_phone",
            "emergency_contact_relationship",
            "monitor_name",
            "monitor_phone",
            "monitor_relationship",
            "monitor_adult_confirmed",
            "pharmacy_name",
            "pharmacy_phone",
            "assigned_physician_id",
            "assigned_physician_name",
            "missing_items",
        ]
        read_only_fields = fields

    def get_assigned_physician_name(self, obj) -> str | None:
        return obj.assigned_physician.full_name if obj.assigned_physician_id else None


# --- consents ---------------------------------------------------------------------------------


class ConsentDocumentOutput(ReferenceIdsMixin, serializers.Serializer):
    own_id = "document_id"

    document_id = serializers.UUIDField(source="document.public_id")
    kind = serializers.CharField(source="document.kind")
    version = serializers.IntegerField(source="document.version")
    title = serializers.CharField(source="document.title")
    body = serializers.CharField(source="document.body")
    effective_at = serializers.DateTimeField(source="document.effective_at")
    signed = serializers.BooleanField()
    signed_at = serializers.DateTimeField(allow_null=True)


class ConsentSignatureOutput(ReferenceIdsMixin, serializers.Serializer):
    signature_id = serializers.UUIDField(source="public_id")
    document_id = serializers.UUIDField(source="document.public_id")
    kind = serializers.CharField(source="document_kind")
    version = serializers.IntegerField(source="document_version")
    signed_at = serializers.DateTimeField()
    missing_kinds = serializers.ListField(child=serializers.CharField(), help_text="Kinds still to sign.")


# --- questionnaires ---------------------------------------------------------------------------


class QuestionnaireInput(serializers.Serializer):
    instrument = serializers.ChoiceField(choices=INSTRUMENT_CHOICES)
    # Items are checked by the scoring module (count, range), with codes wrong_item_count and
    # answer_out_of_range; here only "a list of numbers".
    answers = serializers.ListField(child=serializers.IntegerField(), allow_empty=True, max_length=50)
    client_submission_id = serializers.UUIDField(
        required=False, help_text="Idempotency key: a retry with the same id returns the first submission."
    )


class QuestionnaireOutput(ReferenceIdsMixin, serializers.ModelSerializer):
    questionnaire_id = serializers.UUIDField(source="public_id")
    answers = serializers.ListField(child=serializers.IntegerField())
    score = serializers.SerializerMethodField(help_text="The instrument's score: the total, or PEG-3's mean.")
    change_from_baseline = serializers.SerializerMethodField()
    score_change_from_baseline = serializers.SerializerMethodField(help_text="Change of `score` from baseline.")
    response = serializers.SerializerMethodField()
    remission = serializers.SerializerMethodField()

    class Meta:
        model = QuestionnaireResponse
        fields = [
            "questionnaire_id",
            "instrument",
            "answers",
            "total",
            "score",
            "band",
            "taken_at",
            "is_baseline",
            "change_from_baseline",
            "score_change_from_baseline",
            "response",
            "remission",
        ]
        read_only_fields = fields

    def _progress(self, obj):
        cache = self.context.setdefault("_progress", {})
        if obj.pk not in cache:
            cache[obj.pk] = progress(obj, self.context.get("baselines", {}).get(obj.instrument))
        return cache[obj.pk]

    def get_change_from_baseline(self, obj) -> int | None:
        return self._progress(obj).change_from_baseline

    def get_score(self, obj) -> float:
        return INSTRUMENTS[obj.instrument].score_of(obj.total)

    def get_score_change_from_baseline(self, obj) -> float | None:
        change = self._progress(obj).change_from_baseline
        return None if change is None else INSTRUMENTS[obj.instrument].score_of(change)

    def get_response(self, obj) -> bool:
        return self._progress(obj).response

    def get_remission(self, obj) -> bool:
        return self._progress(obj).remission


class QuestionnaireSubmitOutput(QuestionnaireOutput):
    safety_flag_opened = serializers.SerializerMethodField()
    crisis_resources = serializers.SerializerMethodField()

    class Meta(QuestionnaireOutput.Meta):
        fields = [*QuestionnaireOutput.Meta.fields, "safety_flag_opened", "crisis_resources"]
        read_only_fields = fields

    def get_safety_flag_opened(self, obj) -> bool:
        return self.context.get("flag") is not None

    @extend_schema_field(CrisisResourcesOutput(allow_null=True))
    def get_crisis_resources(self, obj):
        return CRISIS_RESOURCES if self.context.get("flag") is not None else None


# --- vitals and the pre-session check ---------------------------------------------------------


class BloodPressureInput(serializers.Serializer):
    systolic = serializers.IntegerField()
    diastolic = serializers.IntegerField()

    def validate(self, attrs):
        errors = {}
        low, high = SYSTOLIC_RANGE
        if not low <= attrs["systolic"] <= high:
            errors["systolic"] = [serializers.ErrorDetail(f"Systolic must be {low}-{high}.", "reading_out_of_range")]
        low, high = DIASTOLIC_RANGE
        if not low <= attrs["diastolic"] <= high:
            errors["diastolic"] = [serializers.ErrorDetail(f"Diastolic must be {low}-{high}.", "reading_out_of_range")]
        if not errors and attrs["systolic"] <= attrs["diastolic"]:
            errors["diastolic"] = [
                serializers.ErrorDetail("Diastolic must be below systolic.", "systolic_not_above_diastolic")
            ]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class PreSessionCheckInput(serializers.Serializer):
    readings = BloodPressureInput(many=True, help_text="Two seated readings after 5 minutes' rest.")
    rested_5_minutes = serializers.BooleanField()
    monitor_present = serializers.BooleanField()
    monitor_adult = serializers.BooleanField()
    monitor_sober = serializers.BooleanField()
    pregnant_or_nursing = serializers.BooleanField(
        help_text="Asked before every session: are you pregnant or nursing? Yes holds the session."
    )

    def validate_readings(self, value):
        if len(value) != 2:
            raise serializers.ValidationError("Send exactly two readings.", code="wrong_reading_count")
        return value


class VitalReadingOutput(ReferenceIdsMixin, serializers.ModelSerializer):
    reading_id = serializers.UUIDField(source="public_id")

    class Meta:
        model = VitalReading
        fields = ["reading_id", "measured_at", "systolic", "diastolic", "sequence"]
        read_only_fields = fields


class PreSessionCheckOutput(ReferenceIdsMixin, serializers.Serializer):
    own_id = "check_id"

    check_id = serializers.UUIDField(source="check.public_id")
    outcome = serializers.ChoiceField(choices=CheckOutcome.choices, source="check.outcome")
    reasons = serializers.ListField(child=serializers.CharField(), source="check.reasons")
    judged_systolic = serializers.IntegerField(source="check.judged_systolic")
    judged_diastolic = serializers.IntegerField(source="check.judged_diastolic")
    readings = VitalReadingOutput(many=True)
    instructions = serializers.CharField(allow_blank=True)


# --- safety flags and care-team views ---------------------------------------------------------


class SafetyFlagOutput(ReferenceIdsMixin, serializers.ModelSerializer):
    flag_id = serializers.UUIDField(source="public_id")
    patient_id = serializers.UUIDField(source="patient.public_id")

    class Meta:
        model = SafetyFlag
        fields = ["flag_id", "patient_id", "kind", "status", "opened_at", "last_triggered_at", "trigger_count"]
        read_only_fields = fields


class SafetyFlagResolvedOutput(SafetyFlagOutput):
    resolved_at = serializers.DateTimeField()

    class Meta(SafetyFlagOutput.Meta):
        fields = [*SafetyFlagOutput.Meta.fields, "resolved_at"]
        read_only_fields = fields


class ResolveInput(serializers.Serializer):
    note = serializers.CharField(max_length=4000, help_text="The clinical note: what was done, why dosing may resume.")


class ReviewAssessmentOutput(ReferenceIdsMixin, serializers.ModelSerializer):
    assessment_id = serializers.UUIDField(source="public_id")
    county_fips = serializers.CharField(source="county_id", allow_null=True)
    patient_id = serializers.UUIDField(source="patient.public_id", allow_null=True)
    reasons = ReasonOutput(many=True)

    class Meta:
        model = Assessment
        fields = [
            "assessment_id",
            "created_at",
            "outcome",
            "reasons",
            "state",
            "county_fips",
            "consent_to_contact",
            "contact_name",
            "contact_email",
            "contact_phone",
            "patient_id",
        ]
        read_only_fields = fields


class ReviewRegistrationOutput(serializers.ModelSerializer):
    patient_id = serializers.UUIDField(source="user.public_id")
    county_fips = serializers.CharField(source="county_id")
    missing_items = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = PatientProfile
        fields = [
            "patient_id",
            "legal_first_name",
            "legal_last_name",
            "state",
            "county_fips",
            "created_at",
            "missing_items",
        ]
        read_only_fields = fields


class AssignPhysicianInput(serializers.Serializer):
    physician_id = serializers.UUIDField()


# --- screening in the chart -------------------------------------------------------------------
class ScreeningInput(serializers.Serializer):
    contraindications = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(eligibility.CONTRAINDICATIONS)), required=False, default=list
    )
    medications = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(eligibility.MEDICATIONS)), required=False, default=list
    )


class ScreeningOutput(ReferenceIdsMixin, serializers.ModelSerializer):
    screening_id = serializers.UUIDField(source="public_id")

    class Meta:
        model = Screening
        fields = ["screening_id", "source", "screened_at", "contraindications", "medications"]
        read_only_fields = fields


class ContraindicationOutput(ReferenceIdsMixin, serializers.ModelSerializer):
    contraindication_id = serializers.UUIDField(source="public_id")
    patient_id = serializers.UUIDField(source="patient.public_id")

    class Meta:
        model = Contraindication
        fields = [
            "contraindication_id",
            "patient_id",
            "code",
            "severity",
            "source",
            "source_date",
            "recorded_at",
            "status",
            "decided_at",
        ]
        read_only_fields = fields


class ContraindicationDecisionInput(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=["resolved", "confirmed"],
        help_text="`resolved`: treatment may go ahead (explain in the note); `confirmed`: not a candidate.",
    )
    note = serializers.CharField(max_length=4000, help_text="The clinical decision and its reasons.")
