"""From what people type to what they mean, word by word: the lexicon built from every language's data file.

A message is cut into words (case, accents and apostrophes gone), and each word is read the way a patient
reader would: stretched letters shrunk ("halooo"), the "2" of a doubled word dropped ("cair2"), an abbreviation
written out ("sy" -> "saya", "gk" -> "tidak"), a phrase taken as one ("kata sandi"), a synonym taken as its
standard word ("sldo", "balance" -> "saldo"), an inflected form taken back to a known root ("pencairan" ->
"cair", only when the root is a known word), and finally a typo of a letter or two corrected to the closest known
word (rapidfuzz, optimal string alignment, the first letter kept). Languages share one lexicon: English words in
an Indonesian message are read too, and a word that is a synonym in both languages joins the two meanings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from handlers.understanding.files import DataError
from handlers.understanding.models import LanguageData

_WORD = re.compile(r"[a-z0-9]+")
_STRETCHED = re.compile(r"([a-z])\1{2,}")  # three or more of one letter: "halooo"
_DOUBLED = re.compile(r"^([a-z]{3,})2$")  # "cair2": Indonesian writes a doubled word with a 2
_APOSTROPHES = str.maketrans("", "", "'’`´‘")
MIN_FUZZY_CHARS = 4  # shorter words are too easily another word ("ga", "hp")
LONG_WORD_CHARS = 8  # from this length two typos are corrected, below it one
# Indonesian suffixes (with the colloquial "-in" for "-kan": "cairin"), then English ones.
SUFFIXES = ("nya", "lah", "kah", "pun", "kan", "an", "in", "i", "ku", "mu", "s", "es", "ing", "ed")
PREFIXES = ("meng", "meny", "mem", "men", "me", "peng", "peny", "pem", "pen", "pe", "per", "ber", "be", "ter",
            "di", "ke", "se")
# Indonesian prefixes swallow the root's first letter: menyimpan <- simpan, membayar <- bayar, menonton <- tonton.
NASAL = {"meny": "s", "peny": "s", "mem": "p", "pem": "p", "men": "t", "pen": "t", "meng": "k", "peng": "k"}
MIN_ROOT_CHARS = 3
CACHE_WORDS = 8192


def words(text: str) -> list[str]:
    """The words of a text: case-folded, accents and apostrophes removed ("Assalamu'alaikum" -> one word)."""
    text = unicodedata.normalize("NFKD", text.casefold()).translate(_APOSTROPHES)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _WORD.findall(text)


def tidy(word: str) -> str:
    """'halooo' -> 'halo', 'cair2' -> 'cair'."""
    word = _STRETCHED.sub(r"\1", word)
    doubled = _DOUBLED.match(word)
    return doubled.group(1) if doubled else word


@dataclass(frozen=True, slots=True)
class Token:
    """One meaningful unit of a message: the words as typed, and what they mean here."""

    raw: str  # the word(s) as typed (tidied, lower case)
    concept: str  # the standard word; for an unknown word the word itself
    known: bool  # in the lexicon (directly, or through a root or a corrected typo)
    number: bool = False


class _Concepts:
    """Union-find over synonym groups: the same surface word in two languages' groups makes them one meaning."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, name: str) -> str:
        self.parent.setdefault(name, name)
        while self.parent[name] != name:
            self.parent[name] = self.parent[self.parent[name]]
            name = self.parent[name]
        return name

    def union(self, first: str, second: str) -> None:
        a, b = self.find(first), self.find(second)
        if a != b:
            self.parent[b] = a


class Lexicon:
    def __init__(self, languages: Sequence[LanguageData], example_words: Iterable[str] = (),
                 foreign_words: Iterable[str] = ()) -> None:
        """`example_words`: the words of the example phrasings; `foreign_words`: those used only by out-of-scope
        examples, which a typo is never corrected to (a misspelt question is not taken for a loan offer)."""
        problems: list[str] = []
        self.particles: frozenset[str] = frozenset(p for lang in languages for p in lang.particles)
        self.abbreviations: dict[str, tuple[str, ...]] = {}
        origin: dict[str, str] = {}
        for lang in languages:
            for short, full in lang.words.items():
                expansion = tuple(words(full))
                known = self.abbreviations.get(short)
                if known is not None and known != expansion:
                    problems.append(f"{lang.language}/language.toml (words.{short}): also written out as"
                                    f" {' '.join(known)!r} in {origin[short]}/language.toml; keep one")
                self.abbreviations[short] = expansion
                origin[short] = lang.language
        # Synonym groups, joined across languages where they share a surface phrase.
        concepts = _Concepts()
        claimed: dict[tuple[str, ...], tuple[str, str]] = {}  # phrase -> (language, group)
        for lang in languages:
            for standard, others in lang.synonyms.items():
                group = f"{lang.language}:{' '.join(words(standard))}"
                concepts.find(group)
                for phrase in (standard, *others):
                    key = tuple(self._expand(words(phrase)))
                    if not key:
                        continue
                    seen = claimed.get(key)
                    if seen is None:
                        claimed[key] = (lang.language, group)
                    elif seen[0] == lang.language and seen[1] != group:
                        problems.append(f"{lang.language}/language.toml (synonyms.{standard}): {phrase!r} is already"
                                        f" a synonym of {seen[1].split(':', 1)[1]!r}; a word has one meaning")
                    else:
                        concepts.union(seen[1], group)
        for lang in languages:
            for particle in lang.particles:
                if (particle,) in claimed or particle in self.abbreviations:
                    problems.append(f"{lang.language}/language.toml (particles): {particle!r} is a particle (it carries"
                                    " no meaning) and also a synonym or an abbreviation; keep one")
        if problems:
            raise DataError(problems)
        self.phrases: dict[tuple[str, ...], str] = {
            key: concepts.find(group).split(":", 1)[1] for key, (_, group) in claimed.items()}
        self.longest_phrase = max((len(key) for key in self.phrases), default=1)
        self.fillers = frozenset(self.concept_of(f) for lang in languages for f in lang.search_fillers)
        self.generic = frozenset(self.concept_of(g) for lang in languages for g in lang.generic)
        self.locales = {self.concept_of(w): code for lang in languages for w, code in lang.locale_words.items()}
        vocabulary = {key[0] for key in self.phrases if len(key) == 1}
        vocabulary |= {w for expansion in self.abbreviations.values() for w in expansion}
        vocabulary |= set(example_words)
        # Search words and generic words are known ("semua pelatihan" is not about something else), but a typo is
        # corrected only to words of the phrasings ("grafis" is not "gratis").
        listed = {w for lang in languages for phrase in (*lang.search_fillers, *lang.generic) for w in words(phrase)}
        self.vocabulary = frozenset(vocabulary | listed)
        self._targets = frozenset(vocabulary - set(foreign_words) - self.particles)
        # Typo candidates by first letter: a typo rarely changes the first letter, and the lists stay short.
        by_letter: dict[str, list[str]] = {}
        for word in sorted(self._targets):
            if len(word) >= MIN_FUZZY_CHARS - 1 and not word.isdigit():
                by_letter.setdefault(word[0], []).append(word)
        self._by_letter = by_letter
        self.read_word = lru_cache(maxsize=CACHE_WORDS)(self._read_word)

    def concept_of(self, phrase: str) -> str:
        key = tuple(self._expand(words(phrase)))
        return self.phrases.get(key, " ".join(key))

    def _expand(self, typed: Iterable[str]) -> list[str]:
        out: list[str] = []
        for word in typed:
            word = tidy(word)
            out.extend(self.abbreviations.get(word, (word,)))
        return out

    def tokens(self, text: str, *, correct: bool = True) -> list[Token]:
        """The message's tokens, particles left out (kept when the message is nothing but particles: "iya")."""
        expanded: list[tuple[str, str]] = []  # (as typed, written out)
        for typed in words(text):
            word = tidy(typed)
            for full in self.abbreviations.get(word, (word,)):
                expanded.append((word, full))
        out: list[Token] = []
        i = 0
        while i < len(expanded):
            for size in range(min(self.longest_phrase, len(expanded) - i), 1, -1):  # phrases, longest first
                key = tuple(full for _, full in expanded[i:i + size])
                concept = self.phrases.get(key)
                if concept is not None:
                    out.append(Token(" ".join(raw for raw, _ in expanded[i:i + size]), concept, True))
                    i += size
                    break
            else:
                raw, full = expanded[i]
                out.append(self.read_word(raw, full, correct))
                i += 1
        meaningful = [t for t in out if t.concept not in self.particles]
        return meaningful or out

    def _read_word(self, raw: str, word: str, correct: bool) -> Token:
        if word[0].isdigit():  # "2", "600rb", "3x": amounts and counts, not words
            return Token(raw, word, True, number=True)
        concept = self.phrases.get((word,))
        if concept is not None:
            return Token(raw, concept, True)
        if word in self.vocabulary or word in self.particles:
            return Token(raw, word, True)
        half = len(word) // 2
        if len(word) % 2 == 0 and word[:half] == word[half:] and word[:half] in self.vocabulary:  # "okeoke"
            return Token(raw, self.phrases.get((word[:half],), word[:half]), True)
        for root in self._roots(word):
            expansion = self.abbreviations.get(root, (root,))  # "liatnya" -> "liat" -> "lihat"
            root = expansion[0] if len(expansion) == 1 else root
            return Token(raw, self.phrases.get((root,), root), True)
        if correct and len(word) >= MIN_FUZZY_CHARS:
            fixed = self._closest(word)
            if fixed is not None:
                return Token(raw, self.phrases.get((fixed,), fixed), True)
        return Token(raw, word, False)

    def _roots(self, word: str) -> Iterable[str]:
        """Known roots of an inflected word ("pencairan" -> "cair", "dicairkan" -> "cair"), longest first."""
        stems = {word}
        for _ in range(2):  # "-kannya", "-annya": two suffixes at most
            stems |= {s[: -len(x)] for s in stems for x in SUFFIXES if s.endswith(x) and len(s) - len(x) >= 3}
        roots = set()
        for stem in stems:
            for prefix in PREFIXES:
                if stem.startswith(prefix) and len(stem) - len(prefix) >= MIN_ROOT_CHARS:
                    rest = stem[len(prefix):]
                    roots.add(rest)
                    if prefix in NASAL:
                        roots.add(NASAL[prefix] + rest)
            roots.add(stem)
        roots.discard(word)
        known = (r for r in roots if (r in self.vocabulary or len(self.abbreviations.get(r, ())) == 1)
                 and r not in self.particles)
        return sorted(known, key=len, reverse=True)

    def _closest(self, word: str) -> str | None:
        candidates = self._by_letter.get(word[0])
        if not candidates:
            return None
        limit = 2 if len(word) >= LONG_WORD_CHARS else 1
        found = process.extract(word, candidates, scorer=OSA.distance, score_cutoff=limit, limit=None)
        if not found:
            return None
        # The nearest; among equals the one sharing the longest beginning ("hasi" is "hasil", not "hai").
        return min(found, key=lambda hit: (hit[1], -_common_prefix(word, hit[0]), abs(len(hit[0]) - len(word))))[0]


def _common_prefix(first: str, second: str) -> int:
    n = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        n += 1
    return n
