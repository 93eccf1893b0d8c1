"""How the words of a patient's SMS reply are read (STOP, YES, NO…).

A reply counts as a keyword only when it is nothing but that keyword: case, spacing and
punctuation do not matter (``Stop.``, `` sì! ``), other words do (``OK, taken`` is no YES).
"""

from __future__ import annotations

import re

NOT_A_WORD = re.compile(r"[^\w ]+")


def reply_words(body: str) -> list[str]:
    """Its words, lower case, without punctuation: ``Sì, grazie!`` → ``["sì", "grazie"]``."""
    return NOT_A_WORD.sub(" ", body or "").lower().split()
