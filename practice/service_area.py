"""ZIP code -> state, county and time zone, offline, from the `zipcodes` package (docs/service-area.md#zip-codes).

    resolve_location("07030")               -> served, NJ, Hudson (34017), America/New_York
    resolve_location("32501-1234")          -> served, FL, Escambia (12033), America/Chicago
    resolve_location("33206")               -> county_required (blank county in the data), with FL's counties
    resolve_location("33206", "12086")      -> served, Miami-Dade

The package's county strings are normalised ("Desoto County"/"DeSoto County", "St." vs "Saint",
the old "Dade") onto our FIPS-keyed county list (seeds/data/counties.csv, the same file the data
migration loads into `County`). Everything is indexed once per process (lru_cache) and never
touches the database, so the public check costs no query.
"""

from __future__ import annotations

import csv
import re
import zoneinfo
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import zipcodes

COUNTIES_CSV = Path(__file__).resolve().parent.parent / "seeds" / "data" / "counties.csv"
SERVED_STATES = ("FL", "NJ")
EASTERN = "America/New_York"
CENTRAL = "America/Chicago"
# docs/service-area.md#time-zones: the Florida panhandle counties on Central time. Gulf is split (Port St. Joe is
# Eastern): it falls back to Eastern; the ZIP's own zone, when the data has one, wins anyway.
CENTRAL_TIME_COUNTIES = frozenset(
    {
        "12005",  # Bay
        "12013",  # Calhoun
        "12033",  # Escambia
        "12059",  # Holmes
        "12063",  # Jackson
        "12091",  # Okaloosa
        "12113",  # Santa Rosa
        "12131",  # Walton
        "12133",  # Washington
    }
)
# Old or alternative names found in ZIP data, after normalisation, -> the current county's key.
_COUNTY_ALIASES = {"dade": "miamidade"}

_ZIP_RE = re.compile(r"^(\d{5})(?:-?\d{4})?$")

INVALID_ZIP = "invalid_zip"
UNKNOWN_ZIP = "unknown_zip"
STATE_NOT_SERVED = "state_not_served"
COUNTY_REQUIRED = "county_required"
COUNTY_NOT_IN_STATE = "county_not_in_state"
REASONS = (INVALID_ZIP, UNKNOWN_ZIP, STATE_NOT_SERVED, COUNTY_REQUIRED, COUNTY_NOT_IN_STATE)


@dataclass(frozen=True)
class LocationResult:
    served: bool
    reason: str | None
    zip_code: str | None = None
    state: str | None = None
    county_fips: str | None = None
    county_name: str | None = None
    time_zone: str | None = None
    county_choices: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _ZipEntry:
    state: str
    county_fips: str | None  # None: blank or not one of ours (the patient picks)
    time_zone: str | None  # IANA, None when the data has none


def normalise_county_name(name: str) -> str:
    """'St. Johns County' / 'Saint Johns' -> 'stjohns'; 'Desoto County' / 'DeSoto' -> 'desoto'."""
    key = name.strip().lower()
    key = re.sub(r"\s+county$", "", key)
    key = re.sub(r"^saint\b", "st", key)
    key = re.sub(r"[^a-z0-9]", "", key)
    return _COUNTY_ALIASES.get(key, key)


@lru_cache(maxsize=1)
def counties() -> tuple[tuple[str, str, str], ...]:
    """(fips, name, state) for the 88 counties, sorted by state then name."""
    with COUNTIES_CSV.open(newline="", encoding="utf-8") as fh:
        rows = [(r["fips"], r["name"], r["state"]) for r in csv.DictReader(fh)]
    return tuple(sorted(rows, key=lambda r: (r[2], r[1])))


@lru_cache(maxsize=1)
def _county_by_fips() -> dict[str, tuple[str, str]]:
    return {fips: (name, state) for fips, name, state in counties()}


@lru_cache(maxsize=1)
def _county_by_name() -> dict[tuple[str, str], str]:
    return {(state, normalise_county_name(name)): fips for fips, name, state in counties()}


def county_choices(state: str) -> list[tuple[str, str]]:
    """The (fips, name) pairs a patient of `state` picks from (empty for a state we do not serve)."""
    return [(fips, name) for fips, name, st in counties() if st == state]


def county_fips_for_name(state: str, name: str) -> str | None:
    return _county_by_name().get((state, normalise_county_name(name)))


def county_time_zone(county_fips: str) -> str:
    return CENTRAL if county_fips in CENTRAL_TIME_COUNTIES else EASTERN


@lru_cache(maxsize=1)
def _valid_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


# Military mail (APO/FPO/DPO) is not an address in a state we serve: the 09xxx ZIPs are Armed
# Forces Europe/Middle East/Africa, but the `zipcodes` data labels a few of them NJ (city "Apo",
# "Dpo", "Fpo"). They answer `state_not_served` (docs/prescribing-gates.md#service-area).
ARMED_FORCES = ("AA", "AE", "AP")
ARMED_FORCES_EUROPE = "AE"
_MILITARY_CITIES = frozenset({"APO", "FPO", "DPO"})


def _is_military_mail(row: dict) -> bool:
    return (
        row.get("zip_code_type") == "MILITARY"
        or str(row.get("zip_code", "")).startswith("09")
        or (row.get("city") or "").strip().upper() in _MILITARY_CITIES
    )


@lru_cache(maxsize=1)
def _zip_index() -> dict[str, _ZipEntry]:
    """Every ZIP in the package's data. Counties are resolved only in the states we serve."""
    by_name = _county_by_name()
    zones = _valid_zones()
    index: dict[str, _ZipEntry] = {}
    for row in zipcodes.list_all():
        state = row.get("state") or ""
        if _is_military_mail(row):
            state = ARMED_FORCES_EUROPE if state not in ARMED_FORCES else state
        fips = None
        if state in SERVED_STATES and row.get("county"):
            fips = by_name.get((state, normalise_county_name(row["county"])))
        tz = row.get("timezone") or None
        if tz not in zones:  # the data holds a few blanks and one town name instead of a zone
            tz = None
        index[row["zip_code"]] = _ZipEntry(state=state, county_fips=fips, time_zone=tz)
    return index


def parse_zip(value: str) -> str | None:
    """'07030', '07030-1234' or '070301234' -> '07030'; anything else -> None."""
    match = _ZIP_RE.match((value or "").strip())
    return match.group(1) if match else None


def resolve_location(
    zip_code: str, county_fips: str | None = None, *, county_name: str | None = None
) -> LocationResult:
    """Place a ZIP (and optionally the patient's pick of county) in our service area.

    The county comes from the ZIP's data unless the patient gave one; a given county must belong
    to the ZIP's state. When the data has no usable county, the patient must pick one
    (`county_required`, with that state's `county_choices`). The time zone is the ZIP's own,
    falling back to the county's (the Florida panhandle counties are Central).
    """
    zip5 = parse_zip(zip_code)
    if zip5 is None:
        return LocationResult(served=False, reason=INVALID_ZIP)
    entry = _zip_index().get(zip5)
    if entry is None:
        return LocationResult(served=False, reason=UNKNOWN_ZIP, zip_code=zip5)
    if entry.state not in SERVED_STATES:
        return LocationResult(
            served=False, reason=STATE_NOT_SERVED, zip_code=zip5, state=entry.state or None, time_zone=entry.time_zone
        )

    state = entry.state
    chosen: str | None = None
    if county_fips or county_name:
        if county_fips:
            chosen = county_fips.strip()
        else:
            chosen = county_fips_for_name(state, county_name or "")
        known = _county_by_fips().get(chosen or "")
        if known is None or known[1] != state:
            return LocationResult(
                served=False,
                reason=COUNTY_NOT_IN_STATE,
                zip_code=zip5,
                state=state,
                time_zone=entry.time_zone,
                county_choices=county_choices(state),
            )
    else:
        chosen = entry.county_fips
    if chosen is None:
        return LocationResult(
            served=False,
            reason=COUNTY_REQUIRED,
            zip_code=zip5,
            state=state,
            time_zone=entry.time_zone,
            county_choices=county_choices(state),
        )
    return LocationResult(
        served=True,
        reason=None,
        zip_code=zip5,
        state=state,
        county_fips=chosen,
        county_name=_county_by_fips()[chosen][0],
        time_zone=entry.time_zone or county_time_zone(chosen),
    )


def zips_by_county() -> dict[str, set[str]]:
    """County FIPS -> the ZIPs whose data names it (for coverage checks and seeding)."""
    result: dict[str, set[str]] = {}
    for zip5, entry in _zip_index().items():
        if entry.county_fips:
            result.setdefault(entry.county_fips, set()).add(zip5)
    return result
