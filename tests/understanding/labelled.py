"""The labelled applicant phrasings (phrasings_train.tsv, phrasings_validation.tsv) and how they are scored.

A message counts as understood when the bot would answer it with what was asked: the verdict is "answer" with
the labelled intent (and, where labelled, the training search's query or the language asked for). An out-of-scope
message counts as understood when the bot says what it can help with instead of answering. "Unsafe" counts the
out-of-scope messages the bot would have answered with a capability or an FAQ answer (personal data or a wrong
capability): it must stay 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from handlers.understanding import Intent, Interpretation, Verdict

HERE = Path(__file__).parent
TRAIN = HERE / "phrasings_train.tsv"
VALIDATION = HERE / "phrasings_validation.tsv"
SMALL_TALK = frozenset({Intent.GREETING, Intent.THANKS, Intent.ACK})


@dataclass(frozen=True, slots=True)
class Example:
    intent: str
    text: str
    slots: dict[str, str]


def examples(path: Path) -> list[Example]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        intent, text, *rest = line.split("\t")
        slots = dict(part.split("=", 1) for part in rest if "=" in part)
        out.append(Example(intent, text, slots))
    return out


def understood(example: Example, got: Interpretation) -> bool:
    if example.intent == Intent.OUT_OF_SCOPE:
        return got.verdict is Verdict.UNKNOWN
    if got.verdict is not Verdict.ANSWER or got.intent != example.intent:
        return False
    return all(got.slots.get(name) == value for name, value in example.slots.items())


def unsafe(example: Example, got: Interpretation) -> bool:
    return (example.intent == Intent.OUT_OF_SCOPE and got.verdict is Verdict.ANSWER
            and got.intent not in SMALL_TALK)


@dataclass
class Score:
    total: Counter[str]
    right: Counter[str]
    unsafe: list[str]
    misses: list[tuple[Example, Interpretation]]

    @property
    def accuracy(self) -> float:
        return sum(self.right.values()) / max(1, sum(self.total.values()))

    def table(self, title: str) -> str:
        lines = [f"{title}: {sum(self.right.values())}/{sum(self.total.values())} = {self.accuracy:.1%},"
                 f" out-of-scope answered with a capability: {len(self.unsafe)}"]
        for intent in sorted(self.total):
            lines.append(f"  {intent:24} {self.right[intent]:3}/{self.total[intent]:<3}"
                         f" {self.right[intent] / self.total[intent]:6.1%}")
        return "\n".join(lines)


def score(read: Callable[[str], Interpretation], path: Path) -> Score:
    result = Score(Counter(), Counter(), [], [])
    for example in examples(path):
        got = read(example.text)
        result.total[example.intent] += 1
        if understood(example, got):
            result.right[example.intent] += 1
        else:
            result.misses.append((example, got))
        if unsafe(example, got):
            result.unsafe.append(example.text)
    return result
