"""Model rows -> FHIR R4B resources (plain dicts), each validated by `fhir.resources`.

One builder per resource type; builders only read the row and what is loaded with it
(`select_related` by the selectors), and never decide who may see it (interop/selectors.py).
Codes and systems: interop/codes.py; the mapping and its deviations from US Core: docs/fhir.md.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from interop import codes
from patients.scoring import INSTRUMENTS

_STATE_BOARD = {"FL": "Florida Board of Medicine", "NJ": "New Jersey State Board of Medical Examiners"}


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource, checked against the R4B model of its type (raises pydantic's ValidationError)."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource


def _instant(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _coding(system: str, code: str, display: str | None = None) -> dict:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def _concept(system: str, code: str, display: str | None = None, text: str | None = None) -> dict:
    concept: dict[str, Any] = {"coding": [_coding(system, code, display)]}
    if text or display:
        concept["text"] = text or display
    return concept


def _ref(resource_type: str, public_id, display: str | None = None) -> dict:
    return {"reference": f"{resource_type}/{public_id}", **({"display": display} if display else {})}


def _meta(profile: str | None) -> dict:
    return {"profile": [profile]} if profile else {}


def _clean(value: Any) -> Any:
    """Drop empty strings, None, empty lists and dicts, recursively (FHIR forbids empty elements)."""
    if isinstance(value, dict):
        cleaned = {k: _clean(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        cleaned = [_clean(v) for v in value]
        return [v for v in cleaned if v not in (None, "", [], {})]
    return value


def _resource(data: dict) -> dict:
    return validated(_clean(data))


def _person_name(family: str, given: str, use: str = "official") -> dict:
    return {"use": use, "family": family, "given": [g for g in given.split() if g], "text": f"{given} {family}".strip()}


# --- Patient ------------------------------------------------------------------------------------
def patient(user, profile=None) -> dict:
    """US Core Patient; `gender` is `unknown` because the practice does not collect it (a documented
    deviation: US Core requires it)."""
    data: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(user.public_id),
        "meta": _meta(codes.PROFILE["Patient"]),
        "identifier": [{"system": codes.LOCAL_PATIENT_ID, "value": str(user.public_id)}],
        "active": user.is_active,
        "gender": "unknown",
        "telecom": [{"system": "email", "value": user.email, "use": "home"}],
    }
    if profile is None:
        data["name"] = [_person_name(user.last_name, user.first_name, use="usual")]
        return _resource(data)
    data["name"] = [_person_name(profile.legal_last_name, profile.legal_first_name)]
    data["birthDate"] = profile.date_of_birth.isoformat()
    if profile.phone:
        data["telecom"].insert(0, {"system": "phone", "value": str(profile.phone), "use": "mobile"})
    data["address"] = [
        {
            "use": "home",
            "type": "physical",
            "line": [profile.address_line1, profile.address_line2],
            "city": profile.city,
            "district": profile.county.name if profile.county_id else None,
            "state": profile.state,
            "postalCode": profile.zip_code,
            "country": "US",
        }
    ]
    contacts = []
    if profile.emergency_contact_name:
        contacts.append(
            {
                "relationship": [
                    {"coding": [_coding(codes.V2_RELATIONSHIP, "C", "Emergency Contact")]},
                    {"text": profile.emergency_contact_relationship},
                ],
                "name": {"text": profile.emergency_contact_name},
                "telecom": [{"system": "phone", "value": str(profile.emergency_contact_phone)}],
            }
        )
    if profile.monitor_name:
        contacts.append(
            {
                "relationship": [{"text": "Treatment monitor"}, {"text": profile.monitor_relationship}],
                "name": {"text": profile.monitor_name},
                "telecom": [{"system": "phone", "value": str(profile.monitor_phone)}],
            }
        )
    data["contact"] = contacts
    if profile.assigned_physician_id:
        physician = profile.assigned_physician
        data["generalPractitioner"] = [_ref("Practitioner", physician.public_id, physician.full_name)]
    return _resource(data)


# --- Practitioner -------------------------------------------------------------------------------
def practitioner(user, profile=None, licences=(), deas=(), cds=()) -> dict:
    """US Core Practitioner: NPI and DEA numbers as identifiers, state licences (and NJ CDS
    registrations) as qualifications."""
    return _resource(
        {
            "resourceType": "Practitioner",
            "id": str(user.public_id),
            "meta": _meta(codes.PROFILE["Practitioner"]),
            "identifier": _practitioner_identifiers(profile, deas),
            "active": user.is_active,
            "name": [_person_name(user.last_name, user.first_name)],
            "address": _practitioner_address(profile),
            "qualification": _practitioner_qualifications(licences, cds),
        }
    )


def _practitioner_identifiers(profile, deas) -> list[dict]:
    identifiers = []
    if profile is not None:
        identifiers.append(
            {
                "use": "official",
                "type": _concept(codes.V2_IDENTIFIER_TYPE, "NPI", "National provider identifier"),
                "system": codes.NPI,
                "value": profile.npi,
            }
        )
    for dea in deas:
        identifiers.append(
            {
                "use": "official",
                "type": _concept(
                    codes.V2_IDENTIFIER_TYPE, "DEA", "Drug Enforcement Administration registration number"
                ),
                "system": codes.DEA,
                "value": dea.number,
                "period": {
                    "start": dea.issued_on.isoformat() if dea.issued_on else None,
                    "end": dea.expires_on.isoformat(),
                },
            }
        )
    return identifiers


def _practitioner_qualifications(licences, cds) -> list[dict]:
    qualifications = [
        {
            "identifier": [{"system": f"{codes.LOCAL_LICENCE}/{lic.state}", "value": lic.number}],
            "code": _concept(
                codes.LOCAL_CREDENTIAL, lic.kind, lic.get_kind_display(), f"{lic.get_kind_display()} ({lic.state})"
            ),
            "period": {"start": lic.issued_on.isoformat(), "end": lic.expires_on.isoformat()},
            "issuer": {"display": _STATE_BOARD.get(lic.state, lic.state)},
        }
        for lic in licences
    ]
    qualifications += [
        {
            "identifier": [{"system": codes.LOCAL_NJ_CDS, "value": reg.number}],
            "code": _concept(codes.LOCAL_CREDENTIAL, "nj_cds", "New Jersey CDS registration"),
            "period": {
                "start": reg.issued_on.isoformat() if reg.issued_on else None,
                "end": reg.expires_on.isoformat(),
            },
            "issuer": {"display": "New Jersey Division of Consumer Affairs"},
        }
        for reg in cds
    ]
    return qualifications


def _practitioner_address(profile) -> list[dict]:
    if profile is None or not profile.office_address_line1:
        return []
    return [
        {
            "use": "work",
            "line": [profile.office_address_line1, profile.office_address_line2],
            "city": profile.office_city,
            "state": profile.office_state,
            "postalCode": profile.office_zip_code,
            "country": "US",
        }
    ]


# --- Appointment and Encounter ------------------------------------------------------------------
_APPOINTMENT_STATUS = {
    "booked": "booked",
    "in_progress": "checked-in",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "no_show": "noshow",
}


def _visit_type(appointment) -> dict:
    kind = appointment.appointment_type
    return _concept(codes.LOCAL_VISIT_TYPE, kind.code, kind.name)


def _location_display(appointment) -> str | None:
    if appointment.location_id is None:
        return None
    return f"{appointment.location.name}: {appointment.location.address_text}"


def appointment(appt) -> dict:
    virtual = appt.modality == "audio_video"
    return _resource(
        {
            "resourceType": "Appointment",
            "id": str(appt.public_id),
            "status": _APPOINTMENT_STATUS[appt.status],
            "appointmentType": _visit_type(appt),
            "serviceType": [{"text": "Telehealth (audio and video)" if virtual else "In person"}],
            "start": _instant(appt.starts_at),
            "end": _instant(appt.ends_at),
            "minutesDuration": int((appt.ends_at - appt.starts_at).total_seconds() // 60),
            "created": _instant(appt.created_at),
            "participant": [
                {
                    "actor": _ref("Patient", appt.patient.public_id, appt.patient.full_name),
                    "required": "required",
                    "status": "accepted",
                },
                {
                    "actor": _ref("Practitioner", appt.physician.public_id, appt.physician.full_name),
                    "required": "required",
                    "status": "accepted",
                },
            ]
            + (
                [{"actor": {"display": _location_display(appt)}, "required": "required", "status": "accepted"}]
                if appt.location_id
                else []
            ),
        }
    )


def encounter(appt) -> dict:
    """A completed visit. Class: VR (virtual) for video visits, AMB (ambulatory) in person."""
    virtual = appt.modality == "audio_video"
    klass = _coding(codes.V3_ACT_CODE, "VR", "virtual") if virtual else _coding(codes.V3_ACT_CODE, "AMB", "ambulatory")
    return _resource(
        {
            "resourceType": "Encounter",
            "id": str(appt.public_id),
            "meta": _meta(codes.PROFILE["Encounter"]),
            "identifier": [{"system": f"{codes.LOCAL_BASE}/sid/visit", "value": str(appt.public_id)}],
            "status": "finished",
            "class": klass,
            "type": [_visit_type(appt)],
            "subject": _ref("Patient", appt.patient.public_id, appt.patient.full_name),
            "participant": [
                {
                    "type": [
                        _concept(
                            "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "PPRF", "primary performer"
                        )
                    ],
                    "individual": _ref("Practitioner", appt.physician.public_id, appt.physician.full_name),
                }
            ],
            "appointment": [_ref("Appointment", appt.public_id)],
            "period": {"start": _instant(appt.started_at or appt.starts_at), "end": _instant(appt.completed_at)},
            "location": [{"location": {"display": _location_display(appt)}}] if appt.location_id else [],
        }
    )


# --- Medications --------------------------------------------------------------------------------
_UCUM_UNITS = {"mg": "mg", "mg/mL": "mg/mL"}


def medication(product, contained_id: str = "med") -> dict:
    """The compounded product as a contained Medication: no RxNorm concept exists for a
    compounded product, so the code is text and the ingredient carries RxNorm (ketamine, 6130)."""
    strength = Decimal(product.strength).normalize()
    per_unit = {"value": 1, "unit": product.dispensing_unit}
    if product.strength_unit == "mg/mL":
        numerator = {"value": float(strength), "unit": "mg", "system": codes.UCUM, "code": "mg"}
        per_unit = {"value": 1, "unit": "mL", "system": codes.UCUM, "code": "mL"}
    else:
        numerator = {"value": float(strength), "unit": "mg", "system": codes.UCUM, "code": "mg"}
    return _clean(
        {
            "resourceType": "Medication",
            "id": contained_id,
            "code": {
                "text": f"{product.name} {product.strength_text} {product.get_dosage_form_display()} (compounded)"
            },
            "form": {"text": product.get_dosage_form_display()},
            "ingredient": [
                {
                    "itemCodeableConcept": _concept(codes.RXNORM, codes.KETAMINE_RXNORM, "ketamine"),
                    "isActive": True,
                    "strength": {"numerator": numerator, "denominator": per_unit},
                }
            ],
        }
    )


def medication_request_status(rx, today: date) -> str:
    if rx.status == "superseded":
        return "stopped"
    if rx.status == "cancelled":
        return "cancelled"
    return "active" if rx.expires_on is None or rx.expires_on >= today else "completed"


def medication_request(rx, *, today: date) -> dict:
    product = rx.product
    quantity = {"value": rx.quantity, "unit": product.dispensing_unit}
    data: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": str(rx.public_id),
        "meta": _meta(codes.PROFILE["MedicationRequest"]),
        "contained": [medication(product)],
        "identifier": [{"system": f"{codes.LOCAL_BASE}/sid/prescription", "value": str(rx.public_id)}],
        "status": medication_request_status(rx, today),
        "intent": "order",
        "category": [
            _concept("http://terminology.hl7.org/CodeSystem/medicationrequest-category", "community", "Community")
        ],
        "reportedBoolean": False,
        "medicationReference": {"reference": "#med", "display": f"{product.name} {product.strength_text}"},
        "subject": _ref("Patient", rx.patient.public_id, rx.patient.full_name),
        "authoredOn": _instant(rx.signed_at),
        "requester": _ref("Practitioner", rx.physician.public_id, rx.physician.full_name),
        "dosageInstruction": [
            {
                "text": rx.directions,
                "route": {"text": product.get_route_display()},
                "doseAndRate": [{"doseQuantity": {"value": rx.units_per_session, "unit": product.dispensing_unit}}],
            }
        ],
        "dispenseRequest": {
            "validityPeriod": {"start": rx.signed_at.date().isoformat(), "end": rx.expires_on.isoformat()},
            "numberOfRepeatsAllowed": rx.refills,
            "quantity": quantity,
            "expectedSupplyDuration": {
                "value": rx.days_supply,
                "unit": "days",
                "system": codes.UCUM,
                "code": "d",
            },
            "performer": {"display": rx.pharmacy.name},
        },
        "substitution": {"allowedBoolean": False},
    }
    if rx.first_fill_quantity:
        data["dispenseRequest"]["initialFill"] = {
            "quantity": {"value": rx.first_fill_quantity, "unit": product.dispensing_unit}
        }
    if rx.supersedes_id:
        data["priorPrescription"] = _ref("MedicationRequest", rx.supersedes.public_id)
    return _resource(data)


_DISPENSE_STATUS = {
    "created": "preparation",
    "sent_to_pharmacy": "preparation",
    "compounding": "preparation",
    "shipped": "in-progress",
    "in_transit": "in-progress",
    "out_for_delivery": "in-progress",
    "exception": "in-progress",
    "delivered": "completed",
    "on_hold": "on-hold",
    "returned": "stopped",
    "cancelled": "cancelled",
}


def medication_dispense(order) -> dict:
    rx = order.prescription
    product = rx.product
    first = order.sequence == 1
    which = "first fill" if first else f"refill {order.sequence - 1}"
    notes = [f"Fill {order.sequence} ({which}); delivery {order.get_status_display().lower()}."]
    if order.tracking_number:
        notes.append(
            f"Shipped by {order.carrier or 'carrier'}, tracking {order.tracking_number}; adult signature required."
        )
    return _resource(
        {
            "resourceType": "MedicationDispense",
            "id": str(order.public_id),
            "contained": [medication(product)],
            "status": _DISPENSE_STATUS[order.status],
            "medicationReference": {"reference": "#med", "display": f"{product.name} {product.strength_text}"},
            "subject": _ref("Patient", order.patient.public_id, order.patient.full_name),
            "performer": [{"actor": {"display": order.pharmacy.name}}],
            "authorizingPrescription": [_ref("MedicationRequest", rx.public_id)],
            "type": _concept(codes.V3_PHARMACY_SUPPLY, "FF" if first else "RF", "First Fill" if first else "Refill"),
            "quantity": {"value": order.quantity, "unit": product.dispensing_unit},
            "daysSupply": {"value": rx.days_supply, "unit": "days", "system": codes.UCUM, "code": "d"},
            "whenPrepared": _instant(order.shipped_at),
            "whenHandedOver": _instant(order.delivered_at),
            "receiver": [_ref("Patient", order.patient.public_id)],
            "note": [{"text": text} for text in notes],
            "dosageInstruction": [{"text": rx.directions}],
        }
    )


# --- Questionnaires and observations ------------------------------------------------------------
def questionnaire_response(response) -> dict:
    instrument = INSTRUMENTS[response.instrument]
    return _resource(
        {
            "resourceType": "QuestionnaireResponse",
            "id": str(response.public_id),
            "meta": _meta(codes.PROFILE["QuestionnaireResponse"]),
            "identifier": {
                "system": f"{codes.LOCAL_BASE}/sid/questionnaire-response",
                "value": str(response.public_id),
            },
            "questionnaire": f"{codes.LOCAL_QUESTIONNAIRE}/{response.instrument}",
            "status": "completed",
            "subject": _ref("Patient", response.patient.public_id, response.patient.full_name),
            "authored": _instant(response.taken_at),
            "author": _ref("Patient", response.patient.public_id),
            "source": _ref("Patient", response.patient.public_id),
            "item": [
                {"linkId": str(n), "text": f"{instrument.name} item {n}", "answer": [{"valueInteger": int(value)}]}
                for n, value in enumerate(response.answers, start=1)
            ],
        }
    )


def _survey_category() -> list[dict]:
    return [_concept(codes.OBSERVATION_CATEGORY, "survey", "Survey")]


def score_observation(response) -> dict:
    """The total (PEG-3: the mean) of one questionnaire, with its band as interpretation text."""
    instrument = INSTRUMENTS[response.instrument]
    code = codes.INSTRUMENT_CODES[response.instrument]
    score = instrument.score_of(response.total)
    value = (
        {"valueQuantity": {"value": score, "unit": "{score}", "system": codes.UCUM, "code": "{score}"}}
        if instrument.aggregate == "mean"
        else {"valueInteger": int(response.total)}
    )
    return _resource(
        {
            "resourceType": "Observation",
            "id": str(response.public_id),
            "meta": _meta(codes.PROFILE["survey"]),
            "status": "final",
            "category": _survey_category(),
            "code": _concept(code.system, code.code, code.display, f"{instrument.name} total score"),
            "subject": _ref("Patient", response.patient.public_id, response.patient.full_name),
            "effectiveDateTime": _instant(response.taken_at),
            "issued": _instant(response.taken_at),
            "performer": [_ref("Patient", response.patient.public_id)],
            **value,
            "interpretation": [{"text": response.band.replace("_", " ")}],
            "derivedFrom": [_ref("QuestionnaireResponse", response.public_id)],
        }
    )


def _mmhg(value: int) -> dict:
    return {"value": int(value), "unit": "mmHg", "system": codes.UCUM, "code": "mm[Hg]"}


def blood_pressure(reading) -> dict:
    return _resource(
        {
            "resourceType": "Observation",
            "id": str(reading.public_id),
            "meta": _meta(codes.PROFILE["blood-pressure"]),
            "status": "final",
            "category": [_concept(codes.OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")],
            "code": _concept(codes.LOINC, *codes.BLOOD_PRESSURE_PANEL, text="Blood pressure"),
            "subject": _ref("Patient", reading.patient.public_id, reading.patient.full_name),
            "effectiveDateTime": _instant(reading.measured_at),
            "performer": [_ref("Patient", reading.patient.public_id)],
            "note": [{"text": "Seated home reading before an at-home session."}]
            if reading.pre_session_check_id
            else [],
            "component": [
                {"code": _concept(codes.LOINC, *codes.SYSTOLIC), "valueQuantity": _mmhg(reading.systolic)},
                {"code": _concept(codes.LOINC, *codes.DIASTOLIC), "valueQuantity": _mmhg(reading.diastolic)},
            ],
        }
    )


@dataclass(frozen=True)
class HeadacheMonth:
    """The diary's headache days of one calendar month (local dates in the patient's zone)."""

    patient: Any
    month: date  # the first day
    headache_days: int
    logged_days: int

    @property
    def pk(self) -> str:
        return self.resource_id

    @property
    def patient_id(self) -> int:
        return self.patient.pk

    @property
    def resource_id(self) -> str:
        return f"headache-days-{self.month:%Y-%m}-{self.patient.public_id}"

    @property
    def last_day(self) -> date:
        return self.month.replace(day=calendar.monthrange(self.month.year, self.month.month)[1])


def headache_days(month: HeadacheMonth) -> dict:
    system, code, display = codes.HEADACHE_DAYS
    return _resource(
        {
            "resourceType": "Observation",
            "id": month.resource_id,
            "status": "final",
            "category": _survey_category(),
            "code": _concept(system, code, display),
            "subject": _ref("Patient", month.patient.public_id, month.patient.full_name),
            "effectivePeriod": {"start": month.month.isoformat(), "end": month.last_day.isoformat()},
            "valueQuantity": {"value": month.headache_days, "unit": "days", "system": codes.UCUM, "code": "d"},
            "note": [{"text": f"{month.logged_days} of {month.last_day.day} days logged in the headache diary."}],
        }
    )


# --- Consent and Flag ---------------------------------------------------------------------------
def consent(signature) -> dict:
    document = signature.document
    privacy = signature.document_kind == "privacy_notice"
    return _resource(
        {
            "resourceType": "Consent",
            "id": str(signature.public_id),
            "status": "active",
            "scope": _concept(
                codes.CONSENT_SCOPE,
                "patient-privacy" if privacy else "treatment",
                "Privacy Consent" if privacy else "Treatment",
            ),
            "category": [_concept(codes.LOINC, codes.CONSENT_CATEGORY_LOINC, "Patient Consent")],
            "patient": _ref("Patient", signature.patient.public_id, signature.patient.full_name),
            "dateTime": _instant(signature.signed_at),
            "performer": [_ref("Patient", signature.patient.public_id)],
            "policy": [
                {
                    "uri": f"{codes.LOCAL_CONSENT_DOCUMENT}/{signature.document_kind}/v{signature.document_version}",
                }
            ],
            "sourceAttachment": {
                "contentType": "text/plain",
                "title": f"{document.title} (version {signature.document_version}, SHA-256 {signature.body_sha256})",
            },
        }
    )


def flag(safety_flag) -> dict:
    return _resource(
        {
            "resourceType": "Flag",
            "id": str(safety_flag.public_id),
            "status": "active" if safety_flag.status == "open" else "inactive",
            "category": [_concept(codes.FLAG_CATEGORY, "safety", "Safety")],
            "code": _concept(codes.LOCAL_SAFETY_FLAG, safety_flag.kind, safety_flag.get_kind_display()),
            "subject": _ref("Patient", safety_flag.patient.public_id, safety_flag.patient.full_name),
            "period": {"start": _instant(safety_flag.opened_at), "end": _instant(safety_flag.resolved_at)},
        }
    )
