"""Server-side scoring of the standard instruments (docs/safety.md#instruments). Pure: no database, no settings.

    score("phq9", [1, 2, 0, 1, 1, 0, 0, 1, 0])  -> Score(total=6, band="mild", ...)

Every answer must be present and in range: a partial or out-of-range questionnaire is rejected
as a whole (`AnswersInvalid`, a 400 whose `fields.answers` lists `wrong_item_count` or
`answer_out_of_range` with the 1-based item number). The bands are the instruments' published
cut-offs, not practice policy; response and remission (policy) live in patients/policy.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.errors import DomainError

PHQ9 = "phq9"
GAD7 = "gad7"
PCL5 = "pcl5"
MIDAS = "midas"
PEG3 = "peg3"

# PHQ-9 item 9: "Thoughts that you would be better off dead, or of hurting yourself".
PHQ9_SELF_HARM_ITEM = 9


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    item_count: int
    item_min: int
    item_max: int
    # (lowest total, band code), ascending; a total belongs to the last band whose floor it reaches.
    bands: tuple[tuple[int, str], ...]
    # "sum": the score is the total; "mean": the score is the total divided by the item count
    # (PEG-3). `total` is always the integer sum, so it stores exactly.
    aggregate: str = "sum"

    @property
    def max_total(self) -> int:
        return self.item_count * self.item_max

    def score_of(self, total: int) -> float:
        """The instrument's published score for an integer total (PEG-3: the mean, 2 decimals)."""
        return round(total / self.item_count, 2) if self.aggregate == "mean" else float(total)


INSTRUMENTS: dict[str, Instrument] = {
    PHQ9: Instrument(
        PHQ9,
        "PHQ-9",
        9,
        0,
        3,
        ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "moderately_severe"), (20, "severe")),
    ),
    GAD7: Instrument(GAD7, "GAD-7", 7, 0, 3, ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe"))),
    # PCL-5: a total of 33 or more suggests provisional PTSD (National Center for PTSD).
    PCL5: Instrument(PCL5, "PCL-5", 20, 0, 4, ((0, "below_threshold"), (33, "provisional_ptsd"))),
    # MIDAS: five day-counts over the last 3 months (0-90 each); grades I-IV.
    MIDAS: Instrument(MIDAS, "MIDAS", 5, 0, 90, ((0, "grade_i"), (6, "grade_ii"), (11, "grade_iii"), (21, "grade_iv"))),
    # PEG-3 (Krebs et al. 2009): pain on average, interference with enjoyment of life, with general
    # activity, each 0-10; score = mean. It publishes no severity bands (docs/outcomes.md#peg-3).
    PEG3: Instrument(PEG3, "PEG-3", 3, 0, 10, ((0, "unbanded"),), aggregate="mean"),
}

INSTRUMENT_CHOICES = [(i.code, i.name) for i in INSTRUMENTS.values()]


@dataclass(frozen=True)
class Score:
    instrument: str
    total: int
    band: str
    answers: tuple[int, ...]


class AnswersInvalid(DomainError):
    code = "validation_error"
    default_message = "Some fields are invalid."


def band_for(instrument: str, total: int) -> str:
    band = INSTRUMENTS[instrument].bands[0][1]
    for floor, code in INSTRUMENTS[instrument].bands:
        if total >= floor:
            band = code
    return band


def answer_errors(instrument: str, answers: object) -> list[dict]:
    """Every problem with `answers` as [{code, message, item?}]; empty when they can be scored."""
    spec = INSTRUMENTS.get(instrument)
    if spec is None:
        return [{"code": "unknown_instrument", "message": f"Unknown instrument {instrument!r}."}]
    if not isinstance(answers, (list, tuple)):
        return [{"code": "not_a_list", "message": "Answers must be a list of numbers, one per item."}]
    if len(answers) != spec.item_count:
        return [
            {
                "code": "wrong_item_count",
                "message": f"{spec.name} has {spec.item_count} items; {len(answers)} answered.",
            }
        ]
    problems = []
    for position, value in enumerate(answers, start=1):
        # bool is an int in Python; "true" is not an answer.
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(
                {"code": "not_an_integer", "message": f"Item {position} must be a whole number.", "item": position}
            )
        elif not spec.item_min <= value <= spec.item_max:
            problems.append(
                {
                    "code": "answer_out_of_range",
                    "message": f"Item {position} must be between {spec.item_min} and {spec.item_max}.",
                    "item": position,
                }
            )
    return problems


def score(instrument: str, answers: object, *, field: str = "answers") -> Score:
    """Score a complete questionnaire, or raise AnswersInvalid listing every problem under `field`."""
    problems = answer_errors(instrument, answers)
    if problems:
        raise AnswersInvalid(fields={field: problems})
    values = tuple(int(v) for v in answers)  # type: ignore[union-attr]
    total = sum(values)
    return Score(instrument=instrument, total=total, band=band_for(instrument, total), answers=values)
