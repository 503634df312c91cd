"""The registry import: /impor takes an admin's CSV of applicant records and hands it to the import service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from handlers.admin.shared import (
    MAX_IMPORT_BYTES,
    Upload,
    number,
    received_file,
    routes,
)
from handlers.api import Button, rows
from handlers.context import Context, Step
from handlers.i18n import N_, Translator
from handlers.router import ADMINS, GO, escape
from storage.models import (
    ImportCounts,
)

CSV_TYPES = frozenset({"text/csv", "text/plain", "application/csv", "application/vnd.ms-excel",
                       "text/comma-separated-values", "application/octet-stream"})
MAX_PROBLEMS_SHOWN = 15


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


CSV_UPLOAD = Upload(
    ".csv", CSV_TYPES - {"application/octet-stream"}, MAX_IMPORT_BYTES,
    photo=N_("Itu foto, bukan berkas CSV. Kirim berkas CSV sebagai dokumen."),
    wrong_type=N_("Berkas <b>{name}</b> bukan berkas CSV. Kirim berkas berakhiran .csv."),
    too_large=N_("Berkas terlalu besar ({size} MB). Batasnya 20 MB: bagi menjadi beberapa berkas."),
    too_large_fetched=N_("Berkas terlalu besar. Batasnya 20 MB: bagi menjadi beberapa berkas."),
    unavailable=N_("Impor lewat chat belum tersedia di sini. Gunakan <code>python -m bot admin import"
                   " BERKAS.csv</code> di server."),
)


async def import_file(ctx: Context) -> None:
    t = ctx.t
    retry = rows(Button(t.gettext("Batal"), GO, "menu"))
    importer = ctx.services.importer
    if importer is None:
        await ctx.end_step()
        ctx.say(t.gettext(CSV_UPLOAD.unavailable))
        return
    data = await received_file(ctx, CSV_UPLOAD)
    if data is None:
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
