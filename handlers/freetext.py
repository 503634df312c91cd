"""Free text (issue 13): what the understanding read in a message, answered for this person, on every channel.

The router sends here the text that no command word, menu label, step or link took. A number typed while a page of
trainings is on screen opens that training. Otherwise handlers/understanding reads the message and this module
acts on its verdict: an answer runs the capability (through the router, role checked like a typed command, with
the words typed as its argument where there is one: "ada kursus menjahit?" searches "menjahit"), answers small
talk, or shows the FAQ entry; a close call asks one question with the candidates as buttons; anything else gets
what the bot can help with, the closest things it can do, and the way to a person (the second miss in a row
offers the person first). Each message not understood is given, masked, to the observers in
`Services.not_understood` (counting them per day is storage's business).
"""

from __future__ import annotations

import logging

from handlers import faq, link, menu, preferences, scam, trainings
from handlers.api import Button, rows
from handlers.context import SOFT_STEPS, Context, NotUnderstood, Step
from handlers.digits import is_digits
from handlers.identity import mask_personal
from handlers.menu import command_button, contact_button, is_lolos
from handlers.results import Standing, reregister_button, standing
from handlers.router import Router
from handlers.understanding import FAQ_PREFIX, Intent, Interpretation, Understanding, Verdict
from handlers.understanding.lexicon import words

log = logging.getLogger(__name__)

# The command each capability runs (the router's table: the same role checks as a typed command).
COMMANDS: dict[str, str] = {
    Intent.RESULT: "hasil", Intent.CARD: "kartu", Intent.BALANCE: "kartu", Intent.VIDEO: "video",
    Intent.GUIDE: "panduan", Intent.PLATFORMS: "platform", Intent.TRAINING_SEARCH: "pelatihan",
    Intent.ELIGIBILITY: "syarat", Intent.LINK_CHECK: "ceklink", Intent.LANGUAGE: "bahasa", Intent.STOP: "berhenti",
    Intent.RESUME: "mulai", Intent.UNLINK: "putuskan", Intent.HELP: "bantuan", Intent.HUMAN: "petugas",
    Intent.LINK_ACCOUNT: "hubungkan", Intent.MENU: "menu", Intent.SETTINGS: "pengaturan",
}
# When nothing is close: what most people who write to the bot came for.
DEFAULT_CHOICES = (Intent.RESULT, Intent.TRAINING_SEARCH, FAQ_PREFIX + "about")
# Words around a typed number that still mean "number N" ("no 7", "nomor 7", "yang ke 7").
NUMBER_WORDS = frozenset({"no", "nomor", "nmr", "nomer", "number", "pilih", "yang", "yg", "ke", "the", "lihat",
                          "liat", "buka", "detail", "pelatihan", "kursus", "kelas", "training"})
MAX_NUMBER_DIGITS = 3
MAX_TOPIC_WORDS = 3  # an unknown message this short may be a training's name ("public speaking")


def read(understanding: Understanding, text: str) -> Interpretation:
    """The whole reading of a free text, as the router takes it: a message with a link is a link check."""
    if scam.has_links(text):
        return Interpretation(Verdict.ANSWER, Intent.LINK_CHECK, 1.0)
    return understanding.understand(text)


async def understanding_of(ctx: Context) -> Understanding:
    """The shipped languages with the current FAQ (the shipped file, or an admin's import)."""
    return ctx.services.understanding.with_faq(await faq.book(ctx))


def typed_number(text: str, particles: frozenset[str] = frozenset()) -> int | None:
    """The number a message names on its own ("7", "no 7", "yg nomor 7 kak"); `particles` (address words, "dong")
    may stand around it."""
    said = words(text)
    numbers = [word for word in said if is_digits(word)]
    if len(numbers) != 1 or len(numbers[0]) > MAX_NUMBER_DIGITS:
        return None
    rest = set(said) - {numbers[0]}
    return int(numbers[0]) if rest <= NUMBER_WORDS | particles else None


async def respond(router: Router, ctx: Context) -> None:
    text = ctx.event.text.strip()
    number = typed_number(text, ctx.services.understanding.lexicon.particles)
    if number is not None and trainings.list_on_screen(ctx):
        if not await trainings.open_numbered(ctx, number):  # "3" while 6-10 are on screen
            ctx.say(ctx.t.gettext("Nomor {n} tidak ada di daftar yang tampil. Ketik nomor pelatihan yang terlihat di"
                                  " layar, atau tekan tombolnya.").format(n=number),
                    rows(command_button(ctx, "pelatihan"), command_button(ctx, "menu"), per_row=2))
        return
    got = read(await understanding_of(ctx), text)
    if got.verdict is Verdict.UNKNOWN:
        topic = " ".join(words(text))
        if await _names_trainings(ctx, got, topic):  # "excel", "menjahit?" on their own: a search
            await ctx.end_step()
            await trainings.search(ctx, topic)
            return
        await not_understood(ctx, got)
        return
    if ctx.step is Step.LINK_OFFERED and got.verdict is Verdict.ANSWER and got.intent == Intent.ACK:
        await link.start_linking(ctx, ctx.state.pending)  # "ok", "iya" to the offer to link
        return
    if ctx.step in SOFT_STEPS:
        await ctx.end_step()  # understood: a miss no longer counts, the list on screen is left
    if got.verdict is Verdict.ASK:
        await ask(ctx, got)
        return
    if got.slots.get("salam") and got.intent != Intent.GREETING:
        ctx.say(ctx.t.gettext("Wa'alaikumsalam."))
    await answer(router, ctx, got)


async def _names_trainings(ctx: Context, got: Interpretation, topic: str) -> bool:
    """A short message the lexicon does not know, which names trainings in the catalogue (one look-up)."""
    if got.intent == Intent.OUT_OF_SCOPE or not 1 <= len(topic.split()) <= MAX_TOPIC_WORDS:
        return False
    return await trainings.in_catalogue(ctx, topic)


async def answer(router: Router, ctx: Context, got: Interpretation) -> None:
    t, intent = ctx.t, got.intent
    if intent.startswith(FAQ_PREFIX):
        entry = (await faq.book(ctx)).entries.get(intent.removeprefix(FAQ_PREFIX))
        if entry is not None:
            await faq.answer(ctx, entry)
            return
    match intent:
        case Intent.GREETING:
            await greet(ctx, islamic=bool(got.slots.get("salam")))
        case Intent.THANKS:
            ctx.say(t.gettext("Sama-sama! 😊 Senang bisa membantu. Ada lagi yang bisa saya bantu?"),
                    rows(command_button(ctx, "menu")))
        case Intent.ACK:
            acknowledge(ctx)
        case Intent.TRAINING_SEARCH if got.slots.get("query"):
            await trainings.search(ctx, got.slots["query"])
        case Intent.LANGUAGE if got.slots.get("locale"):
            await preferences.apply_locale(ctx, got.slots["locale"])
        case Intent.ELIGIBILITY if is_lolos(ctx):
            ctx.say(t.gettext("Anda sudah lolos seleksi Kartu Prakerja, jadi tidak perlu cek syarat peserta lagi."
                              " Langkah berikutnya ada di panduan pelatihan."),
                    rows(command_button(ctx, "panduan"), command_button(ctx, "menu"), per_row=2))
        case _ if intent in COMMANDS:
            if not await router.run_command(ctx, COMMANDS[intent]):
                await menu.unknown(ctx)
        case _:
            await not_understood(ctx, got)


async def greet(ctx: Context, *, islamic: bool) -> None:
    """A greeting gets a greeting and the menu; one who did not pass is offered to register again."""
    t = ctx.t
    menu.greet(ctx, t.gettext("Wa'alaikumsalam warahmatullahi wabarakatuh.") if islamic else "")
    if ctx.account is not None and await standing(ctx) is Standing.TIDAK_LOLOS:
        ctx.say(t.gettext("Belum lolos di gelombang terakhir? Anda bisa ikut lagi di gelombang berikutnya tanpa"
                          " mengisi semua data lagi."),
                rows(reregister_button(ctx), command_button(ctx, "syarat"), per_row=2))


def acknowledge(ctx: Context) -> None:
    """"ok", "sip", an emoji, a sticker: something friendly, never "not understood"."""
    ctx.say(ctx.t.gettext("👍 Siap. Kalau ada yang ingin ditanyakan, tulis saja atau pilih dari menu."),
            rows(command_button(ctx, "menu")))


async def ask(ctx: Context, got: Interpretation) -> None:
    buttons = await _choices(ctx, got, got.choices)
    if len(buttons) < 2:  # nothing left to choose between: say what the bot can do instead
        await not_understood(ctx, got)
        return
    ctx.say(ctx.t.gettext("Maksud Anda yang mana?"), rows(*buttons, command_button(ctx, "menu")))


async def not_understood(ctx: Context, got: Interpretation) -> None:
    """What the bot can help with, the closest things it can do as buttons, and the way to a person."""
    t = ctx.t
    await _tell_observers(ctx, got)
    contact = contact_button(ctx)
    if contact is not None and ctx.step is Step.MENU_MISSED:  # the second miss in a row: a person first (issue 8)
        await ctx.end_step()
        ctx.say(t.gettext("Maaf, saya masih belum mengerti. Ingin bertanya langsung kepada petugas? Tekan"
                          " <b>Hubungi petugas</b>, atau pilih dari menu."),
                rows(contact, command_button(ctx, "menu"), per_row=2))
        return
    if contact is not None:
        await ctx.set_step(Step.MENU_MISSED)
    closest = await _choices(ctx, got, got.choices or DEFAULT_CHOICES)
    if not closest:
        closest = await _choices(ctx, got, DEFAULT_CHOICES)
    ctx.say(t.gettext("Maaf, saya belum bisa menjawab itu. Saya bisa membantu soal Kartu Prakerja: hasil seleksi,"
                      " kartu dan saldo, pelatihan, syarat peserta, dan pertanyaan umum program. Mungkin ini yang"
                      " Anda cari:"),
            rows(*closest, *((contact,) if contact and contact not in closest else ()), command_button(ctx, "menu")))


async def _choices(ctx: Context, got: Interpretation, intents: tuple[str, ...]) -> list[Button]:
    """A button for each intent that can be offered to this person (small talk and repeats left out)."""
    book = await faq.book(ctx)
    buttons: list[Button] = []
    for intent in intents:
        button: Button | None = None
        if intent.startswith(FAQ_PREFIX):
            entry = book.entries.get(intent.removeprefix(FAQ_PREFIX))
            button = faq.faq_button(ctx, entry) if entry is not None else None
        elif intent == Intent.TRAINING_SEARCH and got.slots.get("query"):
            button = trainings.search_button(ctx, got.slots["query"])
        elif intent == Intent.RESULT and ctx.account is None:
            button = command_button(ctx, "hubungkan")
        elif intent == Intent.ELIGIBILITY and is_lolos(ctx):
            button = None
        elif intent == Intent.HUMAN:
            button = contact_button(ctx)
        elif intent in COMMANDS:
            button = command_button(ctx, COMMANDS[intent])
        if button is not None and all(b.payload != button.payload for b in buttons):
            buttons.append(button)
    return buttons


async def _tell_observers(ctx: Context, got: Interpretation) -> None:
    if not ctx.services.not_understood:
        return
    note = NotUnderstood(mask_personal(ctx.event.text.strip()), ctx.t.locale, ctx.event.channel.value, ctx.now(),
                         got.choices)
    for observe in ctx.services.not_understood:
        try:
            await observe(note)
        except Exception:  # counting must never cost the person their answer
            log.exception("a not-understood observer failed")
