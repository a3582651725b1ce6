"""Scoring is pure: every band boundary of every instrument, and the rejection codes."""

import pytest

from patients.scoring import AnswersInvalid, band_for, score


def _answers(total: int, items: int, item_max: int) -> list[int]:
    """Spread `total` over `items` answers without exceeding `item_max`."""
    values = []
    for _ in range(items):
        take = min(item_max, total)
        values.append(take)
        total -= take
    assert total == 0
    return values


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_band_boundaries(total, band):
    result = score("phq9", _answers(total, 9, 3))
    assert (result.total, result.band) == (total, band)


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_band_boundaries(total, band):
    result = score("gad7", _answers(total, 7, 3))
    assert (result.total, result.band) == (total, band)


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "below_threshold"), (32, "below_threshold"), (33, "provisional_ptsd"), (80, "provisional_ptsd")],
)
def test_pcl5_provisional_ptsd_at_33(total, band):
    result = score("pcl5", _answers(total, 20, 4))
    assert (result.total, result.band) == (total, band)


@pytest.mark.parametrize(
    ("total", "grade"),
    [
        (0, "grade_i"),
        (5, "grade_i"),
        (6, "grade_ii"),
        (10, "grade_ii"),
        (11, "grade_iii"),
        (20, "grade_iii"),
        (21, "grade_iv"),
        (450, "grade_iv"),
    ],
)
def test_midas_grade_boundaries(total, grade):
    result = score("midas", _answers(total, 5, 90))
    assert (result.total, result.band) == (total, grade)


def test_phq9_with_eight_answers_is_rejected_with_wrong_item_count():
    with pytest.raises(AnswersInvalid) as exc:
        score("phq9", [0] * 8)
    assert exc.value.code == "validation_error"
    assert [e["code"] for e in exc.value.fields["answers"]] == ["wrong_item_count"]


def test_an_answer_of_4_on_phq9_is_out_of_range_and_names_the_item():
    with pytest.raises(AnswersInvalid) as exc:
        score("phq9", [0, 0, 4, 0, 0, 0, 0, 0, -1])
    problems = exc.value.fields["answers"]
    assert [(p["code"], p["item"]) for p in problems] == [("answer_out_of_range", 3), ("answer_out_of_range", 9)]


def test_midas_day_count_above_90_is_out_of_range():
    with pytest.raises(AnswersInvalid) as exc:
        score("midas", [91, 0, 0, 0, 0])
    assert exc.value.fields["answers"][0]["code"] == "answer_out_of_range"


def test_booleans_and_strings_are_not_answers():
    with pytest.raises(AnswersInvalid) as exc:
        score("gad7", [True, "1", 0, 0, 0, 0, 0])
    assert [p["code"] for p in exc.value.fields["answers"]] == ["not_an_integer", "not_an_integer"]


@pytest.mark.django_db
def test_item9_positive_only_on_phq9_item_9():
    from patients.policy import self_harm_positive

    assert self_harm_positive(score("phq9", [0] * 8 + [1]))
    assert not self_harm_positive(score("phq9", [3] * 8 + [0]))
    assert not self_harm_positive(score("gad7", [0] * 6 + [3]))


def test_band_for_unknown_total_above_max_stays_in_top_band():
    assert band_for("phq9", 27) == "severe"
