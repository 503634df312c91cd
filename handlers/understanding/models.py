"""What the data files hold, as pydantic models: a language's vocabulary and phrasings, and the FAQ.

The intents are fixed in code (each needs behaviour: handlers/freetext.py); the words and phrasings that name them
are data, one file per language, and the FAQ (its entries, questions and answers) is data entirely.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from handlers.i18n import N_, SUPPORTED_LOCALES
from handlers.understanding.files import data_error

MAX_PHRASE_CHARS = 200
MAX_ANSWER_CHARS = 900  # a chat answer stays short: about what fits one phone screen
MAX_TITLE_CHARS = 24  # a WhatsApp list row's title (bot/channels/whatsapp/limits.py)
MAX_LINKS = 2
MAX_ENTRIES = 100  # an FAQ longer than this is a website, not a chat's answers (and costs more to compile)
FAQ_ID = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
# Where an answer may send people: the programme's own sites (an imported FAQ must not carry another address).
OFFICIAL_DOMAINS = ("prakerja.go.id", "kemnaker.go.id")


# The bot's commands an FAQ answer may offer as a button (applicants' commands; never a staff command).
OFFERABLE = ("hasil", "kartu", "video", "panduan", "platform", "pelatihan", "syarat", "ceklink", "petugas",
             "hubungkan", "bahasa")


class Intent(StrEnum):
    """What a message can ask for. FAQ entries add `faq.<id>` intents of their own."""

    RESULT = "result"
    CARD = "card"
    BALANCE = "balance"
    VIDEO = "video"
    GUIDE = "guide"
    PLATFORMS = "platforms"
    TRAINING_SEARCH = "training_search"
    ELIGIBILITY = "eligibility"
    LINK_CHECK = "link_check"
    LANGUAGE = "language"
    STOP = "stop"
    RESUME = "resume"
    UNLINK = "unlink"
    HELP = "help"
    HUMAN = "human"
    LINK_ACCOUNT = "link_account"
    MENU = "menu"
    SETTINGS = "settings"
    GREETING = "greeting"
    THANKS = "thanks"
    ACK = "ack"
    OUT_OF_SCOPE = "out_of_scope"


FAQ_PREFIX = "faq."


def _lower_words(value: str) -> str:
    if value != value.strip().lower() or not value.strip():
        raise ValueError("write it in lower case, without spaces around it")
    return value


Word = Annotated[str, StringConstraints(min_length=1, max_length=40), AfterValidator(_lower_words)]
Phrase = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PHRASE_CHARS, strip_whitespace=True)]


class IntentPhrasings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    examples: list[Phrase] = Field(min_length=1)


class LanguageData(BaseModel):
    """One language's words: `handlers/understanding/data/<language>/language.toml`."""

    model_config = ConfigDict(extra="forbid")

    language: str
    # Words that carry no meaning for the matching: address ("kak", "min"), particles ("dong", "sih").
    particles: list[Word] = []
    # How people shorten or misspell a word, and the word(s) meant: "sy" = "saya", "gaada" = "tidak ada".
    words: dict[Word, Phrase] = {}
    # A standard word (or phrase) and other words or phrases that mean the same thing here.
    synonyms: dict[Phrase, list[Phrase]] = {}
    # Standard words that are never the topic of a training search ("kursus", "cari", "ada").
    search_fillers: list[Phrase] = []
    # Standard words that alone never say what is asked ("berapa", "kapan"): an answer needs another word in common.
    generic: list[Phrase] = []
    # Standard words that name a chat language: "inggris" = "en".
    locale_words: dict[Phrase, str] = {}
    intents: dict[Intent, IntentPhrasings] = {}

    @field_validator("language")
    @classmethod
    def _supported(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator("locale_words")
    @classmethod
    def _locales(cls, value: dict[str, str]) -> dict[str, str]:
        wrong = sorted(code for code in value.values() if code not in SUPPORTED_LOCALES)
        if wrong:
            raise ValueError(f"unknown language {wrong[0]!r}: one of {', '.join(SUPPORTED_LOCALES)}")
        return value


def _official_url(value: str) -> str:
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https":
        raise data_error(N_("Alamat harus diawali https:// (sambungan aman)."))
    if not any(host == d or host.endswith("." + d) for d in OFFICIAL_DOMAINS):
        raise data_error(N_("Alamat harus di situs resmi ({domains}), bukan {host}."),
                         domains=", ".join(OFFICIAL_DOMAINS), host=host or "?")
    return value


OfficialUrl = Annotated[str, StringConstraints(max_length=300), AfterValidator(_official_url)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TITLE_CHARS, strip_whitespace=True)]


class FaqLink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Title
    url: OfficialUrl


class FaqText(BaseModel):
    """An entry in one language: its `[entry.text.<language>]` table in faq.toml."""

    model_config = ConfigDict(extra="forbid")

    title: Title  # the button that offers this answer
    questions: list[Phrase] = Field(min_length=1)  # how people ask it, for the matching
    # Short: about one phone screen, far below a chat message's limit (Telegram's MessageLimit.MAX_TEXT_LENGTH,
    # 4,096, and WhatsApp's 4,096), with the title and the wave schedule added.
    answer: Annotated[str, StringConstraints(min_length=1, max_length=MAX_ANSWER_CHARS, strip_whitespace=True)]
    links: list[FaqLink] = Field(default=[], max_length=MAX_LINKS)  # the official place to go next


class Dynamic(StrEnum):
    """Answers completed at run time from the bot's own data."""

    NEXT_WAVE = "next_wave"  # the wave schedule the admins set (storage.waves)


class FaqFact(BaseModel):
    """An entry's id and where its facts come from: the same for every language."""

    model_config = ConfigDict(extra="forbid")

    id: str
    source: str = Field(min_length=1, max_length=600)  # the page(s) the facts were checked on
    checked: date  # when
    sample: bool = False  # true: not sourced, an example answer to be replaced by the programme's own
    offers: list[str] = []  # the bot's commands offered with the answer ("kartu", "syarat")
    dynamic: Dynamic | None = None

    @field_validator("offers")
    @classmethod
    def _offers(cls, value: list[str]) -> list[str]:
        wrong = [name for name in value if name not in OFFERABLE]
        if wrong:
            raise data_error(N_("Perintah “{command}” tidak bisa ditawarkan. Yang bisa: {known}."),
                             command=wrong[0], known=", ".join(OFFERABLE))
        return value

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not FAQ_ID.match(value):
            raise data_error(N_("Hanya huruf kecil, angka, dan _, diawali huruf, 2-31 karakter (mis. insentif)."))
        return value


class FaqFileEntry(FaqFact):
    """One `[[entry]]` of faq.toml: the facts, and its text per language (`[entry.text.id]`, `[entry.text.en]`)."""

    text: dict[str, FaqText]


class FaqFile(BaseModel):
    """faq.toml as a whole; each entry is validated on its own (every entry's problems are listed)."""

    model_config = ConfigDict(extra="forbid")

    entry: list[dict[str, object]] = Field(min_length=1, max_length=MAX_ENTRIES)
