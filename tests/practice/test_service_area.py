"""The service area: the 88 counties of docs/service-area.md#counties, ZIP lookups, and the public check."""

import pytest

from practice.models import County
from practice.service_area import counties, resolve_location, zips_by_county

pytestmark = pytest.mark.django_db

# Copied from the Census list (docs/service-area.md#counties), not derived from the CSV under test.
FL_COUNTIES = {
    "12001": "Alachua",
    "12003": "Baker",
    "12005": "Bay",
    "12007": "Bradford",
    "12009": "Brevard",
    "12011": "Broward",
    "12013": "Calhoun",
    "12015": "Charlotte",
    "12017": "Citrus",
    "12019": "Clay",
    "12021": "Collier",
    "12023": "Columbia",
    "12027": "DeSoto",
    "12029": "Dixie",
    "12031": "Duval",
    "12033": "Escambia",
    "12035": "Flagler",
    "12037": "Franklin",
    "12039": "Gadsden",
    "12041": "Gilchrist",
    "12043": "Glades",
    "12045": "Gulf",
    "12047": "Hamilton",
    "12049": "Hardee",
    "12051": "Hendry",
    "12053": "Hernando",
    "12055": "Highlands",
    "12057": "Hillsborough",
    "12059": "Holmes",
    "12061": "Indian River",
    "12063": "Jackson",
    "12065": "Jefferson",
    "12067": "Lafayette",
    "12069": "Lake",
    "12071": "Lee",
    "12073": "Leon",
    "12075": "Levy",
    "12077": "Liberty",
    "12079": "Madison",
    "12081": "Manatee",
    "12083": "Marion",
    "12085": "Martin",
    "12086": "Miami-Dade",
    "12087": "Monroe",
    "12089": "Nassau",
    "12091": "Okaloosa",
    "12093": "Okeechobee",
    "12095": "Orange",
    "12097": "Osceola",
    "12099": "Palm Beach",
    "12101": "Pasco",
    "12103": "Pinellas",
    "12105": "Polk",
    "12107": "Putnam",
    "12109": "St. Johns",
    "12111": "St. Lucie",
    "12113": "Santa Rosa",
    "12115": "Sarasota",
    "12117": "Seminole",
    "12119": "Sumter",
    "12121": "Suwannee",
    "12123": "Taylor",
    "12125": "Union",
    "12127": "Volusia",
    "12129": "Wakulla",
    "12131": "Walton",
    "12133": "Washington",
}
NJ_COUNTIES = {
    "34001": "Atlantic",
    "34003": "Bergen",
    "34005": "Burlington",
    "34007": "Camden",
    "34009": "Cape May",
    "34011": "Cumberland",
    "34013": "Essex",
    "34015": "Gloucester",
    "34017": "Hudson",
    "34019": "Hunterdon",
    "34021": "Mercer",
    "34023": "Middlesex",
    "34025": "Monmouth",
    "34027": "Morris",
    "34029": "Ocean",
    "34031": "Passaic",
    "34033": "Salem",
    "34035": "Somerset",
    "34037": "Sussex",
    "34039": "Union",
    "34041": "Warren",
}


def test_all_88_counties_are_loaded_with_exact_names_and_fips():
    stored = {c.fips: (c.name, c.state) for c in County.objects.all()}
    expected = {fips: (name, "FL") for fips, name in FL_COUNTIES.items()}
    expected |= {fips: (name, "NJ") for fips, name in NJ_COUNTIES.items()}
    assert len(FL_COUNTIES) == 67 and len(NJ_COUNTIES) == 21
    assert stored == expected


def test_miami_dade_is_12086_and_the_retired_dade_code_is_absent():
    assert County.objects.get(fips="12086").name == "Miami-Dade"
    assert not County.objects.filter(fips="12025").exists()


def test_union_county_exists_in_both_states_under_different_fips():
    assert set(County.objects.filter(name="Union").values_list("fips", "state")) == {("12125", "FL"), ("34039", "NJ")}


def test_the_lookup_index_uses_the_same_county_list_as_the_database():
    assert {(f, n, s) for f, n, s in counties()} == set(County.objects.values_list("fips", "name", "state"))


def test_every_county_is_reachable_from_at_least_one_zip():
    reachable = zips_by_county()
    missing = sorted((set(FL_COUNTIES) | set(NJ_COUNTIES)) - set(reachable))
    assert missing == []
    for fips in list(FL_COUNTIES) + list(NJ_COUNTIES):
        zip_code = sorted(reachable[fips])[0]
        result = resolve_location(zip_code)
        assert result.served and result.county_fips == fips, zip_code


@pytest.mark.parametrize(
    ("zip_code", "state", "fips", "name", "zone"),
    [
        ("07030", "NJ", "34017", "Hudson", "America/New_York"),  # leading zero
        ("08401", "NJ", "34001", "Atlantic", "America/New_York"),
        ("07083", "NJ", "34039", "Union", "America/New_York"),
        ("33130", "FL", "12086", "Miami-Dade", "America/New_York"),
        ("32501", "FL", "12033", "Escambia", "America/Chicago"),  # Pensacola: Central time
        ("32401", "FL", "12005", "Bay", "America/Chicago"),  # Panama City
        ("32301", "FL", "12073", "Leon", "America/New_York"),  # Tallahassee: Eastern
        ("32084", "FL", "12109", "St. Johns", "America/New_York"),  # "St. Johns County" in the data
        ("34266", "FL", "12027", "DeSoto", "America/New_York"),
    ],
)
def test_sample_zips_map_to_state_county_and_time_zone(zip_code, state, fips, name, zone):
    result = resolve_location(zip_code)
    assert (result.served, result.reason) == (True, None)
    assert (result.zip_code, result.state, result.county_fips, result.county_name, result.time_zone) == (
        zip_code,
        state,
        fips,
        name,
        zone,
    )


def test_zip_plus_four_is_accepted_with_or_without_the_dash():
    assert resolve_location("07030-1234").county_fips == "34017"
    assert resolve_location("070301234").zip_code == "07030"
    assert resolve_location(" 32501 ").time_zone == "America/Chicago"


def test_zip_outside_florida_and_new_jersey_is_not_served():
    result = resolve_location("10001")
    assert (result.served, result.reason, result.state) == (False, "state_not_served", "NY")
    assert result.county_fips is None and result.county_choices == []


@pytest.mark.parametrize("zip_code", ["09905", "09980", "09984", "09001", "09060"])
def test_military_mail_zips_are_not_served_even_when_the_data_says_nj(zip_code):
    # APO/DPO 09xxx ZIPs are Armed Forces Europe; the data labels 09905 and 0998x as NJ.
    result = resolve_location(zip_code)
    assert (result.served, result.reason, result.state) == (False, "state_not_served", "AE")
    assert resolve_location(zip_code, "34013").reason == "state_not_served"  # a picked NJ county changes nothing


def test_military_mail_zips_are_refused_by_the_assessment_and_the_check(anon_client):
    body = anon_client.get("/api/v1/service-area/check/", {"zip": "09905"}).json()
    assert (body["served"], body["reason"]) == (False, "state_not_served")
    created = anon_client.post(
        "/api/v1/assessments/",
        {
            "zip_code": "09980",
            "date_of_birth": "1980-01-01",
            "conditions": ["depression"],
            "treatments_tried": [],
            "contraindications": [],
            "medications": [],
        },
        format="json",
    ).json()
    assert created["outcome"] == "not_eligible"
    assert [r["code"] for r in created["reasons"]] == ["state_not_served"]


def test_new_jersey_zips_next_to_the_military_range_stay_served():
    assert resolve_location("08901").state == "NJ" and resolve_location("08901").served
    assert resolve_location("07001").served


@pytest.mark.parametrize("zip_code", ["00000", "99999"])
def test_unknown_zip(zip_code):
    result = resolve_location(zip_code)
    assert (result.served, result.reason, result.zip_code) == (False, "unknown_zip", zip_code)


@pytest.mark.parametrize("bad", ["", "3250", "325011", "3250A", "abcde", "32501-12", "32501 1234x", None])
def test_malformed_zip_is_invalid(bad):
    result = resolve_location(bad)
    assert (result.served, result.reason, result.zip_code) == (False, "invalid_zip", None)


def test_blank_county_zip_asks_the_patient_to_pick_from_the_state_list():
    result = resolve_location("33206")  # a Miami ZIP whose county is blank in the data
    assert (result.served, result.reason, result.state) == (False, "county_required", "FL")
    assert len(result.county_choices) == 67
    assert ("12086", "Miami-Dade") in result.county_choices
    picked = resolve_location("33206", "12086")
    assert (picked.served, picked.county_fips, picked.county_name) == (True, "12086", "Miami-Dade")
    assert picked.time_zone == "America/New_York"


def test_picked_county_must_belong_to_the_zip_state():
    result = resolve_location("33206", "34039")  # NJ's Union for a Florida ZIP
    assert (result.served, result.reason) == (False, "county_not_in_state")
    assert len(result.county_choices) == 67
    assert resolve_location("07030", "12125").reason == "county_not_in_state"
    assert resolve_location("07030", "12025").reason == "county_not_in_state"  # retired Dade code


def test_patient_pick_overrides_the_zip_primary_county_within_the_state():
    # ZIPs straddling a county line carry only one county; the patient's pick in the state wins.
    result = resolve_location("07030", "34003")
    assert (result.served, result.county_name) == (True, "Bergen")


@pytest.mark.parametrize(
    ("name", "fips"),
    [
        ("Desoto", "12027"),
        ("DeSoto County", "12027"),
        ("Saint Johns", "12109"),
        ("st johns county", "12109"),
        ("Dade", "12086"),
        ("MIAMI-DADE", "12086"),
    ],
)
def test_county_names_are_normalised(name, fips):
    state_zip = "33206"
    assert resolve_location(state_zip, county_name=name).county_fips == fips


def test_time_zone_falls_back_to_the_county_when_the_zip_has_none(monkeypatch):
    from practice import service_area

    index = dict(service_area._zip_index())
    index["32501"] = service_area._ZipEntry(state="FL", county_fips="12033", time_zone=None)
    monkeypatch.setattr(service_area, "_zip_index", lambda: index)
    assert resolve_location("32501").time_zone == "America/Chicago"
    assert resolve_location("32501", "12073").time_zone == "America/New_York"  # Leon


# --- API -------------------------------------------------------------------------------------


def test_check_endpoint_answers_served(anon_client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = anon_client.get("/api/v1/service-area/check/", {"zip": "07030"})
    assert response.status_code == 200
    assert response.json() == {
        "served": True,
        "reason": None,
        "zip_code": "07030",
        "state": "NJ",
        "county_fips": "34017",
        "county_name": "Hudson",
        "time_zone": "America/New_York",
        "county_choices": [],
    }


def test_check_endpoint_answers_not_served_with_reason(anon_client):
    body = anon_client.get("/api/v1/service-area/check/", {"zip": "10001"}).json()
    assert (body["served"], body["reason"], body["state"]) == (False, "state_not_served", "NY")
    body = anon_client.get("/api/v1/service-area/check/", {"zip": "99999"}).json()
    assert body["reason"] == "unknown_zip"


def test_check_endpoint_county_required_then_picked_by_fips_or_name(anon_client):
    body = anon_client.get("/api/v1/service-area/check/", {"zip": "33206"}).json()
    assert body["reason"] == "county_required"
    assert {"fips": "12086", "name": "Miami-Dade"} in body["county_choices"]
    body = anon_client.get("/api/v1/service-area/check/", {"zip": "33206", "county": "12086"}).json()
    assert (body["served"], body["county_name"]) == (True, "Miami-Dade")
    body = anon_client.get("/api/v1/service-area/check/", {"zip": "33206", "county": "Dade County"}).json()
    assert (body["served"], body["county_fips"]) == (True, "12086")
    body = anon_client.get("/api/v1/service-area/check/", {"zip": "33206", "county": "Bergen"}).json()
    assert body["reason"] == "county_not_in_state"


@pytest.mark.parametrize("bad", ["3250A", "3250", "abcde", "325011"])
def test_check_endpoint_rejects_malformed_zip_with_400(anon_client, bad):
    response = anon_client.get("/api/v1/service-area/check/", {"zip": bad})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["fields"]["zip"][0]["code"] == "invalid_zip"


def test_check_endpoint_requires_zip(anon_client):
    response = anon_client.get("/api/v1/service-area/check/")
    assert response.status_code == 400
    assert response.json()["fields"]["zip"][0]["code"] == "required"


def test_check_endpoint_is_throttled_as_a_public_form(anon_client, settings):
    from django.core.cache import cache
    from rest_framework.throttling import ScopedRateThrottle

    cache.clear()
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "public_form": "2/min"}
    original = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = rates
    try:
        codes = [anon_client.get("/api/v1/service-area/check/", {"zip": "07030"}).status_code for _ in range(3)]
    finally:
        ScopedRateThrottle.THROTTLE_RATES = original
        cache.clear()
    assert codes == [200, 200, 429]


def test_county_list_by_state(anon_client, django_assert_num_queries):
    with django_assert_num_queries(2):  # count + page
        response = anon_client.get("/api/v1/service-area/counties/", {"state": "NJ"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 21
    assert body["results"][0] == {"fips": "34001", "name": "Atlantic", "state": "NJ"}
    all_counties = anon_client.get("/api/v1/service-area/counties/").json()
    assert all_counties["count"] == 88


def test_county_list_rejects_unknown_state(anon_client):
    response = anon_client.get("/api/v1/service-area/counties/", {"state": "NY"})
    assert response.status_code == 400
    assert response.json()["fields"]["state"][0]["code"] == "invalid_choice"


def test_split_gulf_county_takes_the_zone_from_the_zip():
    assert (resolve_location("32465").county_fips, resolve_location("32465").time_zone) == ("12045", "America/Chicago")
    assert (resolve_location("32456").county_fips, resolve_location("32456").time_zone) == ("12045", "America/New_York")


def test_every_panhandle_central_county_resolves_to_central_time():
    from practice.service_area import CENTRAL_TIME_COUNTIES

    reachable = zips_by_county()
    for fips in CENTRAL_TIME_COUNTIES:
        zones = {resolve_location(z).time_zone for z in reachable[fips]}
        assert zones == {"America/Chicago"}, fips
