import pytest

from practice.identifiers import dea_checksum_ok, dea_format_ok, npi_is_valid
from tests.practice.factories import valid_dea, valid_npi


@pytest.mark.parametrize("npi", ["1234567893", "1558598797", valid_npi(7), valid_npi(12345)])
def test_valid_npis(npi):
    assert npi_is_valid(npi)


@pytest.mark.parametrize("npi", ["1234567890", "3234567893", "123456789", "12345678931", "12345678a3", "", None])
def test_invalid_npis(npi):
    assert not npi_is_valid(npi)


@pytest.mark.parametrize("dea", ["AP5836727", "BB1388568", "F91234563", valid_dea(42)])
def test_dea_checksum_accepts_domain_examples(dea):
    assert dea_format_ok(dea) and dea_checksum_ok(dea)


def test_dea_checksum_failure_is_distinct_from_a_bad_format():
    assert dea_format_ok("AP5836728") and not dea_checksum_ok("AP5836728")
    for bad in ["A15836727", "AP583672", "1P5836727", "ap5836727", "AP58367270"]:
        assert not dea_format_ok(bad)
