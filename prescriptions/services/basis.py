"""The prescribing basis: may this physician prescribe a controlled substance to this patient by
telemedicine on this date, and on what lawful ground? docs/prescribing-basis.md.

One place answers it, for signing, for every later fill, and for the readiness worklist. The
grounds, in the order they are preferred when several hold (the most durable first, so a
signature made while the flexibilities are still in force already names the ground that will
outlast them):

1. `in_person_evaluation`: the prescriber has conducted at least one in-person medical
   evaluation of the patient (21 U.S.C. 829(e)(2)(A)(i)). The law sets no repeat interval;
   the policy's `in_person_evaluation_valid_days` may (default: none). A referring doctor's
   exam does not count, so only this prescriber's evaluations are read.
2. `practitioner_present`: during a recent video visit by this prescriber the patient was with a
   practitioner DEA-registered in the patient's state (21 U.S.C. 802(54)(B)), within
   `practitioner_present_valid_days` of the visit.
3. `special_registration`: a DEA special registration for telemedicine (proposed 90 FR 6541);
   only when a policy row turns it on and the prescriber holds one.
4. `telemedicine_flexibility`: the DEA's temporary telemedicine flexibilities are in force on
   the date (the policy row's `telemedicine_flexibility_ends_on`, 31 Dec 2026 under 90 FR 61301;
   a later extension is a new policy row, no deploy).

None holding is refused with `in_person_evaluation_required`: the one step the practice can take.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from accounts.models import User
from api.clock import practice_zone
from practice.models import PhysicianProfile
from prescriptions.models import PrescribingBasis, PrescribingPolicy
from scheduling.selectors import in_person_evaluations_for, practitioner_present_visits_for

MISSING_CODE = "in_person_evaluation_required"
MISSING_MESSAGE = (
    "No lawful basis to prescribe by telemedicine on this date: an in-person evaluation by you is "
    "required (or a visit with a DEA-registered practitioner present)."
)


@dataclass(frozen=True)
class BasisDecision:
    """`basis` is the ground relied on (None when none holds); `evidence` is what the signed
    prescription's snapshot keeps about it; `codes` the refusal codes."""

    basis: str | None
    evidence: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.basis is not None

    @property
    def codes(self) -> list[str]:
        return [] if self.ok else [MISSING_CODE]


def flexibility_in_force(policy: PrescribingPolicy, on: date) -> bool:
    return not policy.require_in_person_after_flex_end or on <= policy.telemedicine_flexibility_ends_on


@dataclass
class Evidence:
    """What the basis rules read about one (patient, prescriber) pair: loaded for one pair by
    `evidence_for`, or for many at once by `evidence_for_pairs` (the readiness worklist), and
    judged by the same `decide`."""

    evaluations: list = field(default_factory=list)  # standing InPersonEvaluations, newest first
    presence_visits: list = field(default_factory=list)  # practitioner-present video visits, newest first
    special_registration: str = ""


def _in_person(evidence: Evidence, on: date, policy: PrescribingPolicy) -> BasisDecision | None:
    since = None
    if policy.in_person_evaluation_valid_days is not None:
        since = on - timedelta(days=policy.in_person_evaluation_valid_days)
    for found in evidence.evaluations:
        if found.evaluated_on <= on and (since is None or found.evaluated_on >= since):
            return BasisDecision(
                PrescribingBasis.IN_PERSON_EVALUATION,
                {
                    "in_person_evaluation_id": str(found.public_id),
                    "evaluated_on": found.evaluated_on.isoformat(),
                    "place_address": found.place_address,
                    "place_state": found.place_state,
                    "home_visit": found.home_visit,
                    "others_present": found.others_present,
                },
            )
    return None


def _presence_bounds(on: date, policy: PrescribingPolicy) -> tuple[datetime, datetime]:
    zone = practice_zone()
    until = datetime.combine(on + timedelta(days=1), time.min, zone)
    since = datetime.combine(on - timedelta(days=policy.practitioner_present_valid_days), time.min, zone)
    return since, until


def _practitioner_present(
    evidence: Evidence, state: str | None, on: date, policy: PrescribingPolicy
) -> BasisDecision | None:
    if not policy.practitioner_present_allowed or state is None:
        return None
    since, until = _presence_bounds(on, policy)
    for visit in evidence.presence_visits:
        presence = visit.practitioner_presence
        if (
            since <= visit.completed_at < until
            and visit.patient_state_at_visit == state
            and presence.practitioner_state == state
        ):
            return BasisDecision(
                PrescribingBasis.PRACTITIONER_PRESENT,
                {
                    "appointment_id": str(visit.public_id),
                    "visit_completed_at": visit.completed_at.isoformat(),
                    "patient_state_at_visit": visit.patient_state_at_visit,
                    "practitioner_name": presence.practitioner_name,
                    "practitioner_npi": presence.practitioner_npi,
                    "practitioner_dea_number": presence.practitioner_dea_number,
                    "practitioner_state": presence.practitioner_state,
                },
            )
    return None


def decide(*, evidence: Evidence, state: str | None, on: date, policy: PrescribingPolicy) -> BasisDecision:
    """The rules, on loaded evidence (no queries): the most durable ground that holds on `on`."""
    for decision in (_in_person(evidence, on, policy), _practitioner_present(evidence, state, on, policy)):
        if decision is not None:
            return decision
    if policy.special_registration_enabled and evidence.special_registration:
        return BasisDecision(
            PrescribingBasis.SPECIAL_REGISTRATION, {"special_registration": evidence.special_registration}
        )
    if flexibility_in_force(policy, on):
        return BasisDecision(
            PrescribingBasis.TELEMEDICINE_FLEXIBILITY,
            {"flexibility_ends_on": policy.telemedicine_flexibility_ends_on.isoformat()},
        )
    return BasisDecision(None)


def evidence_for_pairs(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Evidence]:
    """Evidence for many (patient id, physician id) pairs in three queries."""
    pairs = set(pairs)
    result = {pair: Evidence() for pair in pairs}
    patient_ids = {p for p, _ in pairs}
    physician_ids = {d for _, d in pairs}
    for row in in_person_evaluations_for(patient_ids=patient_ids, physician_ids=physician_ids):
        if (row.patient_id, row.physician_id) in result:
            result[(row.patient_id, row.physician_id)].evaluations.append(row)
    for visit in practitioner_present_visits_for(patient_ids=patient_ids, physician_ids=physician_ids):
        if (visit.patient_id, visit.physician_id) in result:
            result[(visit.patient_id, visit.physician_id)].presence_visits.append(visit)
    numbers = dict(
        PhysicianProfile.objects.filter(user_id__in=physician_ids)
        .exclude(telemedicine_special_registration="")
        .values_list("user_id", "telemedicine_special_registration")
    )
    for (_patient, physician_id), evidence in result.items():
        evidence.special_registration = numbers.get(physician_id, "")
    return result


def evidence_for(*, patient: User, physician: User, special_registration: str | None = None) -> Evidence:
    """Evidence for one (patient, prescriber) pair. `special_registration`: the prescriber's
    number when the caller already read their profile (signing does): then two queries, not three."""
    if special_registration is None:
        return evidence_for_pairs([(patient.pk, physician.pk)])[(patient.pk, physician.pk)]
    return Evidence(
        evaluations=list(in_person_evaluations_for(patient_ids=[patient.pk], physician_ids=[physician.pk])),
        presence_visits=list(practitioner_present_visits_for(patient_ids=[patient.pk], physician_ids=[physician.pk])),
        special_registration=special_registration,
    )


def prescribing_basis(
    *, patient: User, physician: User, state: str | None, on: date, policy: PrescribingPolicy
) -> BasisDecision:
    """The ground this physician may rely on to prescribe to this patient on `on` (a date in the
    practice's time zone), with `policy` the row in force that day."""
    return decide(evidence=evidence_for(patient=patient, physician=physician), state=state, on=on, policy=policy)
