"""The prescribing-readiness worklist: who on active treatment could be prescribed by
telemedicine on a given date, and why not (docs/prescribing-basis.md#readiness).

"Active treatment" is a signed, unexpired prescription (as of today) or an open refill request.
Each (patient, prescriber) pair is judged by `prescriptions.services.basis.decide` on the date
asked, with the policy row in force that date, so the worklist and the signing gate cannot
disagree. Evidence for every pair is read in a constant number of queries.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Q
from django.utils import timezone

from accounts import scopes
from accounts.models import User
from accounts.scopes import Capability
from api.clock import practice_date
from prescriptions.models import PrescribingPolicy, Prescription, PrescriptionStatus, RefillStatus
from prescriptions.policy import policy_on
from prescriptions.services.basis import decide, evidence_for_pairs, flexibility_in_force
from scheduling.selectors import upcoming_in_person_visits_for


@dataclass(frozen=True)
class ReadinessRow:
    prescription: Prescription
    patient_public_id: str
    patient_name: str
    state: str
    physician_public_id: str
    physician_name: str
    ready: bool
    basis: str | None
    reasons: list[str]
    next_in_person_visit: object  # datetime | None


@dataclass
class Worklist:
    on: date
    policy: PrescribingPolicy
    rows: list[ReadinessRow] = field(default_factory=list)

    def counts(self) -> dict:
        """Totals, and per physician and per state (no patient information)."""
        by_physician: dict[str, Counter] = {}
        names: dict[str, str] = {}
        by_state: dict[str, Counter] = {}
        for row in self.rows:
            key = "ready" if row.ready else "not_ready"
            by_physician.setdefault(row.physician_public_id, Counter())[key] += 1
            names[row.physician_public_id] = row.physician_name
            by_state.setdefault(row.state or "unknown", Counter())[key] += 1

        def shape(counter: Counter) -> dict:
            return {
                "total": counter["ready"] + counter["not_ready"],
                "ready": counter["ready"],
                "not_ready": counter["not_ready"],
            }

        return {
            "totals": shape(sum((c for c in by_physician.values()), Counter())),
            "by_physician": [
                {"physician_id": pid, "physician_name": names[pid], **shape(c)}
                for pid, c in sorted(by_physician.items(), key=lambda item: names[item[0]])
            ],
            "by_state": [{"state": state, **shape(c)} for state, c in sorted(by_state.items())],
        }


def active_treatment_prescriptions(*, viewer: User | None, today: date):
    """Signed prescriptions of patients on active treatment, newest first, scoped to the viewer by
    the capability table (docs/roles-and-access.md): care coordinators and the medical director
    see every patient, a physician their caseload, anyone else nobody; the system (viewer None)
    sees everyone."""
    active = Q(status=PrescriptionStatus.SIGNED, expires_on__gte=today) | Q(
        refill_requests__status=RefillStatus.OPEN, status=PrescriptionStatus.SIGNED
    )
    rows = Prescription.objects.filter(active).distinct()
    if viewer is not None:
        scope = scopes.patient_q(viewer, Capability.PRESCRIBING_READINESS, patient="patient")
        rows = rows.filter(scope) if scope is not None else rows.none()
    return rows.select_related("patient", "patient__patient_profile", "physician").order_by("-signed_at", "-id")


def readiness_worklist(*, viewer: User | None, on: date, today: date | None = None) -> Worklist:
    """Every patient on active treatment (today) with whether they can be prescribed on `on`."""
    today = today or practice_date()
    policy = policy_on(on)
    prescriptions = list(active_treatment_prescriptions(viewer=viewer, today=today))
    # One row per (patient, prescriber): the newest active prescription stands for the pair.
    seen: set[tuple[int, int]] = set()
    pairs: list[Prescription] = []
    for rx in prescriptions:
        key = (rx.patient_id, rx.physician_id)
        if key not in seen:
            seen.add(key)
            pairs.append(rx)
    evidence = evidence_for_pairs(seen)
    visits = upcoming_in_person_visits_for(pairs=seen, now=timezone.now())
    worklist = Worklist(on=on, policy=policy)
    for rx in pairs:
        profile = getattr(rx.patient, "patient_profile", None)
        state = (profile.state if profile else "") or rx.patient_state
        decision = decide(
            evidence=evidence[(rx.patient_id, rx.physician_id)], state=state or None, on=on, policy=policy
        )
        name = (
            f"{profile.legal_first_name} {profile.legal_last_name}".strip()
            if profile is not None
            else rx.patient.full_name
        )
        worklist.rows.append(
            ReadinessRow(
                prescription=rx,
                patient_public_id=str(rx.patient.public_id),
                patient_name=name,
                state=state,
                physician_public_id=str(rx.physician.public_id),
                physician_name=rx.physician.full_name,
                ready=decision.ok,
                basis=decision.basis,
                reasons=decision.codes,
                next_in_person_visit=visits.get((rx.patient_id, rx.physician_id)),
            )
        )
    worklist.rows.sort(key=lambda r: (r.ready, r.next_in_person_visit is not None, r.physician_name, r.patient_name))
    return worklist


def next_policy_switch(*, after: date, horizon_days: int = 3 * 366) -> date | None:
    """The first date after `after` on which telemedicine prescribing without another basis
    stops being allowed (the day after the flexibilities end under the policy in force then),
    or None within the horizon. Candidates are the policy rows' own dates, so a late extension
    (a new row) moves the switch with no deploy."""
    rows = list(PrescribingPolicy.objects.all())
    candidates = sorted(
        {r.telemedicine_flexibility_ends_on + timedelta(days=1) for r in rows} | {r.effective_from for r in rows}
    )
    if not rows:
        default = policy_on(after)
        candidates = [default.telemedicine_flexibility_ends_on + timedelta(days=1)]
    for day in candidates:
        if day <= after or day > after + timedelta(days=horizon_days):
            continue
        before = day - timedelta(days=1)
        if flexibility_in_force(policy_on(before), before) and not flexibility_in_force(policy_on(day), day):
            return day
    return None
