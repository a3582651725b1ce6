"""The one answer to "may physician P consult, or prescribe Schedule III, for a patient in state S on day D?"

docs/credentials.md. Scheduling and prescriptions call `physician_authorization`; nothing else re-derives the rule.

- Consult: an active licence in the patient's state, valid on the day. Florida also accepts an
  out-of-state physician's Florida telehealth registration (F.S. 456.47(4)); New Jersey requires
  a New Jersey licence.
- Prescribe (Schedule III, ketamine): the consult rule, plus an active DEA registration for that
  state covering Schedule III (III or IIIN), and in New Jersey an active CDS registration.
- Dates: a credential is valid from its issue date through its expiry date inclusive, and invalid
  from the day after ("expires 2027-01-31" means it may be used all of 31 January). The dates are
  checked here whatever the status says, so a credential the nightly expiry task has not yet
  marked expired is refused anyway.
- A DEA number that failed its checksum (`needs_verification`) cannot be used to prescribe until
  staff verify it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import BooleanField, Exists, QuerySet, Value

from accounts.models import Role, User
from api.prepared import PreparedRead
from practice.models import (
    CredentialStatus,
    DEARegistration,
    LicenceKind,
    NJCDSRegistration,
    ServiceState,
    StateLicense,
)

CONSULT = "consult"
PRESCRIBE = "prescribe"
ACTIONS = (CONSULT, PRESCRIBE)

# Which licence kinds count in which state.
ACCEPTED_LICENCE_KINDS: dict[str, frozenset[str]] = {
    ServiceState.FLORIDA: frozenset({LicenceKind.FULL_LICENCE, LicenceKind.FL_TELEHEALTH_REGISTRATION}),
    ServiceState.NEW_JERSEY: frozenset({LicenceKind.FULL_LICENCE}),
}
SCHEDULE_III = frozenset({"III", "IIIN"})

MESSAGES = {
    "state_not_served": "The practice does not serve this state.",
    "physician_inactive": "This account is not an active physician.",
    "no_licence": "The physician holds no licence for this state.",
    "licence_expired": "The physician's licence for this state has expired.",
    "licence_inactive": "The physician's licence for this state is not active.",
    "licence_not_yet_valid": "The physician's licence for this state is not valid yet.",
    "telehealth_registration_not_accepted": "A Florida telehealth registration does not cover this state.",
    "dea_missing": "The physician has no DEA registration for this state.",
    "dea_expired": "The physician's DEA registration for this state has expired.",
    "dea_inactive": "The physician's DEA registration for this state is not active.",
    "dea_schedule_not_covered": "The physician's DEA registration does not cover Schedule III.",
    "dea_needs_verification": "The physician's DEA number is awaiting manual verification.",
    "cds_missing": "The physician has no New Jersey CDS registration.",
    "cds_expired": "The physician's New Jersey CDS registration has expired.",
    "cds_inactive": "The physician's New Jersey CDS registration is not active.",
}


@dataclass(frozen=True)
class Reason:
    code: str
    message: str

    @classmethod
    def of(cls, code: str) -> Reason:
        return cls(code=code, message=MESSAGES[code])


@dataclass(frozen=True)
class Authorization:
    allowed: bool
    reasons: list[Reason] = field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    def as_dicts(self) -> list[dict[str, str]]:
        """The shape of `api.errors.Refused(reasons=...)`."""
        return [{"code": r.code, "message": r.message} for r in self.reasons]


def _expired(credential, on: dt.date) -> bool:
    return credential.status == CredentialStatus.EXPIRED or credential.expires_on < on


def _not_yet_valid(credential, on: dt.date) -> bool:
    return credential.issued_on is not None and credential.issued_on > on


def _licence_reason(licences: list[StateLicense], state: str, on: dt.date) -> str | None:
    accepted = [lic for lic in licences if lic.kind in ACCEPTED_LICENCE_KINDS[state]]
    if any(lic.is_valid_on(on) for lic in accepted):
        return None
    if not accepted:
        return "telehealth_registration_not_accepted" if licences else "no_licence"
    # Report the most telling failure: an expiry is what staff can fix by renewing.
    if any(_expired(lic, on) for lic in accepted):
        return "licence_expired"
    if any(lic.status == CredentialStatus.ACTIVE and _not_yet_valid(lic, on) for lic in accepted):
        return "licence_not_yet_valid"
    return "licence_inactive"


def _dea_reasons(registrations: list[DEARegistration], on: dt.date) -> list[str]:
    if not registrations:
        return ["dea_missing"]
    usable = [r for r in registrations if r.is_valid_on(on)]
    if not usable:
        return ["dea_expired" if any(_expired(r, on) for r in registrations) else "dea_inactive"]
    if any(r.covers_schedule_iii() and not r.needs_verification for r in usable):
        return []
    reasons = []
    if not any(r.covers_schedule_iii() for r in usable):
        reasons.append("dea_schedule_not_covered")
    if all(r.needs_verification for r in usable):
        reasons.append("dea_needs_verification")
    return reasons


def _cds_reason(registrations: list[NJCDSRegistration], on: dt.date) -> str | None:
    if not registrations:
        return "cds_missing"
    if any(r.is_valid_on(on) for r in registrations):
        return None
    return "cds_expired" if any(_expired(r, on) for r in registrations) else "cds_inactive"


@dataclass(frozen=True)
class Credentials:
    """What `physician_authorization` reads about one physician for one state: the state's
    licences, and for prescribing its DEA registrations and (New Jersey) the CDS registrations.
    A caller that needs them too (the prescription's snapshot takes the DEA number) loads them
    once with `credentials_for` and passes them in."""

    licences: list[StateLicense]
    dea: list[DEARegistration] = field(default_factory=list)
    cds: list[NJCDSRegistration] = field(default_factory=list)


# The rows judged on every booking and prescription: their statements compiled once (api/prepared.py).
def _in_state(model) -> PreparedRead:
    """A physician's rows of `model` for one state, as model instances."""
    return PreparedRead(
        model,
        None,
        lambda physician_id, state: model.objects.filter(physician_id=physician_id, state=state),
        params=("physician_id", "state"),
        types={"state": str},
    )


_LICENCES = _in_state(StateLicense)
_DEA = _in_state(DEARegistration)
_CDS = PreparedRead(
    NJCDSRegistration,
    None,
    lambda physician_id: NJCDSRegistration.objects.filter(physician_id=physician_id),
    params=("physician_id",),
)


def consulting_licences(state: str) -> QuerySet[StateLicense]:
    """The licences that let their holder consult in `state`, whatever the dates: an active
    licence of a kind the state accepts, held by an active physician. With a date, the consult
    rule in SQL (what `consult_licence_exists` and `selectors.consult_windows` read)."""
    return StateLicense.objects.filter(
        state=state,
        kind__in=ACCEPTED_LICENCE_KINDS.get(state, ()),
        status=CredentialStatus.ACTIVE,
        physician__role=Role.PHYSICIAN,
        physician__is_active=True,
    )


def consult_licence_exists(*, physician_id, state: str, on) -> Exists | Value:
    """True when `physician_authorization(action="consult")` allows the physician in `state` on
    `on`, as an expression of a caller's own query: a booking's limits read judges the licence
    in the same statement. `physician_id` and `on` are values or expressions (OuterRef). It only
    says yes or no: a caller refused asks `physician_authorization` for the reasons.
    tests/practice/test_consult_licence_exists.py holds the two to the same answers."""
    if state not in ACCEPTED_LICENCE_KINDS:
        return Value(False, output_field=BooleanField())
    return Exists(consulting_licences(state).filter(physician_id=physician_id, issued_on__lte=on, expires_on__gte=on))


def credentials_for(*, physician: User, state: str, action: str) -> Credentials:
    """The rows `physician_authorization` judges (one query per kind it needs)."""
    licences = _LICENCES.rows(physician_id=physician.pk, state=state).slice(0, None)
    if action != PRESCRIBE:
        return Credentials(licences=licences)
    dea = _DEA.rows(physician_id=physician.pk, state=state).slice(0, None)
    cds = _CDS.rows(physician_id=physician.pk).slice(0, None) if state == ServiceState.NEW_JERSEY else []
    return Credentials(licences=licences, dea=dea, cds=cds)


def physician_authorization(
    *, physician: User, state: str, on: dt.date, action: str, credentials: Credentials | None = None
) -> Authorization:
    """May `physician` consult (action "consult") or prescribe Schedule III ("prescribe") for a
    patient located in `state` on the day `on`? Every failing rule is listed in `reasons`.
    `credentials`: the rows of `credentials_for` for this physician, state and action, when the
    caller already holds them (default: read here)."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}, not {action!r}")
    if state not in ACCEPTED_LICENCE_KINDS:
        return Authorization(allowed=False, reasons=[Reason.of("state_not_served")])
    if physician.role != Role.PHYSICIAN or not physician.is_active:
        return Authorization(allowed=False, reasons=[Reason.of("physician_inactive")])

    if credentials is None:
        credentials = credentials_for(physician=physician, state=state, action=action)
    codes: list[str] = []
    licence = _licence_reason(credentials.licences, state, on)
    if licence:
        codes.append(licence)
    if action == PRESCRIBE:
        codes += _dea_reasons(credentials.dea, on)
        if state == ServiceState.NEW_JERSEY:
            cds = _cds_reason(credentials.cds, on)
            if cds:
                codes.append(cds)
    return Authorization(allowed=not codes, reasons=[Reason.of(c) for c in codes])
