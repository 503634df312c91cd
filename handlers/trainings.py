"""Find trainings in the catalogue (/pelatihan KATA): by keyword, category or platform, within the balance, paged.

A linked applicant with a balance only sees what that balance can pay for; everyone else sees the whole
catalogue with a note that prices are not filtered. Paging buttons carry the whole query in their payload
(offset, kind, keyword), so any page can be opened again later, after a restart or from another process. The
payload has to fit Telegram's 64 bytes: a keyword is cut, at a character boundary, to what fits *before* the
first search, so every page of one search uses the same words. Categories and platforms travel as numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers import scam
from handlers.api import ACTION_SEPARATOR, MAX_ACTION_BYTES, AnyButton, Button, LinkButton, rows
from handlers.context import Context, FlowState, Step
from handlers.digits import parse_int
from handlers.guide import tick, why_not_ticked
from handlers.identity import looks_like_nik
from handlers.menu import is_lolos
from handlers.router import GO, Routes, escape
from handlers.understanding import Intent, Verdict
from storage import Progress
from storage.models import Platform, Training

routes = Routes()

TRAINING_PAGE = "trp"
TRAINING_DETAIL = "trd"
TRAINING_CHOOSE = "trc"

MAX_KEYWORD_CHARS = 50
MAX_OFFSET = 99_999
BUTTON_LABEL_CHARS = 40
# Words that say "a training" rather than which one: "/pelatihan kursus barista" searches for "barista".
FILLER_WORDS = frozenset({"pelatihan", "kursus", "kelas", "training", "trainings", "course", "courses"})

# Kinds of query; each is one character in the payload.
KEYWORD, CATEGORY, PLATFORM, EVERYTHING = "k", "c", "p", "a"
# "trp:<offset>:<kind><value>": what is left for the value once the longest offset is in.
QUERY_BYTES = (
    MAX_ACTION_BYTES - len(TRAINING_PAGE) - len(ACTION_SEPARATOR) - len(str(MAX_OFFSET)) - len(":") - len(KEYWORD)
)


@dataclass(frozen=True, slots=True)
class Query:
    kind: str
    value: str = ""

    def arg(self, offset: int) -> str:
        return f"{offset}:{self.kind}{self.value}"

    @classmethod
    def parse(cls, arg: str) -> tuple[Query, int] | None:
        """A page payload back into a query and an offset; None for anything forged or malformed."""
        offset, _, rest = arg.partition(":")
        if parse_int(offset, max_digits=len(str(MAX_OFFSET))) is None or not rest:
            return None
        kind, value = rest[0], rest[1:]
        if kind == KEYWORD:
            value = fit_keyword(normalize_keyword(value))
            return (cls(kind, value), int(offset)) if value else None
        if kind in (CATEGORY, PLATFORM) and parse_int(value, max_digits=len(str(MAX_OFFSET))) is not None:
            return cls(kind, value), int(offset)
        if kind == EVERYTHING and not value:
            return cls(kind), int(offset)
        return None


def normalize_keyword(text: str) -> str:
    return " ".join(text.lower().split())


def fit_keyword(keyword: str) -> str:
    """The keyword cut to what fits a button payload, never in the middle of a character."""
    return keyword.encode()[:QUERY_BYTES].decode("utf-8", "ignore").strip()


def search_words(keyword: str) -> list[str]:
    return [word for word in keyword.split() if word not in FILLER_WORDS]


def _label(text: str) -> str:
    return text if len(text) <= BUTTON_LABEL_CHARS else text[: BUTTON_LABEL_CHARS - 1].rstrip() + "…"


def platform_trainings_button(ctx: Context, platform: Platform) -> Button:
    return Button(ctx.t.gettext("Pelatihan di {name}").format(name=platform.name), TRAINING_PAGE,
                  Query(PLATFORM, str(platform.position)).arg(0))


def _budget(ctx: Context) -> int | None:
    account = ctx.account
    return account.balance if account is not None else None


def _budget_note(ctx: Context) -> str:
    t = ctx.t
    budget = _budget(ctx)
    if budget is not None:
        return t.gettext("Hanya pelatihan dengan harga sampai sisa saldo Anda: <b>{amount}</b>.").format(
            amount=t.money(budget)
        )
    if ctx.account is None:
        return t.gettext(
            "Harga belum disaring sesuai saldo. Hubungkan akun Prakerja Anda agar hanya pelatihan yang terjangkau"
            " saldo Anda yang ditampilkan."
        )
    return t.gettext("Akun Anda belum memiliki saldo pelatihan, jadi harga belum disaring.")


async def in_catalogue(ctx: Context, text: str) -> bool:
    """Do typed words name trainings in the catalogue ("excel", "menjahit" on their own)?"""
    keyword = fit_keyword(normalize_keyword(text))
    words = search_words(keyword)
    if not words or looks_like_nik(keyword):
        return False
    _, total = await ctx.storage.catalogue.search_trainings(words, None, 0, 1)
    return total > 0


def search_button(ctx: Context, text: str) -> Button | None:
    """A button that searches typed words ("Cari “menjahit”"), when they make a keyword."""
    keyword = fit_keyword(normalize_keyword(text))
    if not keyword or looks_like_nik(keyword):
        return None
    label = ctx.t.gettext("Cari “{keyword}”").format(keyword=keyword)
    return Button(_label(label), TRAINING_PAGE, Query(KEYWORD, keyword).arg(0))


async def _category_buttons(ctx: Context) -> tuple[tuple[AnyButton, ...], ...]:
    t = ctx.t
    categories = await ctx.storage.catalogue.categories()
    buttons = rows(*(Button(name, TRAINING_PAGE, Query(CATEGORY, str(i)).arg(0)) for i, name in enumerate(categories)),
                   per_row=2)
    return buttons + rows(Button(t.gettext("Semua pelatihan"), TRAINING_PAGE, Query(EVERYTHING).arg(0)),
                          Button(t.gettext("Menu"), GO, "menu"), per_row=2)


async def _ask_keyword(ctx: Context, text: str) -> None:
    """Wait for a typed keyword, with the categories as buttons."""
    await ctx.set_step(Step.TRAINING_AWAIT_KEYWORD)
    ctx.say(text, await _category_buttons(ctx))


@routes.command("pelatihan", "training")
async def find(ctx: Context) -> None:
    if ctx.args:
        await search(ctx, ctx.args)
        return
    t = ctx.t
    await _ask_keyword(
        ctx,
        t.gettext("<b>Cari pelatihan</b>\nKetik kata kunci, misalnya <i>excel</i>, <i>barista</i> atau <i>bahasa"
                  " inggris</i>, atau pilih kategori:") + "\n" + _budget_note(ctx),
    )


# What the keyword step keeps as a keyword even when it names no training: searches, and small talk.
KEYWORD_INTENTS = frozenset({Intent.TRAINING_SEARCH, Intent.GREETING, Intent.THANKS, Intent.ACK})


@routes.step(Step.TRAINING_AWAIT_KEYWORD)
async def keyword_typed(ctx: Context) -> bool | None:
    text = ctx.event.text
    if scam.find_links(text):  # a pasted link is not a keyword: check it instead
        await ctx.end_step()
        await scam.check(ctx, text)
        return None
    got = ctx.services.understanding.understand(text)
    if (got.verdict is Verdict.ANSWER and got.intent not in KEYWORD_INTENTS and not looks_like_nik(text)
            and not await in_catalogue(ctx, text)):  # "saldo sy brp" typed here: a question, not a keyword
        await ctx.end_step()
        return False
    # Typed as people write ("mau belajar excel kak"): the topic, without the words around it. One word, a NIK or
    # a keyword too long is searched (or refused) as typed.
    keyword = normalize_keyword(text)
    several = 1 < len(keyword.split()) and len(keyword) <= MAX_KEYWORD_CHARS and not looks_like_nik(text)
    topic = ctx.services.understanding.search_topic(text) if several else ""
    await search(ctx, topic or text)
    return None


async def search(ctx: Context, text: str) -> None:
    """Search the catalogue for typed words (the command's argument, the keyword step, or free text)."""
    t = ctx.t
    if looks_like_nik(text):  # never searched, never put into a button, never repeated (the router deletes it)
        await _ask_keyword(ctx, t.gettext("Itu tampak seperti NIK atau nomor kartu: tidak kami cari dan pesannya kami"
                                          " hapus bila bisa. Jangan kirim NIK di sini. Ketik nama pelatihan, misalnya"
                                          " <i>excel</i>, atau pilih kategori:"))
        return
    keyword = normalize_keyword(text)
    if not keyword:
        await _ask_keyword(ctx, t.gettext("Kata kuncinya kosong. Ketik satu atau beberapa kata, misalnya <i>excel</i>,"
                                          " atau pilih kategori:"))
        return
    if len(keyword) > MAX_KEYWORD_CHARS:
        await _ask_keyword(ctx, t.gettext("Kata kuncinya terlalu panjang ({count} huruf; paling banyak {limit})."
                                          " Ketik satu atau dua kata saja, atau pilih kategori:").format(
            count=len(keyword), limit=MAX_KEYWORD_CHARS))
        return
    fitted = fit_keyword(keyword)
    if not fitted:
        await _ask_keyword(ctx, t.gettext("Kata kunci itu tidak bisa dipakai. Ketik kata lain, atau pilih kategori:"))
        return
    await _show_page(ctx, Query(KEYWORD, fitted), 0)


@routes.action(TRAINING_PAGE)
async def page(ctx: Context) -> None:
    parsed = Query.parse(ctx.event.arg)
    if parsed is None:
        await _ask_keyword(ctx, ctx.t.gettext("Tombol itu sudah tidak berlaku. Ketik kata kunci atau pilih kategori:"))
        return
    await _show_page(ctx, *parsed)


@dataclass(frozen=True, slots=True)
class Filters:
    """What a query searches: words, or a category, or a platform (the catalogue's terms)."""

    words: list[str]
    category: str | None = None
    platform_id: str | None = None
    platform_name: str = ""


async def _filters(ctx: Context, query: Query) -> Filters | None:
    """The query in the catalogue's terms; None when its category or platform is no longer listed."""
    catalogue = ctx.storage.catalogue
    if query.kind == KEYWORD:
        return Filters(search_words(query.value))
    if query.kind == CATEGORY:
        categories = await catalogue.categories()
        index = int(query.value)
        return Filters([], category=categories[index]) if index < len(categories) else None
    if query.kind == PLATFORM:
        platform = next((p for p in await catalogue.platforms() if p.position == int(query.value)), None)
        return Filters([], platform_id=platform.id, platform_name=platform.name) if platform else None
    return Filters([])


async def _search(ctx: Context, filters: Filters, offset: int, size: int) -> tuple[list[Training], int]:
    return await ctx.storage.catalogue.search_trainings(filters.words, _budget(ctx), offset, size,
                                                        category=filters.category, platform_id=filters.platform_id)


async def _show_page(ctx: Context, query: Query, offset: int) -> None:
    t = ctx.t
    filters = await _filters(ctx, query)
    if filters is None:
        await _ask_keyword(ctx, t.gettext("Daftar kategori sudah berubah. Pilih lagi:") if query.kind == CATEGORY else
                           t.gettext("Daftar platform sudah berubah. Ketik kata kunci atau pilih kategori:"))
        return
    if query.kind == KEYWORD:
        title = t.gettext("Hasil pencarian “{keyword}”").format(keyword=escape(query.value))
    elif filters.category is not None:
        title = t.gettext("Kategori {category}").format(category=escape(filters.category))
    elif filters.platform_id is not None:
        title = t.gettext("Pelatihan di {name}").format(name=escape(filters.platform_name))
    else:
        title = t.gettext("Semua pelatihan")
    size = ctx.config.page_size
    found, total = await _search(ctx, filters, offset, size)
    if not found and total:  # an offset past the end (an old button): show the last page
        offset = (total - 1) // size * size
        found, total = await _search(ctx, filters, offset, size)
    words, category, platform_id = filters.words, filters.category, filters.platform_id
    platforms = await ctx.storage.catalogue.platforms()
    if not found:
        await _nothing_found(ctx, title, words, category, platform_id)
        return
    # The page stays on screen: a typed number means the number shown there (issue 13).
    await ctx.set_step(Step.TRAINING_LIST, FlowState(page=query.arg(offset)))
    names = {p.id: p.name for p in platforms}
    if total <= size:
        counted = t.ngettext("{total} pelatihan ditemukan:", "{total} pelatihan ditemukan:", total)
    else:
        counted = t.gettext("Pelatihan {first}–{last} dari {total}:")
    lines = [f"<b>{title}</b>", _budget_note(ctx), "",
             counted.format(first=offset + 1, last=offset + len(found), total=total)]
    for number, training in enumerate(found, start=offset + 1):
        lines.append(f"\n{number}. <b>{escape(training.title)}</b>\n{_facts(ctx, training, names)}")
    buttons = rows(*(Button(f"{n}. {_label(tr.title)}", TRAINING_DETAIL, tr.id)
                     for n, tr in enumerate(found, start=offset + 1)))
    navigation = []
    if offset > 0:
        navigation.append(Button(t.gettext("◀ Sebelumnya"), TRAINING_PAGE, query.arg(max(0, offset - size))))
    if offset + size < total and offset + size <= MAX_OFFSET:
        navigation.append(Button(t.gettext("Berikutnya ▶"), TRAINING_PAGE, query.arg(offset + size)))
    buttons += rows(*navigation, per_row=2)
    buttons += rows(Button(t.gettext("🔎 Cari lagi"), GO, "pelatihan"), Button(t.gettext("Menu"), GO, "menu"),
                    per_row=2)
    ctx.say("\n".join(lines), buttons, replace=ctx.event.action == TRAINING_PAGE)


def _facts(ctx: Context, training: Training, names: dict[str, str]) -> str:
    t = ctx.t
    facts = [escape(names.get(training.platform_id, training.platform_id)), t.money(training.price)]
    if training.hours:
        facts.append(_hours(ctx, training.hours))
    return " · ".join(facts)


def _hours(ctx: Context, hours: int) -> str:
    return ctx.t.ngettext("{hours} jam", "{hours} jam", hours).format(hours=hours)


async def _nothing_found(
    ctx: Context, title: str, words: list[str], category: str | None, platform_id: str | None
) -> None:
    t = ctx.t
    lines = [f"<b>{title}</b>", t.gettext("Tidak ada pelatihan yang cocok.")]
    budget = _budget(ctx)
    if budget is not None:
        _, over_budget = await ctx.storage.catalogue.search_trainings(words, None, 0, 1, category=category,
                                                                      platform_id=platform_id)
        if over_budget:
            lines.append(t.ngettext(
                "{count} pelatihan cocok, tetapi harganya melebihi sisa saldo Anda ({amount}).",
                "{count} pelatihan cocok, tetapi harganya melebihi sisa saldo Anda ({amount}).",
                over_budget,
            ).format(count=over_budget, amount=t.money(budget)))
    lines.append(t.gettext("Coba kata kunci lain, atau pilih kategori:"))
    await _ask_keyword(ctx, "\n".join(lines))


async def _training_from_button(ctx: Context) -> tuple[Training, str] | None:
    """The training a detail/choose button names, with its platform's name; None (and a reply) if it is gone."""
    training = await ctx.storage.catalogue.training(ctx.event.arg) if ctx.event.arg else None
    if training is None:
        await _ask_keyword(ctx, ctx.t.gettext("Pelatihan itu tidak ada lagi di katalog. Cari lagi:"))
        return None
    platforms = await ctx.storage.catalogue.platforms()
    name = next((p.name for p in platforms if p.id == training.platform_id), training.platform_id)
    return training, name


def _affordable(ctx: Context, training: Training) -> bool:
    budget = _budget(ctx)
    return budget is None or training.price <= budget


def list_on_screen(ctx: Context) -> bool:
    return ctx.step is Step.TRAINING_LIST and ctx.state.page is not None


async def open_numbered(ctx: Context, number: int) -> bool:
    """A typed number while a page of trainings is on screen: the training with that number on the page (on page 2
    of five a page, "7" is training 7). False when nothing on screen has that number."""
    page = ctx.state.page if ctx.step is Step.TRAINING_LIST else None
    parsed = Query.parse(page) if page else None
    if parsed is None:
        return False
    query, offset = parsed
    size = ctx.config.page_size
    if not offset < number <= offset + size:
        return False
    filters = await _filters(ctx, query)
    found, _ = await _search(ctx, filters, number - 1, 1) if filters is not None else ([], 0)
    if not found:
        return False
    training = found[0]
    platforms = await ctx.storage.catalogue.platforms()
    name = next((p.name for p in platforms if p.id == training.platform_id), training.platform_id)
    _detail(ctx, training, name)
    return True


@routes.action(TRAINING_DETAIL)
async def detail(ctx: Context) -> None:
    found = await _training_from_button(ctx)
    if found is None:
        return
    _detail(ctx, *found)


def _detail(ctx: Context, training: Training, platform_name: str) -> None:
    t = ctx.t
    lines = [
        f"<b>{escape(training.title)}</b>",
        t.gettext("Platform: {name}").format(name=escape(platform_name)),
        t.gettext("Kategori: {category}").format(category=escape(training.category)),
        t.gettext("Harga: <b>{price}</b>").format(price=t.money(training.price)),
    ]
    if training.hours:
        lines.append(t.gettext("Durasi: {hours}").format(hours=_hours(ctx, training.hours)))
    budget = _budget(ctx)
    if budget is not None:
        lines.append(
            t.gettext("Sisa saldo Anda ({amount}) cukup untuk pelatihan ini.").format(amount=t.money(budget))
            if _affordable(ctx, training)
            else t.gettext("Harga ini melebihi sisa saldo Anda ({amount}).").format(amount=t.money(budget))
        )
    lines += ["", t.gettext("Beli di situs {name} sendiri dan bayar dengan Nomor Kartu Prakerja. Jangan berikan kode"
                            " OTP kepada siapa pun.").format(name=escape(platform_name))]
    buttons: list[AnyButton] = [LinkButton(t.gettext("Buka di {name}").format(name=platform_name), training.url)]
    if _affordable(ctx, training) and is_lolos(ctx):  # choosing ticks the guide: Lolos applicants only
        buttons.append(Button(t.gettext("✅ Pilih pelatihan ini"), TRAINING_CHOOSE, training.id))
    buttons += [Button(t.gettext("🔎 Cari lagi"), GO, "pelatihan"), Button(t.gettext("Menu"), GO, "menu")]
    ctx.say("\n".join(lines), rows(*buttons))


@routes.action(TRAINING_CHOOSE)
async def choose(ctx: Context) -> None:
    t = ctx.t
    found = await _training_from_button(ctx)
    if found is None:
        return
    training, platform_name = found
    if not _affordable(ctx, training):
        await _ask_keyword(ctx, t.gettext(
            "Harga <b>{title}</b> ({price}) melebihi sisa saldo Anda. Pilih pelatihan lain:"
        ).format(title=escape(training.title), price=t.money(training.price)))
        return
    if not await tick(ctx, Progress.TRAINING_CHOSEN):  # the guide goes in order, and only for Lolos applicants
        text, buttons = why_not_ticked(ctx, Progress.TRAINING_CHOSEN)
        ctx.say(t.gettext("Pilihan Anda belum dicatat di panduan.") + " " + text, buttons)
        return
    ctx.say(
        t.gettext(
            "✅ Pilihan Anda dicatat: <b>{title}</b> di {name}.\n\n<b>Langkah berikutnya</b>: buka {name}, beli"
            " pelatihan ini, dan bayar dengan Nomor Kartu Prakerja Anda. Setelah membeli, tandai di Panduan"
            " pelatihan."
        ).format(title=escape(training.title), name=escape(platform_name)),
        rows(
            LinkButton(t.gettext("Buka di {name}").format(name=platform_name), training.url),
            Button(t.gettext("Panduan pelatihan"), GO, "panduan"),
            Button(t.gettext("Menu"), GO, "menu"),
        ),
    )
