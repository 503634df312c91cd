"""Admin wiring: the upload importer handed to the handlers, and `python -m bot admin ...` for scripts.

The CLI does what an admin does in the chat (waves, publish, broadcast, status, import), audited as actor
`cli`; it only queues: the sender (`python -m bot sender`, or inside `run` / `serve`) delivers.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot.channels.console import to_plain
from bot.importer import MAX_WAVE, WAVE_BAD, ImportRejected, import_lines, run_import, upload_lines
from bot.settings import Settings
from handlers.admin import (
    RECENT_STATUS,
    STATUS_LIMIT,
    ImportReport,
    audit_time,
    describe_audience,
    example_date,
    parse_wib,
    status_text,
    time_example,
)
from handlers.admin.understanding import (
    MAX_UNMATCHED_DAYS,
    UNMATCHED_DAYS,
    UNMATCHED_SHOWN,
    unmatched_report,
    unmatched_top,
)
from handlers.digits import is_digits
from handlers.i18n import Translator, translator
from handlers.router import escape
from storage import Storage, open_storage
from storage.models import Audience, BroadcastKind, GuideGap, Wave, WaveResult

CLI_ACTOR = "cli"
GAPS = {"video": GuideGap.VIDEO, "platforms": GuideGap.PLATFORMS, "training": GuideGap.TRAINING}


class UploadImporter:
    """The handlers' `RecordImporter`: a CSV uploaded to the bot goes through the same validator as the CLI."""

    def __init__(self, storage: Storage, pepper: str) -> None:
        self.storage = storage
        self.pepper = pepper

    async def import_csv(self, data: bytes, t: Translator) -> ImportReport:
        try:
            counts = await import_lines(self.storage, upload_lines(data), self.pepper)
        except ImportRejected as exc:
            return ImportReport(None, tuple(p.text(t) for p in exc.problems), exc.total)
        return ImportReport(counts)


def add_parser(sub: argparse._SubParsersAction, needs: str) -> None:
    """`python -m bot admin ...`; `needs` names the settings (shown by every --help)."""
    text = "admin actions for scripts: import, waves, schedule, publish, broadcast, status"
    admin = sub.add_parser("admin", help=text, description=text, epilog=needs)
    actions = admin.add_subparsers(dest="admin_command", required=True, parser_class=type(admin))

    def action(name: str, text: str) -> argparse.ArgumentParser:
        return actions.add_parser(name, help=text, description=text, epilog=needs)

    imp = action("import", "the same as `python -m bot import FILE.csv` (an alias)")
    imp.add_argument("file", type=Path)
    action("waves", "list waves: accounts, results, linked chats, announcement")
    schedule = action("schedule", "set when a wave's results are announced (shown to applicants who ask)")
    schedule.add_argument("wave", type=int)
    schedule.add_argument("at", help=f"the time in WIB, e.g. '{example_date(datetime.now(UTC))} 17:00'")
    publish = action("publish", "publish a wave's results: each linked chat gets its own")
    publish.add_argument("wave", type=int)
    publish.add_argument("--yes", action="store_true", help="publish (without it: only show what would be sent)")
    cast = action("broadcast", "queue a broadcast")
    cast.add_argument("text")
    cast.add_argument("--wave", type=int)
    cast.add_argument("--result", choices=[r.value for r in WaveResult])
    cast.add_argument("--channel", choices=["telegram", "whatsapp"])
    cast.add_argument("--gap", choices=sorted(GAPS), help="a guide step not done yet")
    cast.add_argument("--unlinked", action="store_true", help="unlinked chats too")
    cast.add_argument("--at", help=f"send at this time (WIB), e.g. '{example_date(datetime.now(UTC))} 17:00'")
    cast.add_argument("--yes", action="store_true", help="queue it (without it: only show the recipient count)")
    action("status", "progress of running and recent broadcasts")
    unmatched = action("unmatched", "the messages the bot did not understand most often (masked), for the FAQ")
    unmatched.add_argument("--days", type=int, default=UNMATCHED_DAYS,
                           help=f"the last N days, today included (1-{MAX_UNMATCHED_DAYS}; default {UNMATCHED_DAYS})")
    unmatched.add_argument("--limit", type=int, default=UNMATCHED_SHOWN, help="how many to list")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.admin_command == "import":
        return await run_import(settings, args.file)
    t = translator("id")
    storage = await open_storage(settings.database_target, pool_size=settings.database_pool_size)
    try:
        match args.admin_command:
            case "waves":
                return await _waves(storage, t)
            case "schedule":
                return await _schedule(storage, t, args.wave, args.at)
            case "publish":
                return await _publish(storage, t, args.wave, args.yes)
            case "broadcast":
                return await _broadcast(storage, t, args)
            case "status":
                return await _status(storage, t)
            case "unmatched":
                return await _unmatched(storage, t, args.days, args.limit)
    finally:
        await storage.close()
    return 2


def _out(text: str) -> None:
    print(to_plain(text))


def _fail(text: str) -> int:
    print(to_plain(text), file=sys.stderr)
    return 1


def wave_state(t: Translator, wave: Wave) -> str:
    return (t.gettext("diumumkan {time}").format(time=t.time(wave.published_at)) if wave.published_at else
            t.gettext("jadwal {time}").format(time=t.time(wave.announce_at)) if wave.announce_at else
            t.gettext("belum dijadwalkan"))


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """Columns aligned under a header: numbers to the right, text to the left."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    numeric = [all(is_digits(r[i]) for r in cells) and bool(cells) for i in range(len(header))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True))

    return [line(header).rstrip()] + [line(r).rstrip() for r in cells]


async def _waves(storage: Storage, t: Translator) -> int:
    summaries = await storage.staff.wave_summaries()
    if not summaries:
        _out(t.gettext("Belum ada gelombang."))
        return 0
    header = (t.gettext("gelombang"), t.gettext("akun"), t.gettext("lolos"), t.gettext("tidak lolos"),
              t.gettext("chat terhubung"), t.gettext("pengumuman"))
    for line in table(header, [(s.wave.number, s.accounts, s.lolos, s.tidak_lolos, s.linked_chats,
                                wave_state(t, s.wave)) for s in summaries]):
        _out(line)
    return 0


async def _schedule(storage: Storage, t: Translator, wave_number: int, text: str) -> int:
    """`admin schedule N TIME`: the chat's "Jadwal N" button, from a script (audited as `cli`)."""
    now = datetime.now(UTC)
    when = parse_wib(text, now)
    if not 1 <= wave_number <= MAX_WAVE:
        return _fail(t.gettext(WAVE_BAD).format(max=MAX_WAVE))
    if when is None:
        return _fail(t.gettext("Waktu itu tidak saya kenali.") + " " + time_example(t, now))
    if when <= now:
        return _fail(t.gettext("Waktu itu sudah lewat. Ketik waktu yang akan datang.") + " "
                     + time_example(t, now))
    wave = await storage.waves.get(wave_number)
    if wave is not None and wave.published:
        return _fail(t.gettext("Gelombang {n} sudah diumumkan; jadwalnya tidak bisa diubah lagi.").format(
            n=wave_number))
    await storage.waves.set_announce_at(wave_number, when)
    await storage.audit.record(CLI_ACTOR, "admin", "wave_time", f"wave:{wave_number}",
                               audit_time(when))
    _out(t.gettext("Pengumuman gelombang {n} dijadwalkan {time}.").format(n=wave_number, time=t.time(when)))
    return 0


async def _publish(storage: Storage, t: Translator, wave_number: int, yes: bool) -> int:
    wave = await storage.waves.get(wave_number)
    if wave is None:
        return _fail(t.gettext("Gelombang <b>{n}</b> tidak ada. Lihat daftar gelombang dengan /gelombang.").format(
            n=wave_number))
    count = await storage.outbox.count_results_audience(wave_number)
    _out(t.gettext("Akan mengirim {total} pesan: {lolos} lolos, {tidak} tidak lolos.").format(
        total=count.total, lolos=count.lolos, tidak=count.tidak_lolos))
    if not yes:
        return _fail(t.gettext("Belum diumumkan: tambahkan --yes untuk mengumumkan."))
    broadcast, _ = await storage.outbox.publish_results(wave_number, CLI_ACTOR, "admin")
    _out(t.gettext("<b>Gelombang {n} diumumkan.</b>").format(n=wave_number) + f" #{broadcast.id}")
    return 0


async def _broadcast(storage: Storage, t: Translator, args: argparse.Namespace) -> int:
    text = args.text.strip()
    if not text:
        return _fail(t.gettext("Teks siaran tidak boleh kosong. Ketik teksnya."))
    audience = Audience(unlinked=args.unlinked, wave=args.wave, channel=args.channel,
                        result=WaveResult(args.result) if args.result else None,
                        gap=GAPS[args.gap] if args.gap else None)
    at = None
    if args.at:
        now = datetime.now(UTC)
        at = parse_wib(args.at, now)
        if at is None:
            return _fail(t.gettext("Waktu itu tidak saya kenali."))
        if at <= now:
            return _fail(t.gettext("Waktu itu sudah lewat. Ketik waktu yang akan datang."))
    count = await storage.outbox.count_audience(audience)
    _out(f"{count.total}\t{describe_audience(t, audience)}")
    if not args.yes:
        return _fail(t.gettext("Belum dikirim: tambahkan --yes untuk memasukkannya ke antrean pengiriman."))
    draft = await storage.outbox.create(BroadcastKind.BROADCAST, CLI_ACTOR, body=escape(text), audience=audience)
    await storage.outbox.start(draft.id, at)
    await storage.audit.record(CLI_ACTOR, "admin", "broadcast", f"broadcast:{draft.id}",
                               describe_audience(t, audience))
    _out(f"#{draft.id}")
    return 0


async def _status(storage: Storage, t: Translator) -> int:
    now = datetime.now(UTC)
    for broadcast in await storage.outbox.recent(STATUS_LIMIT, now - RECENT_STATUS):
        _out(status_text(t, await storage.outbox.stats(broadcast, now)) + "\n")
    return 0


async def _unmatched(storage: Storage, t: Translator, days: int, limit: int) -> int:
    if not 1 <= days <= MAX_UNMATCHED_DAYS or limit < 1:
        return _fail(t.gettext("Tulis jumlah hari dari 1 sampai {max}, mis. <code>/tak_dipahami 30</code>.").format(
            max=MAX_UNMATCHED_DAYS))
    _out(unmatched_report(t, days, await unmatched_top(storage, days, datetime.now(UTC), limit)))
    return 0
