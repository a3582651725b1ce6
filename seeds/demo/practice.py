"""Demo physicians with fake, checksum-valid credentials (never real NPIs or DEA numbers in use).

dr.florida: Florida only, in Pensacola on Central time; dr.jersey: New Jersey only, with CDS;
dr.both: both states; dr.expiring: Florida licence expiring within 30 days (the expiry watch warns).
"""

from __future__ import annotations

import datetime as dt

from accounts.models import Role, User
from practice.identifiers import dea_check_digit, npi_check_digit
from practice.models import DEARegistration, NJCDSRegistration, PhysicianProfile, StateLicense
from practice.services import credentials
from practice.services.expiry import practice_today
from seeds.demo.accounts import demo_user

ALL_SCHEDULES = ["II", "IIN", "III", "IIIN", "IV", "V"]


def _npi(first_nine: str) -> str:
    return first_nine + npi_check_digit(first_nine)


def _dea(first_eight: str) -> str:
    return first_eight + dea_check_digit(first_eight)


# email, first, last, NPI (first nine digits), profile, [(state, kind, number, expires in days)], DEA states, CDS
PHYSICIANS = [
    (
        "dr.florida@demo.practice.example",
        "Elena",
        "Florez",
        "190000001",
        {
            "time_zone": "America/Chicago",
            "office_address_line1": "100 Palafox Place",
            "office_city": "Pensacola",
            "office_state": "FL",
            "office_zip_code": "32502",
        },
        [("FL", "full_licence", "ME900001", 700)],
        {"FL": "BF900001"},
        None,
    ),
    (
        "dr.jersey@demo.practice.example",
        "Jordan",
        "Jensen",
        "190000002",
        {
            "office_address_line1": "1 River Street",
            "office_city": "Hoboken",
            "office_state": "NJ",
            "office_zip_code": "07030",
        },
        [("NJ", "full_licence", "25MA90000200", 640)],
        {"NJ": "BJ900002"},
        "D90000002",
    ),
    (
        "dr.both@demo.practice.example",
        "Bianca",
        "Bothwell",
        "190000003",
        {
            "office_address_line1": "200 Biscayne Boulevard",
            "office_city": "Miami",
            "office_state": "FL",
            "office_zip_code": "33131",
            "new_patient_cap": 60,
        },
        [("FL", "full_licence", "ME900003", 500), ("NJ", "full_licence", "25MA90000300", 520)],
        {"FL": "BB900003", "NJ": "FB900003"},
        "D90000003",
    ),
    (
        "dr.expiring@demo.practice.example",
        "Ethan",
        "Expiry",
        "190000004",
        {"office_city": "Orlando", "office_state": "FL", "office_zip_code": "32801"},
        [("FL", "full_licence", "ME900004", 21)],
        {"FL": "BE900004"},
        None,
    ),
]


def run(stdout) -> None:
    today = practice_today()
    actor = User.objects.filter(role=Role.ADMIN).order_by("pk").first()
    for email, first, last, npi9, profile, licences, deas, cds in PHYSICIANS:
        physician = demo_user(email, Role.PHYSICIAN, first, last)
        if not PhysicianProfile.objects.filter(user=physician).exists():
            credentials.physician_profile_create(actor=actor, physician=physician, npi=_npi(npi9), **profile)
        for state, kind, number, days in licences:
            if not StateLicense.objects.filter(state=state, kind=kind, number=number).exists():
                credentials.state_licence_create(
                    actor=actor,
                    physician=physician,
                    state=state,
                    number=number,
                    kind=kind,
                    issued_on=today - dt.timedelta(days=730),
                    expires_on=today + dt.timedelta(days=days),
                )
        for state, first_eight in deas.items():
            if not DEARegistration.objects.filter(physician=physician, state=state).exists():
                credentials.dea_registration_create(
                    actor=actor,
                    physician=physician,
                    state=state,
                    number=_dea(first_eight),
                    schedules=ALL_SCHEDULES,
                    issued_on=today - dt.timedelta(days=365),
                    expires_on=today + dt.timedelta(days=800),
                )
        if cds and not NJCDSRegistration.objects.filter(physician=physician).exists():
            credentials.cds_registration_create(
                actor=actor,
                physician=physician,
                number=cds,
                issued_on=today - dt.timedelta(days=300),
                expires_on=today + dt.timedelta(days=430),
            )
    stdout.write(f"  {len(PHYSICIANS)} physicians with licences, DEA and CDS registrations")
