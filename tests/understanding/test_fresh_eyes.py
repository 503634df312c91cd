"""Held-out sets written by a fresh-eyes tester (qa-chat branch), the way applicants type on WhatsApp: SMS
abbreviations, typos, address words, greetings, English mixed in, out-of-scope chatter. None is copied into the data
files' example phrasings or the labelled set.

- phrasings_fresh.tsv (240): written first; 89.2 % on main, then the vocabulary was widened on its misses.
- phrasings_fresh_2.tsv (65): written after those fixes; 87.7 % on main, 89.2 % at first scoring, then used too.
- phrasings_fresh_3.tsv (72): written last, scored once (97.2 %, one in-scope message answered with another
  capability: "sambungkan ke admin dong"); only that one was fixed afterwards. Its figure is the honest one.

Run with `-s` for the tables. The validation split of the labelled set stays the matcher's honest figure too.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from handlers.freetext import read
from handlers.understanding import Intent, Verdict, shipped
from tests.understanding.labelled import TRAIN, VALIDATION, examples, score

HERE = Path(__file__).parent
# file: (accuracy floor, in-scope messages answered, not asked about, with another capability at most)
FRESH = {"phrasings_fresh.tsv": (0.95, 1), "phrasings_fresh_2.tsv": (0.93, 0), "phrasings_fresh_3.tsv": (0.95, 0)}


def test_the_fresh_sets_are_not_in_the_data_or_the_labelled_set() -> None:
    fresh = [e.text.casefold() for name in FRESH for e in examples(HERE / name)]
    labelled = {e.text.casefold() for e in examples(TRAIN) + examples(VALIDATION)}
    data = shipped()
    phrasings = {text.casefold() for lang in data.languages for p in lang.intents.values() for text in p.examples}
    phrasings |= {question.casefold() for entry in data.faq.entries.values() for text in entry.texts.values()
                  for question in text.questions}
    assert len(fresh) >= 150 and len(set(fresh)) == len(fresh)
    assert not set(fresh) & labelled and not set(fresh) & phrasings


@pytest.mark.parametrize("name", FRESH)
def test_fresh_messages_are_understood_and_none_out_of_scope_gets_a_capability(name: str) -> None:
    floor, most_wrong = FRESH[name]
    result = score(partial(read, shipped()), HERE / name)
    wrong = [example.text for example, got in result.misses
             if got.verdict is Verdict.ANSWER and example.intent != Intent.OUT_OF_SCOPE]
    print("\n" + result.table(name) + "\nin scope, answered with another capability:", wrong)
    assert result.unsafe == []
    assert len(wrong) <= most_wrong, wrong
    assert result.accuracy >= floor, [(e.text, g.verdict.value, g.intent) for e, g in result.misses]
