"""Input shapes (checked with stable codes, no queries) and output shapes of the outcomes API."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from api.serializers import ReferenceIdsMixin
from outcomes import headache as hx
from outcomes.models import (
    AUTONOMIC_SIGNS,
    CLUSTER_TREATMENTS,
    AttackRelief,
    AttackSide,
    ClusterAttack,
    HeadacheDiaryEntry,
    OutcomeReviewFlag,
)
from outcomes.selectors import day_of

HOURS = {"max_digits": 4, "decimal_places": 1, "min_value": Decimal("0"), "max_value": Decimal("24")}


def _unique(values: list, code: str = "duplicate") -> list:
    if len(set(values)) != len(values):
        raise serializers.ValidationError("Each value may appear once.", code=code)
    return values


class AcuteMedicationInput(serializers.Serializer):
    doses = serializers.IntegerField(min_value=1, max_value=20)


# `class` is a Python keyword, so the field is declared after the class body.
AcuteMedicationInput._declared_fields = {
    "class": serializers.ChoiceField(choices=hx.MEDICATION_CLASSES),
    **AcuteMedicationInput._declared_fields,
}


class DiaryEntryInput(serializers.Serializer):
    headache = serializers.BooleanField()
    peak_pain = serializers.IntegerField(min_value=0, max_value=10, required=False, allow_null=True)
    hours = serializers.DecimalField(required=False, allow_null=True, **HOURS)
    features = serializers.ListField(
        child=serializers.ChoiceField(choices=hx.FEATURES), required=False, max_length=len(hx.FEATURES)
    )
    aura = serializers.BooleanField(required=False, default=False)
    acute_medications = AcuteMedicationInput(many=True, required=False, max_length=len(hx.MEDICATION_CLASSES))
    hours_lost = serializers.DecimalField(required=False, allow_null=True, **HOURS)

    def validate_features(self, value):
        return _unique(value)

    def validate_acute_medications(self, value):
        _unique([m["class"] for m in value], code="duplicate_class")
        return value

    def validate(self, attrs):
        errors = {}
        if attrs["headache"]:
            if attrs.get("peak_pain") is None:
                errors["peak_pain"] = [serializers.ErrorDetail("Peak pain is required on a headache day.", "required")]
        else:
            message = "Only on a headache day."
            if attrs.get("peak_pain"):
                errors["peak_pain"] = [serializers.ErrorDetail(message, "requires_headache")]
            if attrs.get("hours"):
                errors["hours"] = [serializers.ErrorDetail(message, "requires_headache")]
            if attrs.get("features"):
                errors["features"] = [serializers.ErrorDetail(message, "requires_headache")]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class AcuteMedicationOutput(serializers.Serializer):
    doses = serializers.IntegerField()


AcuteMedicationOutput._declared_fields = {
    "class": serializers.ChoiceField(choices=hx.MEDICATION_CLASSES),
    **AcuteMedicationOutput._declared_fields,
}


class DiaryEntryOutput(serializers.ModelSerializer):
    features = serializers.ListField(child=serializers.ChoiceField(choices=hx.FEATURES))
    acute_medications = AcuteMedicationOutput(many=True)
    migraine_day = serializers.SerializerMethodField()

    class Meta:
        model = HeadacheDiaryEntry
        fields = [
            "date",
            "headache",
            "peak_pain",
            "hours",
            "features",
            "aura",
            "acute_medications",
            "hours_lost",
            "migraine_day",
            "updated_at",
        ]
        read_only_fields = fields

    def get_migraine_day(self, obj) -> bool:
        return day_of(obj).migraine


class DiaryWriteOutput(DiaryEntryOutput):
    medication_overuse_review = serializers.SerializerMethodField()

    class Meta(DiaryEntryOutput.Meta):
        fields = [*DiaryEntryOutput.Meta.fields, "medication_overuse_review"]
        read_only_fields = fields

    def get_medication_overuse_review(self, obj) -> bool:
        return self.context.get("review_flag") is not None


class ClusterAttackInput(serializers.Serializer):
    started_at = serializers.DateTimeField()
    minutes = serializers.IntegerField(min_value=1, max_value=24 * 60)
    side = serializers.ChoiceField(choices=AttackSide.choices)
    autonomic_signs = serializers.ListField(
        child=serializers.ChoiceField(choices=AUTONOMIC_SIGNS), required=False, max_length=len(AUTONOMIC_SIGNS)
    )
    treatment = serializers.ListField(
        child=serializers.ChoiceField(choices=CLUSTER_TREATMENTS), required=False, max_length=len(CLUSTER_TREATMENTS)
    )
    relief = serializers.ChoiceField(choices=AttackRelief.choices, required=False, allow_null=True)

    def validate_autonomic_signs(self, value):
        return _unique(value)

    def validate_treatment(self, value):
        return _unique(value)


class ClusterAttackOutput(ReferenceIdsMixin, serializers.ModelSerializer):
    attack_id = serializers.UUIDField(source="public_id")
    autonomic_signs = serializers.ListField(child=serializers.ChoiceField(choices=AUTONOMIC_SIGNS))
    treatment = serializers.ListField(child=serializers.ChoiceField(choices=CLUSTER_TREATMENTS))

    class Meta:
        model = ClusterAttack
        fields = ["attack_id", "started_at", "minutes", "side", "autonomic_signs", "treatment", "relief"]
        read_only_fields = fields


class ReminderPreferenceInput(serializers.Serializer):
    enabled = serializers.BooleanField()
    local_time = serializers.TimeField(help_text="Wall-clock time in the patient's own zone, e.g. 20:30.")


class ReminderPreferenceOutput(serializers.Serializer):
    enabled = serializers.BooleanField()
    # Wall-clock "HH:MM" in `time_zone` (JSON Schema's "time" format would demand an offset).
    local_time = serializers.CharField(allow_null=True, help_text="HH:MM in the patient's own zone.")
    time_zone = serializers.CharField()


class ReviewFlagOutput(ReferenceIdsMixin, serializers.ModelSerializer):
    flag_id = serializers.UUIDField(source="public_id")
    patient_id = serializers.UUIDField(source="patient.public_id")

    class Meta:
        model = OutcomeReviewFlag
        fields = ["flag_id", "patient_id", "kind", "status", "window_end", "opened_at", "resolved_at"]
        read_only_fields = fields


# --- the summary --------------------------------------------------------------------------
class WindowOutput(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    days = serializers.IntegerField()
    days_logged = serializers.IntegerField()
    days_missing = serializers.IntegerField()
    headache_days = serializers.IntegerField()
    migraine_days = serializers.IntegerField()
    acute_medication_days = serializers.IntegerField()
    acute_medication_days_by_class = serializers.DictField(child=serializers.IntegerField())
    headache_days_per_28 = serializers.FloatField(allow_null=True)
    migraine_days_per_28 = serializers.FloatField(allow_null=True)
    insufficient_data = serializers.BooleanField()


def window_data(w: hx.Window | None) -> dict | None:
    if w is None:
        return None
    return {
        "start": w.start,
        "end": w.end,
        "days": w.days,
        "days_logged": w.days_logged,
        "days_missing": w.days_missing,
        "headache_days": w.headache_days,
        "migraine_days": w.migraine_days,
        "acute_medication_days": w.acute_medication_days,
        "acute_medication_days_by_class": dict(w.medication_days_by_class),
        "headache_days_per_28": w.headache_days_per_28,
        "migraine_days_per_28": w.migraine_days_per_28,
        "insufficient_data": not w.sufficient,
    }


class TreatmentStartOutput(serializers.Serializer):
    date = serializers.DateField()
    source = serializers.ChoiceField(choices=["first_signed_prescription", "first_session"])


class ChangeOutput(serializers.Serializer):
    headache_days = serializers.FloatField(allow_null=True)
    migraine_days = serializers.FloatField(allow_null=True)


class ClusterWeekOutput(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    attacks = serializers.IntegerField()


class PegOutput(serializers.Serializer):
    baseline_score = serializers.FloatField()
    latest_score = serializers.FloatField()
    latest_taken_at = serializers.DateTimeField()
    change = serializers.FloatField()


class HeadacheSummaryOutput(serializers.Serializer):
    end = serializers.DateField()
    time_zone = serializers.CharField()
    window = WindowOutput()
    days_logged = serializers.IntegerField()
    days_missing = serializers.IntegerField()
    headache_days = serializers.IntegerField()
    migraine_days = serializers.IntegerField()
    acute_medication_days = serializers.IntegerField()
    acute_medication_days_by_class = serializers.DictField(child=serializers.IntegerField())
    treatment_start = TreatmentStartOutput(allow_null=True)
    baseline = WindowOutput(allow_null=True)
    change_from_baseline_pct = ChangeOutput()
    responder_50 = serializers.ChoiceField(choices=hx.VERDICTS)
    responder_75 = serializers.ChoiceField(choices=hx.VERDICTS)
    responder_basis = serializers.ChoiceField(choices=["migraine_days", "headache_days"], allow_null=True)
    reduction_from_baseline_pct = serializers.FloatField(allow_null=True)
    chronic_migraine_pattern = serializers.BooleanField()
    medication_overuse_risk = serializers.BooleanField()
    pattern_windows = WindowOutput(many=True)
    months = WindowOutput(many=True)
    cluster_attacks_weekly = ClusterWeekOutput(many=True)
    open_review_flags = serializers.ListField(child=serializers.CharField())
    peg3 = PegOutput(allow_null=True, help_text="PEG-3 (mean of 3 items, 0-10): baseline, latest and change.")


def summary_data(s) -> dict:
    current = window_data(s.current)
    r50, r75 = s.responders[50], s.responders[75]
    return {
        "end": s.end,
        "time_zone": s.time_zone,
        "window": current,
        **{
            k: current[k]
            for k in (
                "days_logged",
                "days_missing",
                "headache_days",
                "migraine_days",
                "acute_medication_days",
                "acute_medication_days_by_class",
            )
        },
        "treatment_start": {"date": s.treatment.on, "source": s.treatment.source} if s.treatment else None,
        "baseline": window_data(s.baseline),
        "change_from_baseline_pct": {"headache_days": s.change_headache_pct, "migraine_days": s.change_migraine_pct},
        "responder_50": r50.status,
        "responder_75": r75.status,
        "responder_basis": r50.basis,
        "reduction_from_baseline_pct": r50.reduction_pct,
        "chronic_migraine_pattern": s.chronic_migraine_pattern,
        "medication_overuse_risk": s.medication_overuse_risk,
        "pattern_windows": [window_data(w) for w in s.pattern_windows],
        "months": [window_data(w) for w in s.months],
        "cluster_attacks_weekly": [{"start": a, "end": b, "attacks": n} for a, b, n in s.cluster_weeks],
        "open_review_flags": s.open_review_flags,
        "peg3": (
            {
                "baseline_score": s.peg3.baseline_score,
                "latest_score": s.peg3.latest_score,
                "latest_taken_at": s.peg3.latest_taken_at,
                "change": s.peg3.change,
            }
            if s.peg3
            else None
        ),
    }
