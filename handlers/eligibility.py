"""Who may join Kartu Prakerja (/syarat): one yes/no question per exclusion rule of the programme.

The rules are the government's list of people who cannot be participants (officials, DPR/DPRD, ASN, TNI, Polri,
village heads and officials, BUMN/BUMD boards, receivers of other government aid) plus earlier participants,
who cannot register again. The current question lives in the conversation state, so the questionnaire goes on
after a restart; an answer button carries its question number, and an answer to any other question than the
one asked is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers import scam
from handlers.api import Button, LinkButton, rows
from handlers.context import Context, FlowState, Step
from handlers.i18n import N_
from handlers.router import GO, Routes
from handlers.understanding import Intent, Verdict
from handlers.understanding.lexicon import Lexicon, tidy, words

routes = Routes()

ANSWER = "elig"
YES, NO = "y", "n"
TYPED_YES = frozenset({"ya", "y", "iya", "yes", "benar", "betul", "bener", "yup", "yoi", "iye"})
TYPED_NO = frozenset({"tidak", "t", "tdk", "bukan", "enggak", "nggak", "gak", "no", "belum", "nope"})
NEVER = frozenset({"pernah"})  # "ga pernah", "belum pernah": no
OFFICIAL_SITE = "https://www.prakerja.go.id/"

_STATE_JOB = N_("Kelompok ini menjabat atau bekerja di lembaga negara, pemerintahan, atau BUMN/BUMD, dan pemerintah"
                " menetapkan bahwa mereka tidak bisa menjadi peserta Kartu Prakerja.")


@dataclass(frozen=True, slots=True)
class Rule:
    question: str
    who: str  # the rule as the list names it
    reason: str


RULES: tuple[Rule, ...] = (
    Rule(N_("Apakah Anda seorang <b>pejabat negara</b> (misalnya menteri, gubernur, bupati/wali kota, atau hakim"
            " agung)?"), N_("Pejabat Negara"), _STATE_JOB),
    Rule(N_("Apakah Anda <b>pimpinan atau anggota DPR atau DPRD</b>?"), N_("Pimpinan dan Anggota DPR/DPRD"),
         _STATE_JOB),
    Rule(N_("Apakah Anda <b>Aparatur Sipil Negara (ASN)</b>, yaitu PNS atau PPPK?"), N_("Aparatur Sipil Negara"),
         _STATE_JOB),
    Rule(N_("Apakah Anda <b>prajurit TNI</b> (Tentara Nasional Indonesia)?"),
         N_("Prajurit Tentara Nasional Indonesia"), _STATE_JOB),
    Rule(N_("Apakah Anda <b>anggota Polri</b> (Kepolisian Negara Republik Indonesia)?"),
         N_("Anggota Kepolisian Negara Republik Indonesia"), _STATE_JOB),
    Rule(N_("Apakah Anda <b>kepala desa atau perangkat desa</b>?"), N_("Kepala Desa dan perangkat desa"), _STATE_JOB),
    Rule(N_("Apakah Anda anggota <b>direksi, komisaris, atau dewan pengawas</b> di BUMN atau BUMD?"),
         N_("Direksi, Komisaris, dan Dewan Pengawas pada BUMD atau BUMN"), _STATE_JOB),
    Rule(N_("Apakah Anda <b>sedang menerima bantuan lain dari pemerintah</b>: bansos Kemensos (terdaftar di DTKS),"
            " Bantuan Subsidi Upah (BSU), Bantuan Produktif Usaha Mikro (BPUM), atau Kartu Prakerja 2020?"),
         N_("Penerima bantuan pemerintah lain (bansos Kemensos/DTKS, BSU, BPUM, atau Kartu Prakerja 2020)"),
         N_("Peserta Kartu Prakerja tidak boleh sedang menerima bantuan pemerintah tersebut.")),
    Rule(N_("Apakah Anda <b>sudah pernah menjadi peserta Kartu Prakerja</b> di gelombang atau periode sebelumnya?"
            " (Pernah mendaftar tetapi tidak lolos tidak dihitung.)"),
         N_("Peserta Kartu Prakerja periode sebelumnya"),
         N_("Orang yang sudah menjadi peserta di periode sebelumnya tidak bisa kembali mendaftar di gelombang"
            " selanjutnya.")),
)


def _ask(ctx: Context, index: int, intro: str = "") -> None:
    t = ctx.t
    counter = t.gettext("Pertanyaan {number} dari {total}").format(number=index + 1, total=len(RULES))
    text = (intro + "\n\n" if intro else "") + f"<i>{counter}</i>\n" + t.gettext(RULES[index].question)
    ctx.say(text, rows(Button(t.gettext("Ya"), ANSWER, f"{index}:{YES}"),
                       Button(t.gettext("Tidak"), ANSWER, f"{index}:{NO}"),
                       Button(t.gettext("Batal"), GO, "menu"), per_row=2))


@routes.command("syarat", "eligibility")
async def start(ctx: Context) -> None:
    t = ctx.t
    await ctx.set_step(Step.ELIGIBILITY, FlowState(question=0))
    _ask(ctx, 0, t.gettext(
        "<b>Cek syarat peserta Kartu Prakerja</b>\nJawab {total} pertanyaan singkat dengan <b>Ya</b> atau"
        " <b>Tidak</b>. Jawaban Anda tidak disimpan."
    ).format(total=len(RULES)))


@routes.action(ANSWER)
async def answer_pressed(ctx: Context) -> None:
    t = ctx.t
    number, _, answer = ctx.event.arg.partition(":")
    if ctx.step is not Step.ELIGIBILITY:
        ctx.say(
            t.gettext("Pemeriksaan syarat itu sudah selesai atau dibatalkan. Mau mulai lagi?"),
            rows(Button(t.gettext("Mulai cek syarat"), GO, "syarat"), Button(t.gettext("Menu"), GO, "menu"),
                 per_row=2),
        )
        return
    current = _current(ctx)
    if number != str(current) or answer not in (YES, NO):
        _ask(ctx, current, t.gettext("Jawaban itu untuk pertanyaan lain. Ini pertanyaan Anda sekarang:"))
        return
    await _answer(ctx, current, answer == YES)


# What the quiz keeps for itself when it is not a yes or a no: questions about eligibility, and small talk.
QUIZ_INTENTS = frozenset({Intent.ELIGIBILITY, Intent.ACK, Intent.GREETING, Intent.THANKS})


@routes.step(Step.ELIGIBILITY)
async def answer_typed(ctx: Context) -> bool | None:
    t = ctx.t
    text = ctx.event.text
    current = _current(ctx)
    said = typed_yes_no(text, ctx.services.understanding.lexicon)
    if said is not None:
        await _answer(ctx, current, said)
        return None
    if scam.find_links(text):
        await scam.check(ctx, text)
    else:
        got = ctx.services.understanding.understand(text)
        if got.verdict is Verdict.ANSWER and got.intent not in QUIZ_INTENTS:  # "kapan insentif cair?" mid-quiz
            await ctx.end_step()
            return False
    _ask(ctx, current, t.gettext("Jawab dengan tombol <b>Ya</b> atau <b>Tidak</b>."))
    return None


def typed_yes_no(text: str, lexicon: Lexicon) -> bool | None:
    """Yes or no as people type it: "ya", "iya kak", "ga", "bukan min", "belum pernah"; None for anything else."""
    said = [full for word in words(text) for full in lexicon.abbreviations.get(tidy(word), (tidy(word),))]
    said = [word for word in said if word in TYPED_YES or word in TYPED_NO or word not in lexicon.particles]
    if said and set(said) <= TYPED_YES:
        return True
    if said and set(said) & TYPED_NO and set(said) <= TYPED_NO | NEVER:
        return False
    return None


def _current(ctx: Context) -> int:
    """The question the chat is at; a stored number out of range (an older questionnaire) starts again."""
    question = ctx.state.question
    return question if 0 <= question < len(RULES) else 0


async def _answer(ctx: Context, index: int, yes: bool) -> None:
    if yes:
        await ctx.end_step()
        _excluded(ctx, index)
    elif index + 1 < len(RULES):
        await ctx.set_step(Step.ELIGIBILITY, FlowState(question=index + 1))
        _ask(ctx, index + 1)
    else:
        await ctx.end_step()
        _eligible(ctx)


def _excluded(ctx: Context, index: int) -> None:
    t = ctx.t
    rule = RULES[index]
    text = "\n".join([
        "❌ " + t.gettext("<b>Anda tidak bisa menjadi peserta Kartu Prakerja.</b>"),
        t.gettext("Ketentuan: <b>{who}</b> tidak bisa menjadi peserta Kartu Prakerja.").format(who=t.gettext(rule.who)),
        t.gettext(rule.reason),
        "",
        t.gettext("Jika jawaban Anda keliru atau keadaan Anda berubah, ulangi pemeriksaan dengan /syarat. Pemeriksaan"
                  " ini hanya panduan; keputusan ada pada seleksi resmi Program Kartu Prakerja."),
    ])
    ctx.say(text, rows(Button(t.gettext("Ulangi pemeriksaan"), GO, "syarat"), Button(t.gettext("Menu"), GO, "menu"),
                       per_row=2))


def _eligible(ctx: Context) -> None:
    t = ctx.t
    text = "\n".join([
        "✅ " + t.gettext("<b>Anda tampaknya memenuhi syarat</b>: Anda tidak termasuk kelompok yang tidak bisa menjadi"
                         " peserta Kartu Prakerja."),
        t.gettext("Catatan: orang yang sudah menjadi peserta di periode sebelumnya tidak bisa kembali mendaftar di"
                  " gelombang selanjutnya."),
        "",
        t.gettext("<b>Langkah berikutnya</b>"),
        t.gettext("1. Daftar atau masuk ke akun Anda hanya di situs resmi www.prakerja.go.id. Pendaftaran tidak"
                  " dipungut biaya."),
        t.gettext("2. Ikuti seleksi gelombang yang sedang dibuka. Syarat umum lain (misalnya usia) diperiksa saat"
                  " pendaftaran."),
        t.gettext("3. Tunggu pengumuman: pendaftar yang lolos menerima SMS di nomor HP yang terdaftar, dan hasilnya"
                  " juga tampil di dashboard akun."),
        t.gettext("4. Hubungkan akun Anda di sini untuk melihat hasil seleksi, nomor kartu, dan saldo."),
    ])
    buttons: list[Button | LinkButton] = [LinkButton(t.gettext("Buka www.prakerja.go.id"), OFFICIAL_SITE)]
    if ctx.account is None:
        buttons.append(Button(t.gettext("Hubungkan akun"), GO, "hubungkan"))
    buttons.append(Button(t.gettext("Menu"), GO, "menu"))
    ctx.say(text, rows(*buttons))
