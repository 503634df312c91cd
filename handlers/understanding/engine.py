"""Text in, intent + slots + confidence out: nearest example phrasings over weighted meanings.

Every example phrasing of every intent (and every FAQ question) is read with the lexicon into a set of meanings
(handlers/understanding/lexicon.py). A message is read the same way and compared with each example that shares a
meaning with it: the score is the weighted Dice overlap, 2·shared / (message + example), where a meaning weighs
more the fewer intents use it (inverse document frequency over intents), so "insentif" decides and "saya" hardly
counts. Words the lexicon does not know weigh on the message side too: a message mostly about something else
scores low everywhere, and that is how the bot knows it does not know. A training search is the exception: there
the unknown words are the topic ("kursus menjahit"), so they do not count against it.

The verdict turns the scores into what to do: answer (one intent clearly ahead), ask (two close, different
things: one question with buttons), or "I can help with ..." (nothing close enough, or closest to out-of-scope).
Cost: a few dictionary look-ups per word and one pass over the examples that share a word with the message
(tests/benchmarks/understanding.py measures it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import resources

from handlers.i18n import N_, SUPPORTED_LOCALES
from handlers.understanding.faq import DATA_PACKAGE, FaqBook, shipped_faq
from handlers.understanding.files import DataError, DataProblem, problem, validate
from handlers.understanding.lexicon import Lexicon, Token, tidy, words
from handlers.understanding.models import FAQ_PREFIX, Intent, LanguageData

# Calibrated on tests/understanding/phrasings_train.tsv (never on the validation split).
_NO_WORDS = N_("“{phrase}” tidak punya kata yang bisa dicocokkan: tulis pertanyaan dengan kata-kata yang jelas.")
_SAME_AS = N_("“{phrase}” terbaca sama dengan “{other}” ({intent}): satu kalimat tidak bisa berarti dua hal.")
ACCEPT = 0.50  # a score from which the best intent is answered...
MARGIN = 0.08  # ...when the next different intent is at least this far behind
ASK = 0.34  # from here a close call is asked about; below, the message is not understood
CLOSEST = 0.18  # intents offered as "closest things I can do" when not understood
MAX_CHOICES = 3
UNKNOWN_WEIGHT = 2.2  # a word the lexicon does not know, about a rare known word's weight
KNOWN_ELSEWHERE = 0.6  # a known word that no example uses (a synonym's neighbour, an expanded abbreviation)
ISLAMIC_GREETING = "assalamualaikum"  # the standard word whose greeting gets "Wa'alaikumsalam"
ARABIC_SALAM = "سلام"  # the same greeting written in Arabic script
# Intents that lead to the same answer: a close call between them needs no question.
SAME_ANSWER = (frozenset({Intent.CARD, Intent.BALANCE}), frozenset({Intent.HELP, Intent.MENU}),
               frozenset({Intent.GREETING, Intent.ACK}))
OPEN_QUERY = frozenset({Intent.TRAINING_SEARCH})  # unknown words are the query, not noise
SMALL_TALK = frozenset({Intent.GREETING, Intent.THANKS, Intent.ACK})
PERSONAL = frozenset({Intent.RESULT, Intent.CARD, Intent.BALANCE})  # answered with the person's own data
FOREIGN = 0.5  # from this share of unknown or out-of-scope words, a message is about something else
NEGATIONS = frozenset({"tidak", "not"})  # standard words that turn "I don't speak Indonesian" into English
_SYMBOLS = re.compile(r"[^\W\d_]", re.UNICODE)  # any letter, in any script


class Verdict(StrEnum):
    ANSWER = "answer"  # do `intent`
    ASK = "ask"  # ask which of `choices` was meant
    UNKNOWN = "unknown"  # say what the bot can help with, offer `choices` (the closest) and a person


@dataclass(frozen=True, slots=True)
class Interpretation:
    verdict: Verdict
    intent: str  # the best intent (an Intent value or "faq.<id>"); "" when nothing came close
    confidence: float  # the best score, 0..1
    slots: Mapping[str, str] = field(default_factory=dict)  # "query", "locale", "salam", "number"
    choices: tuple[str, ...] = ()  # for ASK and UNKNOWN: intents to offer, best first


def language_file(locale: str) -> str:
    return f"{locale}/language.toml"


def shipped_language_files() -> dict[str, str]:
    data = resources.files(DATA_PACKAGE) / "data"
    return {language_file(locale): (data / language_file(locale)).read_text(encoding="utf-8")
            for locale in SUPPORTED_LOCALES}


def load_languages(files: Mapping[str, str]) -> list[LanguageData]:
    """Every language's data from its file's text; DataError lists every problem with its line and field."""
    languages, problems = [], []
    for name, text in files.items():
        try:
            language = validate(LanguageData, name, text)
        except DataError as exc:
            problems.extend(exc.problems)
            continue
        if name != language_file(language.language):
            problems.append(problem(name, text, ("language",), f"the file of {language.language!r} is"
                                                               f" {language_file(language.language)}"))
        languages.append(language)
    if problems:
        raise DataError(problems)
    return languages


class Understanding:
    def __init__(self, languages: Sequence[LanguageData], faq: FaqBook,
                 sources: Mapping[str, str] | None = None) -> None:
        self.languages = list(languages)
        self.faq = faq
        self._sources = dict(sources or {})
        examples: list[tuple[str, str, str, tuple[str | int, ...]]] = []  # (intent, text, file, field)
        for lang in self.languages:
            for intent, phrasings in lang.intents.items():
                for i, example in enumerate(phrasings.examples):
                    examples.append((intent.value, example, language_file(lang.language),
                                     ("intents", intent.value, "examples", i)))
        for index, (entry_id, entry) in enumerate(faq.entries.items()):
            for locale, text in entry.texts.items():
                for i, question in enumerate(text.questions):
                    examples.append((FAQ_PREFIX + entry_id, question, faq.name,
                                     ("entry", index, "text", locale, "questions", i)))
        in_scope = {w for intent, text, _, _ in examples if intent != Intent.OUT_OF_SCOPE for w in self._written(text)}
        foreign = {w for intent, text, _, _ in examples if intent == Intent.OUT_OF_SCOPE
                   for w in self._written(text)} - in_scope
        self.lexicon = Lexicon(self.languages, in_scope | foreign, foreign)
        self._compile(examples)
        self._with_faq: dict[str, Understanding] = {faq.version: self}

    def _written(self, text: str) -> list[str]:
        out: list[str] = []
        for lang in self.languages:
            for word in words(text):
                word = tidy(word)
                out.extend(lang.words[word].split() if word in lang.words else (word,))
        return out

    def _compile(self, examples: list[tuple[str, str, str, tuple[str | int, ...]]]) -> None:
        problems: list[DataProblem] = []
        concept_sets: list[frozenset[str]] = []
        intents: list[str] = []
        first_seen: dict[frozenset[str], tuple[str, str]] = {}
        for intent, text, name, where in examples:
            concepts = frozenset(t.concept for t in self.lexicon.tokens(text, correct=False) if not t.number)
            source = self.faq.source if name == self.faq.name else self._sources.get(name, "")
            if not concepts:
                problems.append(problem(name, source, where, _NO_WORDS, phrase=text))
                continue
            seen = first_seen.setdefault(concepts, (intent, text))
            if seen[0] != intent:
                problems.append(problem(name, source, where, _SAME_AS, phrase=text, other=seen[1],
                                        intent=seen[0].removeprefix(FAQ_PREFIX)))
                continue
            concept_sets.append(concepts)
            intents.append(intent)
        if problems:
            raise DataError(problems)
        documents: dict[str, set[str]] = {}
        for concepts, intent in zip(concept_sets, intents, strict=True):
            documents.setdefault(intent, set()).update(concepts)
        count = len(documents)
        frequency: dict[str, int] = {}
        for in_intent in documents.values():
            for concept in in_intent:
                frequency[concept] = frequency.get(concept, 0) + 1
        self.weights = {c: math.log(1 + count / n) for c, n in frequency.items()}
        self.intents = intents
        self.example_concepts = concept_sets
        self.example_weight = [sum(self.weights[c] for c in concepts) for concepts in concept_sets]
        postings: dict[str, list[int]] = {}
        for index, concepts in enumerate(concept_sets):
            for concept in concepts:
                postings.setdefault(concept, []).append(index)
        self.postings = {c: tuple(ids) for c, ids in postings.items()}
        self.known_intents = frozenset(documents)
        self.foreign = frozenset(c for c in frequency if all(
            c not in concepts for intent, concepts in documents.items() if intent != Intent.OUT_OF_SCOPE))
        # Meanings only small talk uses ("halo", "makasih"): left out of a message that also asks something.
        self.small_talk = frozenset(c for c in frequency if all(
            c not in concepts for intent, concepts in documents.items() if intent not in SMALL_TALK))

    def with_faq(self, faq: FaqBook) -> Understanding:
        """The same languages with another FAQ (an admin's import): compiled once per FAQ version."""
        compiled = self._with_faq.get(faq.version)
        if compiled is None:
            compiled = Understanding(self.languages, faq, self._sources)
            self._with_faq = {self.faq.version: self, faq.version: compiled}  # the shipped one and the latest
        return compiled

    # --- understanding a message -------------------------------------------------------------------------------
    def understand(self, text: str) -> Interpretation:
        tokens = self.lexicon.tokens(text)
        numbers = [t.raw for t in tokens if t.number]
        content = [t for t in tokens if not t.number]
        if not content:
            if numbers:
                return Interpretation(Verdict.UNKNOWN, "", 0.0, {"number": numbers[0]})
            if text.strip() and not _SYMBOLS.search(text):  # emoji, punctuation: a reaction, not a question
                return Interpretation(Verdict.ANSWER, Intent.ACK, 1.0)
            if ARABIC_SALAM in text:  # "السلام عليكم" in Arabic script
                return Interpretation(Verdict.ANSWER, Intent.GREETING, 1.0, {"salam": "1"})
            return Interpretation(Verdict.UNKNOWN, "", 0.0)
        slots = self._slots(content)
        asking = [t for t in content if t.concept not in self.small_talk]
        if any(t.concept in self.weights and t.concept not in self.lexicon.generic for t in asking):
            content = asking  # "halo kak, saldo saya berapa": the question counts, not the greeting
        scores, best_examples = self.scores(content)
        foreign = 1.0 if any(t.concept in self.foreign for t in content) else self._foreign(content)
        unknown = any(not t.known for t in content)
        strong = self._strong(content, best_examples)
        if Intent.TRAINING_SEARCH in best_examples:  # a search must say so ("kursus masak"), not just share a topic
            said = {t.concept for t in content} & self.example_concepts[best_examples[Intent.TRAINING_SEARCH]]
            strong[Intent.TRAINING_SEARCH] = bool(said & (self.lexicon.fillers - self.lexicon.generic))
        return self._verdict(scores, strong, foreign, unknown, slots)

    def _strong(self, tokens: Sequence[Token], best_examples: Mapping[str, int]) -> dict[str, bool]:
        """Per intent: does the message share enough with its best example to be answered? A meaning that is not
        generic ("saldo"), or the whole example when it is two generic words or more ("prakerja itu apa")."""
        said = {t.concept for t in tokens}
        specific = said - self.lexicon.generic
        strong = {}
        for intent, index in best_examples.items():
            example = self.example_concepts[index]
            strong[intent] = not specific.isdisjoint(example) or (len(example) >= 2 and example <= said)
        return strong

    def _foreign(self, tokens: Sequence[Token]) -> float:
        """The share of the message's weight in words the lexicon does not know or knows only from out-of-scope
        examples: "hp saya rusak", "terjemahkan ke bahasa inggris: saya lapar"."""
        total = foreign = 0.0
        for token in {t.concept: t for t in tokens}.values():
            if not token.known:
                weight = UNKNOWN_WEIGHT
                foreign += weight
            else:
                weight = self.weights.get(token.concept, KNOWN_ELSEWHERE)
                if token.concept in self.foreign:
                    foreign += weight
            total += weight
        return foreign / total if total else 0.0

    def scores(self, tokens: Sequence[Token]) -> tuple[dict[str, float], dict[str, int]]:
        """Best score per intent, for the intents that share a meaning with the message, and its example."""
        known: dict[str, float] = {}
        unknown: set[str] = set()
        for token in tokens:
            if token.concept in self.weights:
                known[token.concept] = self.weights[token.concept]
            elif token.known:
                known.setdefault(token.concept, KNOWN_ELSEWHERE)
            else:
                unknown.add(token.concept)
        known_weight = sum(known.values())
        unknown_weight = UNKNOWN_WEIGHT * len(unknown)
        shared: dict[int, float] = {}
        for concept, weight in known.items():
            for index in self.postings.get(concept, ()):
                shared[index] = shared.get(index, 0.0) + weight
        best: dict[str, float] = {}
        which: dict[str, int] = {}
        for index, overlap in shared.items():
            intent = self.intents[index]
            message = known_weight + (0.0 if intent in OPEN_QUERY else unknown_weight)
            score = 2 * overlap / (message + self.example_weight[index])
            if score > best.get(intent, 0.0):
                best[intent] = score
                which[intent] = index
        return best, which

    def search_topic(self, text: str) -> str:
        """The words of a training search as typed, without particles, address words and search words: "mau belajar
        excel kak" -> "excel" (what the keyword step searches)."""
        return self._topic([t for t in self.lexicon.tokens(text) if not t.number])

    def _topic(self, tokens: Sequence[Token]) -> str:
        return " ".join(t.raw for t in tokens if t.concept not in self.lexicon.fillers)

    def _slots(self, tokens: Sequence[Token]) -> dict[str, str]:
        slots: dict[str, str] = {}
        query = self._topic(tokens)
        if query:
            slots["query"] = query
        locale = next((self.lexicon.locales[t.concept] for t in tokens if t.concept in self.lexicon.locales), None)
        if locale:
            if any(t.concept in NEGATIONS for t in tokens) and len(SUPPORTED_LOCALES) == 2:  # "i don't speak ..."
                locale = next(code for code in SUPPORTED_LOCALES if code != locale)
            slots["locale"] = locale
        if any(t.concept == ISLAMIC_GREETING for t in tokens):
            slots["salam"] = "1"
        return slots

    def _verdict(self, scores: Mapping[str, float], strong: Mapping[str, bool], foreign: float, unknown: bool,
                 slots: dict[str, str]) -> Interpretation:
        """`foreign`: the share of unknown or out-of-scope words (1 when a word is one only out-of-scope examples use:
        "pinjaman", "pulsa"); `unknown`: a word the lexicon does not know at all."""
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        if not any(i == Intent.TRAINING_SEARCH for i, s in ranked[:MAX_CHOICES]):
            slots.pop("query", None)
        if not ranked:
            return Interpretation(Verdict.UNKNOWN, "", 0.0, slots)
        intent, best = ranked[0]
        in_scope = [(i, s) for i, s in ranked if i != Intent.OUT_OF_SCOPE]
        # Offered only when they share a specific word: "jual akun ff" is not close to unlinking an account.
        closest = tuple(i for i, s in in_scope if s >= CLOSEST and strong.get(i, False))[:MAX_CHOICES]
        if foreign >= FOREIGN:  # mostly about something else, unless it is the topic of a training search
            search = scores.get(Intent.TRAINING_SEARCH, 0.0)
            if search >= ACCEPT and strong.get(Intent.TRAINING_SEARCH, False) and slots.get("query"):
                return Interpretation(Verdict.ANSWER, Intent.TRAINING_SEARCH, search, slots)
            slots.pop("query", None)  # no button that searches trainings for "pinjol cepet cair"
            return Interpretation(Verdict.UNKNOWN, Intent.OUT_OF_SCOPE, best, slots, closest)
        if intent == Intent.OUT_OF_SCOPE or best < ASK:
            return Interpretation(Verdict.UNKNOWN, intent if best >= ASK else "", best, slots, closest)
        # A rival counts when it shares a specific word too: one that only shares "berapa" or "prakerja" with the
        # message ("call center prakerja brp" and the balance) is no real alternative.
        rival = next(((i, s) for i, s in ranked[1:] if not _same_answer(intent, i) and strong.get(i, False)), None)
        clear = best >= ACCEPT and (rival is None or best - rival[1] >= MARGIN) and strong.get(intent, False)
        if clear and intent in PERSONAL and unknown:  # "hasil lab saya": personal data only when nothing is unknown
            return Interpretation(Verdict.ASK, intent, best, slots, closest)
        if clear:
            return Interpretation(Verdict.ANSWER, intent, best, slots)
        if not strong.get(intent, False):  # only generic words in common ("berapa"): not enough to answer
            return Interpretation(Verdict.UNKNOWN, "", best, slots, closest)
        if rival is None or rival[0] == Intent.OUT_OF_SCOPE:  # close to out-of-scope, or just not sure enough
            return Interpretation(Verdict.UNKNOWN if best < ACCEPT else Verdict.ANSWER, intent, best, slots,
                                  closest)
        choices = tuple(i for i, s in in_scope if s >= best - 2 * MARGIN)[:MAX_CHOICES]
        return Interpretation(Verdict.ASK, intent, best, slots, choices)


def _same_answer(first: str, second: str) -> bool:
    return first == second or any(first in group and second in group for group in SAME_ANSWER)


@cache
def shipped() -> Understanding:
    """The understanding of the data shipped with the package, compiled once per process."""
    files = shipped_language_files()
    return Understanding(load_languages(files), shipped_faq(), files)


def load(files: Mapping[str, str], faq: FaqBook) -> Understanding:
    """An understanding from language files' text (an admin's replacement): DataError on any problem."""
    return Understanding(load_languages(files), faq, files)
