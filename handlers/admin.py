"""Admins: import registry records (/impor), waves (/gelombang), publishing results (/umumkan), broadcasts
(/siaran, /siaran_status), roles (/peran); and how the outbox renders each queued message for its recipient.

Every route here is for admins only (the router checks before the handler runs, for commands and for every
button); button arguments are parsed as untrusted input. Nothing is sent from here: publishing and
broadcasting queue deliveries in the outbox, which the sender (bot/sender) delivers at the platform's pace.
"""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from handlers.api import Button, Event, EventKind, FileError, LinkButton, Reply, notice_reply, rows
from handlers.context import Context, FlowState, Services, Step
from handlers.i18n import N_, WIB, Translator, translator
from handlers.menu import document as applicant_document
from handlers.menu import show_menu
from handlers.results import standing_text
from handlers.roles import Channel, Principal, Role, parse_principal
from handlers.router import ADMINS, GO, Routes, escape
from storage.models import (
    Audience,
    AuditEntry,
    Broadcast,
    BroadcastKind,
    BroadcastState,
    BroadcastStats,
    Chat,
    ChatSnapshot,
    Claim,
    GuideGap,
    ImportCounts,
    Wave,
    WaveResult,
    WaveStanding,
)

routes = Routes()
DraftHandler = Callable[[Context, Broadcast], Awaitable[None]]

# Platform limits, mirrored here because handlers import no platform; a test checks them against
# telegram.constants (MessageLimit.MAX_TEXT_LENGTH, MessageLimit.CAPTION_LENGTH, FileSizeLimit.*).
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_PHOTO_BYTES = 10_000_000  # FileSizeLimit.PHOTOSIZE_UPLOAD
MAX_IMPORT_BYTES = 20_000_000  # FileSizeLimit.FILESIZE_DOWNLOAD: the largest file a bot may download
CSV_TYPES = frozenset({"text/csv", "text/plain", "application/csv", "application/vnd.ms-excel",
                       "text/comma-separated-values", "application/octet-stream"})
MAX_PROBLEMS_SHOWN = 15
RECENT_STATUS = timedelta(hours=24)
STATUS_LIMIT = 5
AUDIT_LIMIT = 20

# Button actions (payload "action:arg", at most 64 bytes).
WAVE_TIME = "adm_wtime"
WAVE_NEW = "adm_wnew"
PUBLISH_ASK = "adm_pub"
PUBLISH_OK = "adm_pub_ok"
DRAFT_SHOW = "adm_b_show"
DRAFT_AUDIENCE = "adm_b_aud"
DRAFT_TEXT = "adm_b_text"
DRAFT_PHOTO = "adm_b_photo"
DRAFT_VIDEO = "adm_b_video"
DRAFT_PREVIEW = "adm_b_prev"
DRAFT_SEND = "adm_b_send"
DRAFT_GO = "adm_b_go"
DRAFT_SCHEDULE = "adm_b_sched"
DRAFT_AT = "adm_b_at"
DRAFT_DROP = "adm_b_drop"
STATUS_REFRESH = "adm_st"
STATUS_PAUSE = "adm_st_pause"
STATUS_RESUME = "adm_st_resume"
STATUS_CANCEL = "adm_st_cancel"
STATUS_CANCEL_OK = "adm_st_cancel_ok"
ROLE_OK = "adm_role_ok"

CHANNEL_NAMES = {Channel.TELEGRAM.value: "Telegram", Channel.WHATSAPP.value: "WhatsApp",
                 Channel.CONSOLE.value: "Terminal"}
AUDIENCE_CHANNELS = (None, Channel.TELEGRAM.value, Channel.WHATSAPP.value)
GAP_LABELS = {GuideGap.VIDEO: N_("belum menonton video"), GuideGap.PLATFORMS: N_("belum membandingkan platform"),
              GuideGap.TRAINING: N_("belum membeli pelatihan")}
STATE_LABELS = {BroadcastState.DRAFT: N_("draf"), BroadcastState.SCHEDULED: N_("dijadwalkan"),
                BroadcastState.RUNNING: N_("berjalan"), BroadcastState.PAUSED: N_("dijeda"),
                BroadcastState.CANCELLED: N_("dibatalkan"), BroadcastState.DONE: N_("selesai")}
ROLE_WORDS = {"admin": Role.ADMIN, "support": Role.SUPPORT, "dukungan": Role.SUPPORT, "layanan": Role.SUPPORT,
              "cabut": Role.APPLICANT, "hapus": Role.APPLICANT}
ROLE_LABELS = {Role.ADMIN: N_("admin"), Role.SUPPORT: N_("petugas layanan"), Role.APPLICANT: N_("pemohon")}


# --- the registry import service (bot/ provides it; handlers import nothing from bot/) -----------------------
@dataclass(frozen=True, slots=True)
class ImportReport:
    counts: ImportCounts | None  # None: nothing was imported (see problems)
    problems: tuple[str, ...] = ()  # "baris 12, kolom nik: ...", in the admin's language (the first ones)
    total_problems: int = 0


class RecordImporter(Protocol):
    async def import_csv(self, data: bytes, t: Translator) -> ImportReport:
        """Validate the whole file and import it all, or nothing with the problems found."""
        ...


# --- staff command menus (setMyCommands per chat; the sender registers them) ---------------------------------
STAFF_COMMANDS: tuple[tuple[str, str, Role], ...] = (
    ("cari", N_("Cari pengguna: /cari NOMOR ALASAN"), Role.SUPPORT),
    ("buka", N_("Buka kunci penghubungan: /buka NOMOR ALASAN"), Role.SUPPORT),
    ("lepas", N_("Putuskan akun dari chat: /lepas NOMOR ALASAN"), Role.SUPPORT),
    ("staf", N_("Perintah petugas"), Role.SUPPORT),
    ("impor", N_("Impor data pendaftar (CSV)"), Role.ADMIN),
    ("gelombang", N_("Daftar gelombang dan jadwal pengumuman"), Role.ADMIN),
    ("umumkan", N_("Umumkan hasil gelombang: /umumkan N"), Role.ADMIN),
    ("siaran", N_("Buat siaran"), Role.ADMIN),
    ("siaran_status", N_("Status siaran dan pengumuman"), Role.ADMIN),
    ("peran", N_("Beri atau cabut peran petugas"), Role.ADMIN),
    ("audit", N_("Log audit"), Role.ADMIN),
    ("tiket", N_("Tiket bantuan yang terbuka"), Role.ADMIN),  # handlers/handoff.py (issue 8)
)
BASIC_COMMANDS: tuple[tuple[str, str], ...] = (
    ("menu", N_("Menu utama")),
    ("bantuan", N_("Bantuan dan daftar perintah")),
)


def staff_commands(role: Role, locale: str) -> list[tuple[str, str]]:
    """The command menu of a staff member's chat: their staff commands, then the basics. Empty for applicants."""
    if role is Role.APPLICANT:
        return []
    t = translator(locale)
    allowed = {Role.SUPPORT} if role is Role.SUPPORT else {Role.SUPPORT, Role.ADMIN}
    own = [(name, t.gettext(text)) for name, text, needs in STAFF_COMMANDS if needs in allowed]
    return own + [(name, t.gettext(text)) for name, text in BASIC_COMMANDS]


# --- helpers -------------------------------------------------------------------------------------------------
def parse_int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) <= 9 else None


_DATE_TIME = re.compile(
    r"^(?:(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})[-/.](?P<y>\d{4})|(?P<y2>\d{4})-(?P<m2>\d{1,2})-(?P<d2>\d{1,2}))?"
    r"\s*(?:pukul\s*|jam\s*)?(?P<hh>\d{1,2})[:.](?P<mm>\d{2})\s*(?:wib)?$",
    re.IGNORECASE,
)


def parse_wib(text: str, now: datetime) -> datetime | None:
    """'25-09-2021 17:00', '25/09/2021 17.00 WIB', '2021-09-25 17:00' or '17:00' (today) in WIB -> UTC."""
    match = _DATE_TIME.match(text.strip())
    if match is None:
        return None
    today = now.astimezone(WIB)
    if match["y"]:
        year, month, day = int(match["y"]), int(match["m"]), int(match["d"])
    elif match["y2"]:
        year, month, day = int(match["y2"]), int(match["m2"]), int(match["d2"])
    else:
        year, month, day = today.year, today.month, today.day
    try:
        return datetime(year, month, day, int(match["hh"]), int(match["mm"]), tzinfo=WIB).astimezone(UTC)
    except ValueError:
        return None


def time_example(t: Translator) -> str:
    return t.gettext("Contoh: <code>25-09-2021 17:00</code> atau <code>17:00</code> untuk hari ini (WIB).")


def shorten(text: str, limit: int = 120) -> str:
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    plain = " ".join(plain.split())
    return escape(plain if len(plain) <= limit else plain[: limit - 1] + "…")


def number(t: Translator, value: int) -> str:
    """1.234 in Indonesian, 1,234 in English (as Babel formats rupiah, without the currency)."""
    return t.money(value).removeprefix("Rp")


def role_label(t: Translator, role: str) -> str:
    try:
        return t.gettext(ROLE_LABELS[Role(role)])
    except ValueError:
        return escape(role)


def audit_line(t: Translator, entry: AuditEntry) -> str:
    parts = [t.time(entry.at), escape(entry.actor), role_label(t, entry.role), escape(entry.action)]
    if entry.subject:
        parts.append(escape(entry.subject))
    if entry.detail:
        parts.append("<i>" + escape(entry.detail) + "</i>")
    return " · ".join(parts)


# --- /impor ----------------------------------------------------------------------------------------------------
@routes.command("impor", "import", roles=ADMINS)
async def import_start(ctx: Context) -> None:
    t = ctx.t
    await ctx.set_step(Step.ADMIN_AWAIT_CSV)
    ctx.say(
        t.gettext(
            "Kirim berkas CSV data pendaftar sebagai <b>dokumen</b> (maksimal 20 MB), dengan format impor yang sama"
            " seperti <code>python -m bot import</code>. Semua baris diperiksa dulu: jika ada yang salah, tidak"
            " ada data yang diimpor dan saya sebutkan baris dan kolomnya."
        ),
        rows(Button(t.gettext("Batal"), GO, "menu")),
    )


@routes.step(Step.ADMIN_AWAIT_CSV)
async def import_waiting(ctx: Context) -> None:
    t = ctx.t
    ctx.say(t.gettext("Saya menunggu berkas CSV sebagai dokumen. Ketik <b>batal</b> untuk berhenti."),
            rows(Button(t.gettext("Batal"), GO, "menu")))


async def document_received(ctx: Context) -> None:
    """A file or photo: an admin's CSV upload or broadcast photo when asked for; otherwise the applicant answer."""
    if ctx.role is Role.ADMIN and ctx.step is Step.ADMIN_AWAIT_CSV:
        await _import_file(ctx)
        return
    if ctx.role is Role.ADMIN and ctx.step is Step.BROADCAST_AWAIT_PHOTO:
        await _photo_received(ctx)
        return
    if ctx.role is Role.ADMIN and ctx.event.document is not None:
        t = ctx.t
        ctx.say(t.gettext("Untuk mengimpor data pendaftar, kirim /impor dulu, lalu kirim berkasnya."),
                rows(Button(t.gettext("Impor data"), GO, "impor")))
        return
    await applicant_document(ctx)


async def _import_file(ctx: Context) -> None:
    t = ctx.t
    document = ctx.event.document
    retry = rows(Button(t.gettext("Batal"), GO, "menu"))
    if document is None:
        ctx.say(t.gettext("Itu foto, bukan berkas CSV. Kirim berkas CSV sebagai dokumen."), retry)
        return
    name = document.file_name.lower()
    if not name.endswith(".csv") and (document.mime_type or "") not in CSV_TYPES - {"application/octet-stream"}:
        ctx.say(t.gettext("Berkas <b>{name}</b> bukan berkas CSV. Kirim berkas berakhiran .csv.").format(
            name=escape(document.file_name or "?")), retry)
        return
    if document.size > MAX_IMPORT_BYTES:
        ctx.say(t.gettext("Berkas terlalu besar ({size} MB). Batasnya 20 MB: bagi menjadi beberapa berkas.").format(
            size=round(document.size / 1_000_000, 1)), retry)
        return
    fetcher = ctx.services.files.get(ctx.event.channel)
    importer = ctx.services.importer
    if fetcher is None or importer is None:
        await ctx.end_step()
        ctx.say(t.gettext("Impor lewat chat belum tersedia di sini. Gunakan <code>python -m bot admin import"
                          " BERKAS.csv</code> di server."))
        return
    try:
        data = await fetcher.fetch(document.file_id, MAX_IMPORT_BYTES)
    except FileError as exc:
        if exc.too_large:
            ctx.say(t.gettext("Berkas terlalu besar. Batasnya 20 MB: bagi menjadi beberapa berkas."), retry)
        else:
            ctx.say(t.gettext("Berkas tidak bisa diunduh. Silakan kirim ulang."), retry)
        return
    report = await importer.import_csv(data, t)
    if report.counts is None:
        lines = [t.gettext("<b>Tidak ada data yang diimpor</b>: perbaiki kesalahan berikut lalu kirim ulang"
                           " berkasnya.")]
        lines += ["• " + escape(problem) for problem in report.problems[:MAX_PROBLEMS_SHOWN]]
        more = max(report.total_problems, len(report.problems)) - min(len(report.problems), MAX_PROBLEMS_SHOWN)
        if more > 0:
            lines.append(t.ngettext("… dan {n} kesalahan lain", "… dan {n} kesalahan lain", more).format(n=more))
        ctx.say("\n".join(lines), retry)
        await ctx.storage.audit.record(ctx.actor, ctx.role.value, "import_refused", None,
                                       f"{report.total_problems} problems")
        return
    counts = report.counts
    await ctx.end_step()
    await ctx.storage.audit.record(ctx.actor, ctx.role.value, "import", None,
                                   f"new={counts.new} updated={counts.updated} unchanged={counts.unchanged}")
    ctx.say(
        t.gettext("<b>Impor selesai</b>: {new} baru, {updated} diperbarui, {unchanged} tidak berubah.").format(
            new=number(t, counts.new), updated=number(t, counts.updated), unchanged=number(t, counts.unchanged)),
        rows(Button(t.gettext("Lihat gelombang"), GO, "gelombang"), Button(t.gettext("Menu"), GO, "menu")),
    )


# --- /gelombang ------------------------------------------------------------------------------------------------
@routes.command("gelombang", "waves", roles=ADMINS)
async def waves(ctx: Context) -> None:
    t = ctx.t
    summaries = await ctx.storage.staff.wave_summaries()
    if not summaries:
        ctx.say(t.gettext("Belum ada gelombang. Impor data pendaftar dengan /impor, atau buat gelombang baru."),
                rows(Button(t.gettext("Gelombang baru"), WAVE_NEW)))
        return
    lines = [t.gettext("<b>Gelombang</b>")]
    buttons: list[Button] = []
    for s in summaries:
        wave = s.wave
        lines.append(t.gettext(
            "<b>Gelombang {n}</b>: {accounts} akun ({lolos} lolos, {tidak} tidak lolos), {linked} chat terhubung"
        ).format(n=wave.number, accounts=number(t, s.accounts), lolos=number(t, s.lolos),
                 tidak=number(t, s.tidak_lolos), linked=number(t, s.linked_chats)))
        when = t.time(wave.announce_at) if wave.announce_at else t.gettext("belum dijadwalkan")
        if wave.published_at:
            lines.append("  " + t.gettext("Diumumkan {time}").format(time=t.time(wave.published_at)))
        else:
            lines.append("  " + t.gettext("Jadwal pengumuman: {time}").format(time=when))
            buttons.append(Button(t.gettext("Jadwal {n}").format(n=wave.number), WAVE_TIME, str(wave.number)))
            if s.lolos + s.tidak_lolos:
                buttons.append(Button(t.gettext("Umumkan {n}").format(n=wave.number), PUBLISH_ASK, str(wave.number)))
    buttons.append(Button(t.gettext("Gelombang baru"), WAVE_NEW))
    ctx.say("\n".join(lines), rows(*buttons, per_row=2))


@routes.action(WAVE_TIME, roles=ADMINS)
async def wave_time_ask(ctx: Context) -> None:
    t = ctx.t
    wave_number = parse_int(ctx.event.arg)
    wave = await ctx.storage.waves.get(wave_number) if wave_number is not None else None
    if wave is None:
        ctx.say(t.gettext("Gelombang itu tidak ada. Lihat /gelombang."))
        return
    if wave.published:
        ctx.say(t.gettext("Gelombang {n} sudah diumumkan; jadwalnya tidak bisa diubah lagi.").format(n=wave.number))
        return
    await ctx.set_step(Step.ADMIN_AWAIT_WAVE_TIME, FlowState(wave=wave.number))
    ctx.say(t.gettext("Ketik waktu pengumuman gelombang {n} (WIB).").format(n=wave.number) + "\n" + time_example(t),
            rows(Button(t.gettext("Batal"), GO, "gelombang")))


@routes.action(WAVE_NEW, roles=ADMINS)
async def wave_new_ask(ctx: Context) -> None:
    t = ctx.t
    await ctx.set_step(Step.ADMIN_AWAIT_WAVE_TIME, FlowState())
    ctx.say(t.gettext("Ketik nomor gelombang baru dan waktu pengumumannya (WIB), contoh:"
                      " <code>5 25-09-2021 17:00</code>."),
            rows(Button(t.gettext("Batal"), GO, "gelombang")))


@routes.step(Step.ADMIN_AWAIT_WAVE_TIME)
async def wave_time_typed(ctx: Context) -> None:
    t = ctx.t
    if ctx.role is not Role.ADMIN:  # the role was revoked mid-flow
        await ctx.end_step()
        show_menu(ctx)
        return
    text = ctx.event.text.strip()
    cancel = rows(Button(t.gettext("Batal"), GO, "gelombang"))
    wave_number = ctx.state.wave
    if wave_number is None:
        first, _, text = text.partition(" ")
        wave_number = parse_int(first)
        if wave_number is None or wave_number == 0:
            ctx.say(t.gettext("Awali dengan nomor gelombang, contoh: <code>5 25-09-2021 17:00</code>."), cancel)
            return
        if await ctx.storage.waves.get(wave_number) is not None:
            ctx.say(t.gettext("Gelombang {n} sudah ada. Ubah jadwalnya dari /gelombang.").format(n=wave_number),
                    cancel)
            return
    when = parse_wib(text, ctx.now())
    if when is None:
        ctx.say(t.gettext("Waktu itu tidak saya kenali.") + " " + time_example(t), cancel)
        return
    if when <= ctx.now():
        ctx.say(t.gettext("Waktu itu sudah lewat. Ketik waktu yang akan datang.") + " " + time_example(t), cancel)
        return
    existing = await ctx.storage.waves.get(wave_number)
    if existing is not None and existing.published:
        await ctx.end_step()
        ctx.say(t.gettext("Gelombang {n} sudah diumumkan; jadwalnya tidak bisa diubah lagi.").format(n=wave_number))
        return
    await ctx.storage.waves.set_announce_at(wave_number, when)
    await ctx.storage.audit.record(ctx.actor, ctx.role.value, "wave_time", f"wave:{wave_number}",
                                   when.isoformat(timespec="minutes"))
    await ctx.end_step()
    ctx.say(t.gettext("Pengumuman gelombang {n} dijadwalkan {time}.").format(n=wave_number, time=t.time(when)))
    await waves(ctx)


# --- /umumkan N ------------------------------------------------------------------------------------------------
@routes.command("umumkan", "publish", roles=ADMINS)
async def publish_command(ctx: Context) -> None:
    await _publish_preview(ctx, ctx.args)


@routes.action(PUBLISH_ASK, roles=ADMINS)
async def publish_button(ctx: Context) -> None:
    await _publish_preview(ctx, ctx.event.arg)


async def _wave_or_say(ctx: Context, text: str) -> Wave | None:
    t = ctx.t
    if not text.strip():
        ctx.say(t.gettext("Tulis nomor gelombangnya, contoh: <code>/umumkan 3</code>."),
                rows(Button(t.gettext("Lihat gelombang"), GO, "gelombang")))
        return None
    wave_number = parse_int(text)
    wave = await ctx.storage.waves.get(wave_number) if wave_number is not None else None
    if wave is None:
        ctx.say(t.gettext("Gelombang <b>{n}</b> tidak ada. Lihat daftar gelombang dengan /gelombang.").format(
            n=escape(text.strip()[:12])), rows(Button(t.gettext("Lihat gelombang"), GO, "gelombang")))
    return wave


async def _publish_preview(ctx: Context, text: str) -> None:
    t = ctx.t
    wave = await _wave_or_say(ctx, text)
    if wave is None:
        return
    count = await ctx.storage.outbox.count_results_audience(wave.number)
    summary = next((s for s in await ctx.storage.staff.wave_summaries() if s.wave.number == wave.number), None)
    decided = summary.lolos + summary.tidak_lolos if summary else 0
    if not decided:
        ctx.say(t.gettext("Gelombang {n} belum punya hasil (lolos / tidak lolos). Impor hasilnya dulu dengan"
                          " /impor.").format(n=wave.number))
        return
    if wave.published and count.total == 0:
        ctx.say(t.gettext("Gelombang {n} sudah diumumkan {time} dan setiap penerima sudah mendapat pesannya."
                          " Tidak ada yang dikirim lagi.").format(n=wave.number, time=t.time(wave.published_at)),
                rows(Button(t.gettext("Status pengiriman"), GO, "siaran_status")))
        return
    lines = [
        t.gettext("<b>Umumkan hasil gelombang {n}?</b>").format(n=wave.number),
        t.gettext("Akan mengirim {total} pesan: {lolos} lolos, {tidak} tidak lolos.").format(
            total=number(t, count.total), lolos=number(t, count.lolos), tidak=number(t, count.tidak_lolos)),
        t.gettext("Setiap chat yang terhubung (dan tidak berhenti berlangganan) menerima hasilnya sendiri."),
    ]
    undecided = (summary.accounts - decided) if summary else 0
    if undecided:
        lines.append(t.gettext("{n} akun belum punya hasil dan tidak dikirimi pesan.").format(n=number(t, undecided)))
    if wave.published:
        lines.append(t.gettext("Gelombang ini sudah diumumkan; hanya yang belum menerima pesan yang dikirimi."))
    else:
        lines.append(t.gettext("Setelah dikonfirmasi, hasil langsung terlihat di /hasil."))
    ctx.say("\n".join(lines), rows(
        Button(t.gettext("Ya, umumkan"), PUBLISH_OK, str(wave.number)),
        Button(t.gettext("Batal"), GO, "gelombang"),
        per_row=2,
    ))


@routes.action(PUBLISH_OK, roles=ADMINS)
async def publish_confirmed(ctx: Context) -> None:
    t = ctx.t
    wave = await _wave_or_say(ctx, ctx.event.arg)
    if wave is None:
        return
    count = await ctx.storage.outbox.count_results_audience(wave.number)
    broadcast, newly = await ctx.storage.outbox.publish_results(wave.number, ctx.actor, ctx.role.value)
    text = (t.gettext("<b>Gelombang {n} diumumkan.</b>") if newly else
            t.gettext("<b>Gelombang {n} sudah diumumkan sebelumnya.</b>")).format(n=wave.number)
    text += "\n" + t.gettext("{total} pesan masuk antrean pengiriman (#{id}). Pantau dengan /siaran_status.").format(
        total=number(t, count.total), id=broadcast.id)
    ctx.say(text, rows(Button(t.gettext("Status pengiriman"), GO, "siaran_status")), replace=True)


# --- /siaran ---------------------------------------------------------------------------------------------------
@routes.command("siaran", "broadcast", roles=ADMINS)
async def broadcast_command(ctx: Context) -> None:
    t = ctx.t
    text = ctx.args
    if not text:
        await ctx.set_step(Step.BROADCAST_AWAIT_TEXT, FlowState())
        ctx.say(t.gettext("Ketik teks siaran. Setelah itu Anda bisa menambah foto atau link video, memilih"
                          " penerima, melihat pratinjau, lalu mengirim atau menjadwalkannya."),
                rows(Button(t.gettext("Batal"), GO, "menu")))
        return
    if not _text_fits(ctx, text, photo=False):
        await ctx.set_step(Step.BROADCAST_AWAIT_TEXT, FlowState())
        return
    draft = await ctx.storage.outbox.create(BroadcastKind.BROADCAST, ctx.actor, body=escape(text))
    await show_draft(ctx, draft)


def _text_fits(ctx: Context, text: str, *, photo: bool) -> bool:
    """Say what is wrong with a broadcast text, if anything."""
    t = ctx.t
    limit = (MAX_CAPTION_LENGTH if photo else MAX_TEXT_LENGTH) - len(_footer(t))
    if not text.strip():
        ctx.say(t.gettext("Teks siaran tidak boleh kosong. Ketik teksnya."), rows(Button(t.gettext("Batal"), GO,
                                                                                         "menu")))
        return False
    if len(text) > limit:
        what = (t.gettext("Dengan foto, teks siaran paling banyak {limit} karakter (sekarang {n}).") if photo else
                t.gettext("Teks siaran paling banyak {limit} karakter (sekarang {n})."))
        ctx.say(what.format(limit=limit, n=len(text)) + " " + t.gettext("Ketik teks yang lebih pendek."),
                rows(Button(t.gettext("Batal"), GO, "menu")))
        return False
    return True


@routes.step(Step.BROADCAST_AWAIT_TEXT)
async def broadcast_text_typed(ctx: Context) -> None:
    if ctx.role is not Role.ADMIN:
        await ctx.end_step()
        show_menu(ctx)
        return
    text = ctx.event.text
    draft_id = ctx.state.broadcast
    draft = await ctx.storage.outbox.get(draft_id) if draft_id is not None else None
    if not _text_fits(ctx, text, photo=bool(draft and draft.photo)):
        return
    await ctx.end_step()
    if draft is None:
        draft = await ctx.storage.outbox.create(BroadcastKind.BROADCAST, ctx.actor, body=escape(text))
    else:
        draft = await ctx.storage.outbox.edit_draft(draft.id, body=escape(text))
        if draft is None:
            _not_a_draft(ctx)
            return
    await show_draft(ctx, draft)


async def _draft(ctx: Context) -> Broadcast | None:
    """The draft a button names (its first argument); says so if it is gone or no longer a draft."""
    broadcast_id = parse_int(ctx.event.arg.split(":", 1)[0])
    draft = await ctx.storage.outbox.get(broadcast_id) if broadcast_id is not None else None
    if draft is None or draft.kind is not BroadcastKind.BROADCAST or draft.state is not BroadcastState.DRAFT:
        _not_a_draft(ctx)
        return None
    return draft


def draft_action(name: str) -> Callable[[DraftHandler], DraftHandler]:
    """A button on a draft: the router checks the admin role; this finds the draft its argument names (a stale or
    forged one gets "no longer a draft") and passes it on."""
    def register(fn: DraftHandler) -> DraftHandler:
        async def handler(ctx: Context) -> None:
            draft = await _draft(ctx)
            if draft is not None:
                await fn(ctx, draft)

        routes.action(name, roles=ADMINS)(handler)
        return fn

    return register


def _not_a_draft(ctx: Context) -> None:
    t = ctx.t
    ctx.say(t.gettext("Draf siaran itu sudah dikirim, dijadwalkan atau dibatalkan. Lihat /siaran_status."),
            rows(Button(t.gettext("Status siaran"), GO, "siaran_status")))


def describe_audience(t: Translator, audience: Audience) -> str:
    if audience.unlinked and not audience.needs_account:
        parts = [t.gettext("semua chat, termasuk yang belum terhubung")]
    else:
        parts = [t.gettext("chat yang terhubung")]
    if audience.wave is not None:
        parts.append(t.gettext("gelombang {n}").format(n=audience.wave))
    if audience.result is WaveResult.LOLOS:
        parts.append(t.gettext("lolos"))
    elif audience.result is WaveResult.TIDAK_LOLOS:
        parts.append(t.gettext("tidak lolos"))
    if audience.channel:
        parts.append(t.gettext("kanal {name}").format(name=CHANNEL_NAMES.get(audience.channel, audience.channel)))
    if audience.gap:
        parts.append(t.gettext(GAP_LABELS[audience.gap]))
    return ", ".join(parts)


async def show_draft(ctx: Context, draft: Broadcast, *, replace_message: bool = False) -> None:
    t = ctx.t
    count = await ctx.storage.outbox.count_audience(draft.audience)
    a = draft.audience
    lines = [
        t.gettext("<b>Draf siaran #{id}</b>").format(id=draft.id),
        t.gettext("Teks: <i>{text}</i>").format(text=shorten(draft.body or "")),
        t.gettext("Foto: {yes}").format(yes=t.gettext("ada") if draft.photo else t.gettext("tidak ada")),
        t.gettext("Link video: {yes}").format(yes=t.gettext("ada") if draft.video_url else t.gettext("tidak ada")),
        t.gettext("Penerima: {who}").format(who=describe_audience(t, a)),
        t.gettext("Jumlah penerima sekarang: <b>{n}</b> (tanpa yang berhenti berlangganan atau memblokir bot)").format(
            n=number(t, count.total)),
    ]
    bid = str(draft.id)
    everyone = t.gettext("semua")
    result_label = {None: everyone, WaveResult.LOLOS: t.gettext("lolos"),
                    WaveResult.TIDAK_LOLOS: t.gettext("tidak lolos")}[a.result]
    buttons = [
        Button(t.gettext("Penerima: termasuk belum terhubung") if a.unlinked else
               t.gettext("Penerima: hanya yang terhubung"), DRAFT_AUDIENCE, f"{bid}:base"),
        Button(t.gettext("Gelombang: {v}").format(v=a.wave if a.wave is not None else everyone), DRAFT_AUDIENCE,
               f"{bid}:wave"),
        Button(t.gettext("Hasil: {v}").format(v=result_label), DRAFT_AUDIENCE, f"{bid}:result"),
        Button(t.gettext("Kanal: {v}").format(v=CHANNEL_NAMES.get(a.channel or "", everyone)), DRAFT_AUDIENCE,
               f"{bid}:channel"),
        Button(t.gettext("Progres: {v}").format(v=t.gettext(GAP_LABELS[a.gap]) if a.gap else everyone),
               DRAFT_AUDIENCE, f"{bid}:gap"),
        Button(t.gettext("Lolos, video belum ditonton"), DRAFT_AUDIENCE, f"{bid}:preset"),
        Button(t.gettext("Ganti teks"), DRAFT_TEXT, bid),
        Button(t.gettext("Hapus foto") if draft.photo else t.gettext("Tambah foto"), DRAFT_PHOTO, bid),
        Button(t.gettext("Hapus link video") if draft.video_url else t.gettext("Tambah link video"), DRAFT_VIDEO, bid),
        Button(t.gettext("Pratinjau"), DRAFT_PREVIEW, bid),
        Button(t.gettext("Kirim sekarang"), DRAFT_SEND, bid),
        Button(t.gettext("Jadwalkan"), DRAFT_SCHEDULE, bid),
        Button(t.gettext("Buang draf"), DRAFT_DROP, bid),
    ]
    ctx.say("\n".join(lines), rows(*buttons, per_row=2), replace=replace_message)


@draft_action(DRAFT_SHOW)
async def draft_show(ctx: Context, draft: Broadcast) -> None:
    await show_draft(ctx, draft, replace_message=True)


def _cycle(values: list, current: object) -> object:  # type: ignore[type-arg]
    index = values.index(current) if current in values else -1
    return values[(index + 1) % len(values)]


@draft_action(DRAFT_AUDIENCE)
async def draft_audience(ctx: Context, draft: Broadcast) -> None:
    _, _, which = ctx.event.arg.partition(":")
    a = draft.audience
    match which:
        case "base":
            a = replace(a, unlinked=not a.unlinked)
        case "wave":
            numbers = [None, *(w.number for w in await ctx.storage.waves.all())]
            a = replace(a, wave=_cycle(numbers, a.wave))  # type: ignore[arg-type]
        case "result":
            a = replace(a, result=_cycle([None, WaveResult.LOLOS, WaveResult.TIDAK_LOLOS], a.result))  # type: ignore[arg-type]
        case "channel":
            a = replace(a, channel=_cycle(list(AUDIENCE_CHANNELS), a.channel))  # type: ignore[arg-type]
        case "gap":
            a = replace(a, gap=_cycle([None, *GuideGap], a.gap))  # type: ignore[arg-type]
        case "preset":
            a = Audience(result=WaveResult.LOLOS, gap=GuideGap.VIDEO)
        case _:
            await show_draft(ctx, draft, replace_message=True)
            return
    await _show_edited(ctx, await ctx.storage.outbox.edit_draft(draft.id, audience=a))


async def _show_edited(ctx: Context, updated: Broadcast | None) -> None:
    """The draft panel again after a change, in place; None: it stopped being a draft meanwhile."""
    if updated is None:
        _not_a_draft(ctx)
        return
    await show_draft(ctx, updated, replace_message=True)


@draft_action(DRAFT_TEXT)
async def draft_text(ctx: Context, draft: Broadcast) -> None:
    t = ctx.t
    await ctx.set_step(Step.BROADCAST_AWAIT_TEXT, FlowState(broadcast=draft.id))
    ctx.say(t.gettext("Ketik teks baru untuk siaran #{id}.").format(id=draft.id),
            rows(Button(t.gettext("Kembali ke draf"), DRAFT_SHOW, str(draft.id))))


@draft_action(DRAFT_PHOTO)
async def draft_photo(ctx: Context, draft: Broadcast) -> None:
    t = ctx.t
    if draft.photo:
        await _show_edited(ctx, await ctx.storage.outbox.edit_draft(draft.id, clear_photo=True))
        return
    if len(html.unescape(draft.body or "")) > MAX_CAPTION_LENGTH - len(_footer(t)):
        ctx.say(t.gettext("Teks siaran ini terlalu panjang untuk keterangan foto (maksimal {limit} karakter)."
                          " Persingkat teksnya dulu.").format(limit=MAX_CAPTION_LENGTH - len(_footer(t))),
                rows(Button(t.gettext("Ganti teks"), DRAFT_TEXT, str(draft.id))))
        return
    await ctx.set_step(Step.BROADCAST_AWAIT_PHOTO, FlowState(broadcast=draft.id))
    ctx.say(t.gettext("Kirim fotonya (sebagai foto, maksimal 10 MB)."),
            rows(Button(t.gettext("Kembali ke draf"), DRAFT_SHOW, str(draft.id))))


@routes.step(Step.BROADCAST_AWAIT_PHOTO)
async def broadcast_photo_waiting(ctx: Context) -> None:
    t = ctx.t
    draft_id = ctx.state.broadcast
    ctx.say(t.gettext("Saya menunggu fotonya. Kirim sebagai foto, atau kembali ke draf."),
            rows(Button(t.gettext("Kembali ke draf"), DRAFT_SHOW, str(draft_id or 0))))


async def _photo_received(ctx: Context) -> None:
    t = ctx.t
    draft_id = ctx.state.broadcast or 0
    back = rows(Button(t.gettext("Kembali ke draf"), DRAFT_SHOW, str(draft_id)))
    photo = ctx.event.photo
    if photo is None:
        ctx.say(t.gettext("Itu berkas, bukan foto. Kirim gambarnya sebagai foto."), back)
        return
    if photo.size > MAX_PHOTO_BYTES:
        ctx.say(t.gettext("Foto terlalu besar ({size} MB). Batasnya 10 MB.").format(
            size=round(photo.size / 1_000_000, 1)), back)
        return
    updated = await ctx.storage.outbox.edit_draft(draft_id, photo=photo.file_id)
    await ctx.end_step()
    if updated is None:
        _not_a_draft(ctx)
        return
    await show_draft(ctx, updated)


@draft_action(DRAFT_VIDEO)
async def draft_video(ctx: Context, draft: Broadcast) -> None:
    if draft.video_url:
        updated = await ctx.storage.outbox.edit_draft(draft.id, clear_video=True)
    else:
        updated = await ctx.storage.outbox.edit_draft(draft.id, video_url=ctx.config.intro_video_url)
    await _show_edited(ctx, updated)


@draft_action(DRAFT_PREVIEW)
async def draft_preview(ctx: Context, draft: Broadcast) -> None:
    t = ctx.t
    count = await ctx.storage.outbox.count_audience(draft.audience)
    ctx.out.replies.append(broadcast_reply(t, draft))
    bid = str(draft.id)
    ctx.say(
        t.gettext("Di atas adalah pratinjau: begini pesan yang akan diterima <b>{n}</b> penerima ({who}).").format(
            n=number(t, count.total), who=describe_audience(t, draft.audience)),
        rows(Button(t.gettext("Kirim sekarang"), DRAFT_SEND, bid), Button(t.gettext("Jadwalkan"), DRAFT_SCHEDULE, bid),
             Button(t.gettext("Kembali ke draf"), DRAFT_SHOW, bid), per_row=2),
    )


@draft_action(DRAFT_SEND)
async def draft_send(ctx: Context, draft: Broadcast) -> None:
    t = ctx.t
    count = await ctx.storage.outbox.count_audience(draft.audience)
    bid = str(draft.id)
    if count.total == 0:
        ctx.say(t.gettext("Tidak ada penerima untuk pilihan ini. Ubah pilihan penerimanya."),
                rows(Button(t.gettext("Kembali ke draf"), DRAFT_SHOW, bid)))
        return
    ctx.say(t.gettext("Kirim siaran #{id} sekarang ke <b>{n}</b> penerima ({who})?").format(
        id=draft.id, n=number(t, count.total), who=describe_audience(t, draft.audience)),
        rows(Button(t.gettext("Ya, kirim"), DRAFT_GO, bid), Button(t.gettext("Kembali ke draf"), DRAFT_SHOW, bid),
             per_row=2), replace=True)


@draft_action(DRAFT_GO)
async def draft_go(ctx: Context, draft: Broadcast) -> None:
    t = ctx.t
    started = await ctx.storage.outbox.start(draft.id)
    if started is None:
        _not_a_draft(ctx)
        return
    await ctx.storage.audit.record(ctx.actor, ctx.role.value, "broadcast", f"broadcast:{draft.id}",
                                   describe_audience(translator("id"), draft.audience))
    ctx.say(t.gettext("Siaran #{id} mulai dikirim. Pantau dengan /siaran_status.").format(id=draft.id),
            rows(Button(t.gettext("Status siaran"), GO, "siaran_status")), replace=True)


@draft_action(DRAFT_SCHEDULE)
async def draft_schedule(ctx: Context, draft: Broadcast) -> None:
    t = ctx.t
    await ctx.set_step(Step.BROADCAST_AWAIT_TIME, FlowState(broadcast=draft.id))
    ctx.say(t.gettext("Ketik waktu pengiriman siaran #{id} (WIB).").format(id=draft.id) + "\n" + time_example(t),
            rows(Button(t.gettext("Kembali ke draf"), DRAFT_SHOW, str(draft.id))))


@routes.step(Step.BROADCAST_AWAIT_TIME)
async def broadcast_time_typed(ctx: Context) -> None:
    t = ctx.t
    if ctx.role is not Role.ADMIN:
        await ctx.end_step()
        show_menu(ctx)
        return
    draft_id = ctx.state.broadcast or 0
    back = rows(Button(t.gettext("Kembali ke draf"), DRAFT_SHOW, str(draft_id)))
    when = parse_wib(ctx.event.text, ctx.now())
    if when is None:
        ctx.say(t.gettext("Waktu itu tidak saya kenali.") + " " + time_example(t), back)
        return
    if when <= ctx.now():
        ctx.say(t.gettext("Waktu itu sudah lewat. Ketik waktu yang akan datang.") + " " + time_example(t), back)
        return
    await ctx.end_step()
    draft = await ctx.storage.outbox.get(draft_id)
    if draft is None or draft.state is not BroadcastState.DRAFT:
        _not_a_draft(ctx)
        return
    count = await ctx.storage.outbox.count_audience(draft.audience)
    minutes = int(when.timestamp() // 60)
    ctx.say(t.gettext("Jadwalkan siaran #{id} pada {time} untuk sekitar <b>{n}</b> penerima ({who})?").format(
        id=draft.id, time=t.time(when), n=number(t, count.total), who=describe_audience(t, draft.audience)),
        rows(Button(t.gettext("Ya, jadwalkan"), DRAFT_AT, f"{draft.id}:{minutes}"),
             Button(t.gettext("Kembali ke draf"), DRAFT_SHOW, str(draft.id)), per_row=2))


@draft_action(DRAFT_AT)
async def draft_at(ctx: Context, draft: Broadcast) -> None:
    t = ctx.t
    minutes = parse_int(ctx.event.arg.partition(":")[2])
    when = datetime.fromtimestamp(minutes * 60, UTC) if minutes else None
    if when is None or when <= ctx.now():
        ctx.say(t.gettext("Waktu itu sudah lewat. Pilih waktu baru."),
                rows(Button(t.gettext("Jadwalkan"), DRAFT_SCHEDULE, str(draft.id))))
        return
    started = await ctx.storage.outbox.start(draft.id, when)
    if started is None:
        _not_a_draft(ctx)
        return
    await ctx.storage.audit.record(ctx.actor, ctx.role.value, "broadcast_scheduled", f"broadcast:{draft.id}",
                                   when.isoformat(timespec="minutes"))
    ctx.say(t.gettext("Siaran #{id} dijadwalkan {time}. Pantau atau batalkan dengan /siaran_status.").format(
        id=draft.id, time=t.time(when)), rows(Button(t.gettext("Status siaran"), GO, "siaran_status")), replace=True)


@draft_action(DRAFT_DROP)
async def draft_drop(ctx: Context, draft: Broadcast) -> None:
    await ctx.storage.outbox.set_state(draft.id, BroadcastState.CANCELLED, [BroadcastState.DRAFT])
    ctx.say(ctx.t.gettext("Draf siaran #{id} dibuang.").format(id=draft.id), replace=True)


# --- /siaran_status --------------------------------------------------------------------------------------------
@routes.command("siaran_status", "status", roles=ADMINS)
async def status(ctx: Context) -> None:
    await _status(ctx, replace_message=False)


@routes.action(STATUS_REFRESH, roles=ADMINS)
async def status_refresh(ctx: Context) -> None:
    await _status(ctx, replace_message=True)


def _title(t: Translator, b: Broadcast) -> str:
    if b.kind is BroadcastKind.RESULTS:
        return t.gettext("#{id} Hasil gelombang {n}").format(id=b.id, n=b.wave)
    return t.gettext("#{id} Siaran “{text}”").format(id=b.id, text=shorten(b.body or "", 40))


def status_text(t: Translator, s: BroadcastStats) -> str:
    b = s.broadcast
    state = t.gettext(STATE_LABELS[b.state])
    if b.state is BroadcastState.SCHEDULED and b.scheduled_at:
        state = t.gettext("dijadwalkan {time}").format(time=t.time(b.scheduled_at))
    lines = [f"<b>{_title(t, b)}</b>: {state}"]
    if b.state is not BroadcastState.SCHEDULED:
        lines.append(t.gettext(
            "Terkirim {sent} · antre {pending} · gagal {failed} · diblokir {blocked}"
        ).format(sent=number(t, s.sent), pending=number(t, s.pending + s.sending), failed=number(t, s.failed),
                 blocked=number(t, s.blocked)))
        if s.cancelled:
            lines.append(t.gettext("Tidak dikirim (dibatalkan / berhenti berlangganan): {n}").format(
                n=number(t, s.cancelled)))
        rate = s.sent_last_minute / 60
        if b.state is BroadcastState.RUNNING:
            waiting = s.pending + s.sending
            if not b.expanded:
                lines.append(t.gettext("Daftar penerima masih disusun."))
            if rate > 0:
                eta = max(1, round(waiting / rate / 60)) if waiting else 0
                lines.append(t.gettext("Kecepatan {rate} pesan/detik · perkiraan selesai {eta} menit lagi").format(
                    rate=f"{rate:.1f}".replace(".", "," if t.locale == "id" else "."), eta=eta))
            elif waiting:
                lines.append(t.gettext("Belum ada pesan terkirim dalam 1 menit terakhir."))
        if b.throttled:
            lines.append(t.gettext("Diminta menunggu oleh platform (429): {n} kali").format(n=number(t, b.throttled)))
    return "\n".join(lines)


async def _status(ctx: Context, *, replace_message: bool) -> None:
    t = ctx.t
    now = ctx.now()
    broadcasts = await ctx.storage.outbox.recent(STATUS_LIMIT, now - RECENT_STATUS)
    if not broadcasts:
        ctx.say(t.gettext("Belum ada siaran atau pengumuman yang berjalan atau selesai dalam 24 jam terakhir."),
                rows(Button(t.gettext("Buat siaran"), GO, "siaran"), Button(t.gettext("Perbarui"), STATUS_REFRESH)),
                replace=replace_message)
        return
    blocks, buttons = [], []
    for b in broadcasts:
        blocks.append(status_text(t, await ctx.storage.outbox.stats(b, now)))
        if b.state is BroadcastState.RUNNING:
            buttons.append(Button(t.gettext("Jeda #{id}").format(id=b.id), STATUS_PAUSE, str(b.id)))
        if b.state is BroadcastState.PAUSED:
            buttons.append(Button(t.gettext("Lanjutkan #{id}").format(id=b.id), STATUS_RESUME, str(b.id)))
        if b.state in (BroadcastState.RUNNING, BroadcastState.PAUSED, BroadcastState.SCHEDULED):
            buttons.append(Button(t.gettext("Batalkan #{id}").format(id=b.id), STATUS_CANCEL, str(b.id)))
    buttons.append(Button(t.gettext("Perbarui"), STATUS_REFRESH))
    updated = t.gettext("Diperbarui {time}").format(time=t.time(now))
    ctx.say("\n\n".join([*blocks, "<i>" + updated + "</i>"]), rows(*buttons, per_row=2), replace=replace_message)


async def _change_state(ctx: Context, new: BroadcastState, allowed: list[BroadcastState], action: str) -> None:
    t = ctx.t
    broadcast_id = parse_int(ctx.event.arg)
    changed = await ctx.storage.outbox.set_state(broadcast_id, new, allowed) if broadcast_id else None
    if changed is None or changed.kind is BroadcastKind.NOTICE:
        ctx.say(t.gettext("Siaran itu tidak bisa diubah lagi (sudah selesai atau dibatalkan)."))
        await _status(ctx, replace_message=False)
        return
    await ctx.storage.audit.record(ctx.actor, ctx.role.value, action, f"broadcast:{changed.id}", None)
    await _status(ctx, replace_message=True)


@routes.action(STATUS_PAUSE, roles=ADMINS)
async def status_pause(ctx: Context) -> None:
    await _change_state(ctx, BroadcastState.PAUSED, [BroadcastState.RUNNING], "broadcast_pause")


@routes.action(STATUS_RESUME, roles=ADMINS)
async def status_resume(ctx: Context) -> None:
    await _change_state(ctx, BroadcastState.RUNNING, [BroadcastState.PAUSED], "broadcast_resume")


@routes.action(STATUS_CANCEL, roles=ADMINS)
async def status_cancel(ctx: Context) -> None:
    t = ctx.t
    broadcast_id = parse_int(ctx.event.arg)
    broadcast = await ctx.storage.outbox.get(broadcast_id) if broadcast_id else None
    if broadcast is None or broadcast.state not in (BroadcastState.RUNNING, BroadcastState.PAUSED,
                                                    BroadcastState.SCHEDULED):
        ctx.say(t.gettext("Siaran itu tidak bisa diubah lagi (sudah selesai atau dibatalkan)."))
        return
    ctx.say(t.gettext("Batalkan {title}? Pesan yang belum terkirim tidak akan dikirim. Ini tidak bisa diulang.").format(
        title=_title(t, broadcast)),
        rows(Button(t.gettext("Ya, batalkan"), STATUS_CANCEL_OK, str(broadcast.id)),
             Button(t.gettext("Tidak"), STATUS_REFRESH), per_row=2))


@routes.action(STATUS_CANCEL_OK, roles=ADMINS)
async def status_cancel_ok(ctx: Context) -> None:
    await _change_state(ctx, BroadcastState.CANCELLED,
                        [BroadcastState.RUNNING, BroadcastState.PAUSED, BroadcastState.SCHEDULED], "broadcast_cancel")


# --- /peran ----------------------------------------------------------------------------------------------------
@routes.command("peran", "roles", roles=ADMINS)
async def roles_command(ctx: Context) -> None:
    t = ctx.t
    words = ctx.args.split()
    if len(words) != 2:
        await _list_roles(ctx)
        return
    try:
        principal = parse_principal(words[0])
    except ValueError:
        ctx.say(t.gettext("<b>{who}</b> bukan ID pengguna. Pakai ID Telegram (angka) atau"
                          " <code>whatsapp:+62…</code>.").format(who=escape(words[0][:40])))
        return
    role = ROLE_WORDS.get(words[1].lower())
    if role is None:
        ctx.say(t.gettext("Peran <b>{role}</b> tidak dikenal. Pilih <code>admin</code>, <code>support</code> atau"
                          " <code>cabut</code>.").format(role=escape(words[1][:20])))
        return
    config = ctx.config
    if role is Role.APPLICANT and (principal in config.admins or principal in config.support):
        ctx.say(t.gettext("Peran {who} berasal dari pengaturan server (ADMIN_IDS / SUPPORT_IDS) dan tidak bisa"
                          " dicabut di sini.").format(who=escape(str(principal))))
        return
    question = (t.gettext("Cabut peran petugas dari <b>{who}</b>?") if role is Role.APPLICANT else
                t.gettext("Jadikan <b>{who}</b> sebagai <b>{role}</b>?")).format(
        who=escape(str(principal)), role=t.gettext(ROLE_LABELS[role]))
    ctx.say(question, rows(Button(t.gettext("Ya"), ROLE_OK, f"{role.value}:{principal.channel.value}:"
                                                               f"{principal.user_id}"),
                           Button(t.gettext("Batal"), GO, "peran"), per_row=2))


async def _list_roles(ctx: Context) -> None:
    t = ctx.t
    config = ctx.config
    lines = [t.gettext("<b>Peran petugas</b>")]
    for principal in sorted(config.admins, key=str):
        lines.append(t.gettext("{who}: admin (pengaturan server)").format(who=escape(str(principal))))
    for principal in sorted(config.support, key=str):
        lines.append(t.gettext("{who}: petugas layanan (pengaturan server)").format(who=escape(str(principal))))
    for grant in await ctx.storage.roles.granted():
        who = str(Principal(Channel(grant.channel), grant.user_id))
        lines.append(t.gettext("{who}: {role} (diberikan oleh {by}, {time})").format(
            who=escape(who), role=t.gettext(ROLE_LABELS[Role(grant.role)]), by=escape(grant.granted_by),
            time=t.time(grant.granted_at)))
    lines += ["", t.gettext("Beri peran: <code>/peran ID admin</code> atau <code>/peran ID support</code>; cabut:"
                            " <code>/peran ID cabut</code>. ID adalah ID Telegram (angka) atau"
                            " <code>whatsapp:+62…</code>.")]
    ctx.say("\n".join(lines))


@routes.action(ROLE_OK, roles=ADMINS)
async def role_confirmed(ctx: Context) -> None:
    t = ctx.t
    role_name, _, who = ctx.event.arg.partition(":")
    try:
        role = Role(role_name)
        channel_name, _, user_id = who.partition(":")
        principal = parse_principal(f"{channel_name}:{user_id}")
    except ValueError:
        await _list_roles(ctx)
        return
    await ctx.storage.roles.set(principal.channel.value, principal.user_id, role.value, ctx.actor)
    text = (t.gettext("Peran petugas {who} dicabut.") if role is Role.APPLICANT else
            t.gettext("{who} sekarang {role}. Menu perintahnya diperbarui dalam beberapa detik.")).format(
        who=escape(str(principal)), role=t.gettext(ROLE_LABELS[role]))
    ctx.say(text, replace=True)


# --- what the outbox sends (rendered per recipient, when sent) ---------------------------------------------
def _footer(t: Translator) -> str:
    return "\n\n" + t.gettext("<i>Berhenti menerima pengumuman: /berhenti</i>")


def broadcast_reply(t: Translator, broadcast: Broadcast) -> Reply:
    """An admin's broadcast as an applicant sees it (also its preview)."""
    buttons: list[Button | LinkButton] = []
    if broadcast.video_url:
        buttons.append(LinkButton(t.gettext("Tonton video"), broadcast.video_url))
    buttons.append(Button(t.gettext("Menu"), GO, "menu"))
    return Reply((broadcast.body or "") + _footer(t), rows(*buttons), photo=broadcast.photo)


def _render_context(services: Services, chat: Chat, claim: Claim) -> Context:
    """A context for rendering a message to `chat` outside of an update (the sender renders at send time)."""
    event = Event(channel=Channel(chat.channel), chat_id=chat.external_id, user_id=chat.user_id or "",
                  kind=EventKind.TEXT)
    return Context(event=event, services=services, snapshot=ChatSnapshot(chat, None, claim.account),
                   role=Role.APPLICANT)


def outbox_reply(services: Services, broadcast: Broadcast, claim: Claim) -> Reply | None:
    """The message of one delivery for its recipient, in the chat's language; None if it no longer applies
    (a results message for a chat unlinked, or linked to someone else, since it was queued)."""
    t = translator(claim.chat.locale)
    match broadcast.kind:
        case BroadcastKind.NOTICE:
            return notice_reply(broadcast.body or "")  # a notice may carry buttons (issue 8: the rating)
        case BroadcastKind.BROADCAST:
            return broadcast_reply(t, broadcast)
    account = claim.account
    if account is None or account.id != claim.person or claim.result is None or broadcast.wave is None:
        return None
    ctx = _render_context(services, claim.chat, claim)
    wave = Wave(broadcast.wave, None, broadcast.started_at or broadcast.created_at)
    text = (t.gettext("📢 <b>Pengumuman hasil seleksi Kartu Prakerja</b>") + "\n\n"
            + standing_text(ctx, WaveStanding(wave, claim.result), account.card_number))
    if claim.result is WaveResult.LOLOS:
        buttons = rows(Button(t.gettext("Panduan pelatihan"), GO, "panduan"),
                       Button(t.gettext("Kartu & saldo"), GO, "kartu"), per_row=2)
    else:
        buttons = rows(Button(t.gettext("Cek syarat peserta"), GO, "syarat"), Button(t.gettext("Menu"), GO, "menu"),
                       per_row=2)
    return Reply(text + _footer(t), buttons)
