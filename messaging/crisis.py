"""Crisis words in a patient's message (docs/messaging.md#crisis-words).

Messages are read during business hours, so a message that may describe a crisis is answered at
once by the practice's rules with where to get help now (988, 911), and opens a same-day safety
flag that alerts the care team. The list errs on the side of answering: a false alarm costs an
automatic reply and a look by the team; a missed crisis costs far more. Matching is on whole
words and phrases, case-insensitive, with curly apostrophes straightened.
"""

from __future__ import annotations

import re

CRISIS_PHRASES = (
    # Suicide and self-harm (the Columbia scale's plain-language ideation items, and common phrasings).
    "suicide",
    "suicidal",
    "kill myself",
    "killing myself",
    "end my life",
    "ending my life",
    "take my life",
    "want to die",
    "wanna die",
    "better off dead",
    "no reason to live",
    "not worth living",
    "hurt myself",
    "hurting myself",
    "harm myself",
    "self harm",
    "self-harm",
    "cut myself",
    "overdose",
    "overdosed",
    "took too much",
    "take all my pills",
    # A medical emergency now.
    "can't breathe",
    "cannot breathe",
    "chest pain",
    "not breathing",
    "unresponsive",
    "seizure",
)

_PATTERN = re.compile(
    r"(?<![\w-])(" + "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in CRISIS_PHRASES) + r")(?![\w-])",
    re.IGNORECASE,
)

AUTOMATIC_REPLY = (
    "This is an automatic reply. If you are thinking about hurting yourself, call or text 988 "
    "(the Suicide & Crisis Lifeline) now. If you are in danger or having a medical emergency, call 911. "
    "Messages here are not for emergencies: the care team reads them during business hours. "
    "We have asked your care team to look at your message today."
)


def has_crisis_words(text: str) -> bool:
    normalized = (text or "").replace("\u2019", "'").replace("\u2018", "'")
    return bool(_PATTERN.search(normalized))
