"""Login-linking: prove that a Prakerja account is yours, then this chat is linked to it.

Two factors: a phone number the platform vouches for (Telegram: a shared contact whose user_id is the sender;
WhatsApp: the sender's own number) that must be the account's registered number, then the NIK. The NIK is
checked for shape first (a typo costs no attempt), then compared as a keyed hash; it is never stored or logged.
Five failures lock the chat, and the phone number, for an hour.

WhatsApp users with a username may come without their number (only a business-scoped id). They type the
registered number instead, and prove they hold it with a one-time code sent to that number's WhatsApp (which
reaches them in the same chat when it is theirs), before the NIK. The answer to a typed number is the same
whether it is registered or not, and a code is sent only to registered numbers, so nothing is revealed.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from datetime import timedelta

from handlers import results
from handlers.api import AnyButton, Button, Notice, Reply, rows
from handlers.context import Context, FlowState, Step
from handlers.digits import is_digits
from handlers.i18n import translator
from handlers.identity import (
    NikProblem,
    PhoneError,
    check_nik,
    hash_nik,
    mask_phone,
    nik_candidate,
    normalize_phone,
)
from handlers.menu import contact_button, show_menu
from handlers.roles import Channel
from handlers.router import GO, Routes, escape
from handlers.understanding import Intent, Verdict
from storage.models import LinkLock

log = logging.getLogger(__name__)
routes = Routes()

# What an unlinked chat may ask for and get once linked (the argument of results.LINK_FOR).
AFTER_LINKING = {"hasil": results.results, "kartu": results.card}

UNLINK_CONFIRM = "unlink_yes"
CODE_DIGITS = 6
CODE_VALID = timedelta(minutes=10)


def _types_number(ctx: Context) -> bool:
    """A channel with no "share my number" button and no number from the platform: the number is typed."""
    return not ctx.event.can.share_contact and not ctx.event.sender_phone


def _keys(ctx: Context, phone: str | None = None) -> list[str]:
    keys = [f"chat:{ctx.chat.id}"]
    if phone:
        keys.append(f"phone:{phone}")
    return keys


def _cancel_row(ctx: Context) -> tuple[tuple[AnyButton, ...], ...]:
    return rows(Button(ctx.t.gettext("Batal"), GO, "menu"))


async def _attempts(ctx: Context, phone: str | None = None) -> LinkLock:
    """Failed verifications of this chat and, given a phone, of that number (the higher count, the later lock).

    The chat's own came with the update's snapshot (no failure is recorded before this is asked in an update);
    only the number's, which other chats share, is read now."""
    now = ctx.now()
    own = ctx.snapshot.link_attempts
    if own is None or (own.locked_until is not None and own.locked_until <= now):  # an expired lock counts nothing
        own = LinkLock(0, None)
    if phone is None:
        return own
    other = await ctx.storage.link_attempts.state([f"phone:{phone}"], now)
    locks = [until for until in (own.locked_until, other.locked_until) if until is not None]
    return LinkLock(max(own.failures, other.failures), max(locks) if locks else None)


async def _locked(ctx: Context, phone: str | None = None) -> LinkLock | None:
    lock = await _attempts(ctx, phone)
    if lock.locked_until is None:
        return None
    _say_locked(ctx, lock)
    return lock


def _say_locked(ctx: Context, lock: LinkLock) -> None:
    t = ctx.t
    assert lock.locked_until is not None
    show_menu(
        ctx,
        t.gettext(
            "Terlalu banyak percobaan yang gagal. Demi keamanan akun, penghubungan dikunci sampai {time}."
        ).format(time=t.time(lock.locked_until)),
    )


@routes.action(results.LINK_FOR)
async def link_for(ctx: Context) -> None:
    """"Hubungkan akun" pressed on the offer made when personal data was asked for: link, then answer it."""
    pending = ctx.event.arg if ctx.event.arg in AFTER_LINKING else None  # a forged argument runs nothing
    await ctx.end_step()
    await start_linking(ctx, pending)


@routes.command("hubungkan", "link")
async def start_linking(ctx: Context, pending: str | None = None) -> None:
    t = ctx.t
    if ctx.account is not None:
        ctx.say(
            t.gettext("Chat ini sudah terhubung dengan akun Prakerja bernomor {phone}.").format(
                phone=mask_phone(ctx.account.phone)
            ),
            rows(
                Button(t.gettext("Hasil seleksi"), GO, "hasil"),
                Button(t.gettext("Putuskan akun"), GO, "putuskan"),
                Button(t.gettext("Menu"), GO, "menu"),
            ),
        )
        return
    if await _locked(ctx):
        return
    if ctx.account is None and pending is None and ctx.step is not None:
        pending = ctx.state.pending  # started again inside the flow (a shared contact): keep what was asked
    if ctx.event.sender_phone:
        await _phone_given(ctx, ctx.event.sender_phone, pending)
        return
    await ctx.set_step(Step.LINK_AWAIT_CONTACT, FlowState(pending=pending))
    if _types_number(ctx):
        ctx.say(
            t.gettext(
                "Ketik nomor HP yang terdaftar di akun Prakerja Anda, misalnya 0812 3456 7890. Kami akan mengirim"
                " kode verifikasi ke WhatsApp nomor itu."
            ),
            _cancel_row(ctx),
        )
        return
    ctx.say(
        t.gettext(
            "Untuk menghubungkan akun, tekan tombol <b>Bagikan nomor HP saya</b> di bawah. Nomor itu harus nomor"
            " HP yang terdaftar di akun Prakerja Anda."
        ),
        _cancel_row(ctx),
        request_contact=t.gettext("📱 Bagikan nomor HP saya"),
    )


@routes.step(Step.LINK_AWAIT_CONTACT)
async def contact_step(ctx: Context) -> None:
    """A contact (or text) while the bot waits for the contact."""
    t = ctx.t
    if _types_number(ctx):
        await _typed_phone(ctx, ctx.event.contact_phone or ctx.event.text, ctx.state.pending)
        return
    if ctx.event.contact_phone is None:
        ctx.say(
            t.gettext(
                "Tekan tombol <b>Bagikan nomor HP saya</b> di bawah; nomor yang diketik tidak bisa diverifikasi."
            ),
            _cancel_row(ctx),
            request_contact=t.gettext("📱 Bagikan nomor HP saya"),
        )
        return
    await contact_shared(ctx)


async def contact_shared(ctx: Context) -> None:
    """A shared contact, in the link step or unasked: either way it starts (or continues) linking."""
    t = ctx.t
    if ctx.account is not None or ctx.event.sender_phone:  # WhatsApp: the sender's own number is known
        await start_linking(ctx)
        return
    pending = ctx.state.pending if ctx.step in (Step.LINK_AWAIT_CONTACT, Step.LINK_OFFERED) else None
    if _types_number(ctx):
        await ctx.set_step(Step.LINK_AWAIT_CONTACT, FlowState(pending=pending))
        await _typed_phone(ctx, ctx.event.contact_phone or "", pending)
        return
    if not ctx.event.contact_is_own:
        ctx.say(
            t.gettext(
                "Itu bukan nomor akun Telegram Anda sendiri. Untuk keamanan, hanya nomor Anda sendiri yang bisa"
                " dipakai: tekan tombol <b>Bagikan nomor HP saya</b>."
            ),
            _cancel_row(ctx),
            request_contact=t.gettext("📱 Bagikan nomor HP saya"),
        )
        return
    if await _locked(ctx):
        return
    assert ctx.event.contact_phone is not None
    await _phone_given(ctx, ctx.event.contact_phone, pending)


async def _phone_given(ctx: Context, raw_phone: str, pending: str | None = None) -> None:
    t = ctx.t
    try:
        phone = normalize_phone(raw_phone)
    except PhoneError:
        phone = None
    accounts = await ctx.storage.accounts.by_phone(phone) if phone else []
    if not accounts:
        await _failure(
            ctx,
            None,
            t.gettext(
                "Nomor {phone} tidak terdaftar di akun Prakerja mana pun. Pastikan Anda menggunakan nomor HP yang"
                " terdaftar di akun Prakerja."
            ).format(phone=mask_phone(phone or raw_phone)),
        )
        await ctx.end_step()
        return
    assert phone is not None
    if await _locked(ctx, phone):
        return
    await ctx.set_step(Step.LINK_AWAIT_NIK, FlowState(phone=phone, pending=pending))
    if not ctx.event.can.delete_messages:  # e.g. on WhatsApp a bot cannot delete the user's message
        text = t.gettext(
            "Nomor {phone} terdaftar. Sekarang ketik <b>16 digit NIK</b> Anda (sesuai KTP) sebagai verifikasi kedua."
            " NIK tidak disimpan. Setelah selesai, sebaiknya hapus pesan berisi NIK dari chat ini."
        )
    else:
        text = t.gettext(
            "Nomor {phone} terdaftar. Sekarang ketik <b>16 digit NIK</b> Anda (sesuai KTP) sebagai verifikasi kedua."
            " NIK tidak disimpan dan pesan Anda akan dihapus dari chat ini."
        )
    ctx.say(text.format(phone=mask_phone(phone)), _cancel_row(ctx))


def _code_hash(ctx: Context, phone: str, code: str) -> str:
    return hash_nik(f"code:{ctx.chat.id}:{phone}:{code}", ctx.config.nik_pepper).hex()  # kept in the flow's JSON


async def _typed_phone(ctx: Context, raw_phone: str, pending: str | None = None) -> None:
    """A typed number: send a code to it if registered; the answer is the same either way."""
    t = ctx.t
    try:
        phone = normalize_phone(raw_phone)
    except PhoneError:
        ctx.say(t.gettext("Itu bukan nomor HP yang valid. Ketik nomor HP Anda, misalnya 0812 3456 7890."),
                _cancel_row(ctx))
        return
    if await _locked(ctx, phone):
        await ctx.end_step()
        return
    if await _codes_refused(ctx, phone):
        await ctx.end_step()
        return
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    if await ctx.storage.accounts.by_phone(phone):
        ctx.out.notices.append(Notice(Channel.WHATSAPP, phone.lstrip("+"), Reply(t.gettext(
            "Kode verifikasi Asisten Prakerja: <b>{code}</b>. Jangan berikan kode ini kepada siapa pun. Jika Anda"
            " tidak meminta kode ini, abaikan pesan ini."
        ).format(code=code)), code=code))
    state = FlowState(phone=phone, code_hash=_code_hash(ctx, phone, code), code_expires=ctx.now() + CODE_VALID,
                      pending=pending)
    await ctx.set_step(Step.LINK_AWAIT_CODE, state)
    ctx.say(
        t.gettext(
            "Jika nomor {phone} terdaftar di Prakerja, kode verifikasi {n} digit sudah kami kirim ke WhatsApp nomor"
            " itu. Ketik kodenya di sini (berlaku 10 menit)."
        ).format(phone=mask_phone(phone), n=CODE_DIGITS),
        _cancel_row(ctx),
    )


async def _codes_refused(ctx: Context, phone: str) -> bool:
    """Limit the codes a typed number costs (issue 14.5): each is a template to a number that may not have written
    to us, so it takes a place of the 24 h messaging tier that announcements need, and may be sent to a stranger.
    Asked before the number is looked up, and counted whether it is registered or not: no limit reveals which
    numbers are. True, with the applicant told when to try again, when no code may go now."""
    t = ctx.t
    limits = ctx.config.codes
    now = ctx.now()
    if limits.tier is not None:  # codes take at most a share of the tier: the rest is kept for announcements
        share = max(1, int(limits.tier * limits.tier_share))
        room = await ctx.storage.whatsapp.tier_state("", now, share)  # "": no chat, so only the count decides
        if not room.allowed:
            assert room.free_at is not None
            log.warning("verification code refused: codes have used their share of the messaging tier")
            show_menu(ctx, t.gettext(
                "Saat ini kode verifikasi tidak dapat dikirim karena batas pengiriman pesan WhatsApp kami hampir"
                " habis. Silakan coba lagi setelah {time}."
            ).format(time=t.time(room.free_at)))
            return True
    retry = await ctx.storage.link_codes.request(ctx.chat.id, phone, now, limits.per_chat, limits.per_number,
                                                 limits.per_hour)
    if retry is None:
        return False
    log.info("verification code refused: too many asked for in the last hour")
    show_menu(ctx, t.gettext(
        "Kode verifikasi sudah terlalu sering diminta. Demi keamanan, kode baru bisa diminta lagi setelah {time}."
    ).format(time=t.time(retry)))
    return True


@routes.step(Step.LINK_AWAIT_CODE)
async def code_step(ctx: Context) -> None:
    t = ctx.t
    state = ctx.state
    if state.phone is None or state.code_hash is None or state.code_expires is None:
        await start_linking(ctx)
        return
    if await _locked(ctx, state.phone):
        await ctx.end_step()
        return
    typed = re.sub(r"[\s.\-]", "", ctx.event.text)
    if len(typed) != CODE_DIGITS or not is_digits(typed):  # a typo costs no attempt
        ctx.say(t.gettext("Ketik {n} digit kode verifikasi yang kami kirim.").format(n=CODE_DIGITS),
                _cancel_row(ctx))
        return
    if ctx.now() > state.code_expires:
        await ctx.end_step()
        ctx.say(t.gettext("Kode verifikasi sudah kedaluwarsa. Silakan mulai lagi."),
                rows(Button(t.gettext("Hubungkan akun"), GO, "hubungkan"), Button(t.gettext("Menu"), GO, "menu")))
        return
    if not hmac.compare_digest(_code_hash(ctx, state.phone, typed), state.code_hash):
        # Counted on this chat only: the number was typed, not proven, so counting on it would let anyone who
        # knows a number lock its owner out. The phone key counts only after possession is proven (NIK step).
        await _failure(ctx, None, t.gettext("Kode verifikasi tidak cocok."))
        return
    await _phone_given(ctx, state.phone, state.pending)  # the number is proven: on to the NIK


# What a message typed at the NIK step may ask without leaving it: the personal data that the link being made will
# show (the NIK is what is needed for it), and small talk. Anything else understood (a question, the way to a
# person) leaves the step and is answered as free text.
_STAY_AT_NIK = frozenset({Intent.RESULT, Intent.CARD, Intent.BALANCE, Intent.LINK_ACCOUNT, Intent.GREETING,
                          Intent.THANKS, Intent.ACK})


@routes.step(Step.LINK_AWAIT_NIK)
async def nik_step(ctx: Context) -> bool | None:
    text = ctx.event.text
    words = any(char.isalpha() for char in text) and not any(char.isdigit() for char in text)  # "nik itu yg mana?"
    if words:
        got = ctx.services.understanding.understand(text)
        if got.verdict is Verdict.ANSWER and got.intent not in _STAY_AT_NIK:
            await ctx.end_step()
            return False  # read as free text
    await _nik_typed(ctx, words=words)
    return None


async def _nik_typed(ctx: Context, *, words: bool) -> None:
    """The NIK step's answer; `words`: the message holds words and no digit (where the NIK is, not a digit error)."""
    t = ctx.t
    phone, pending = ctx.state.phone, ctx.state.pending
    if phone is None:  # a payload from an older version: start again
        await start_linking(ctx)
        return
    attempts = await _attempts(ctx, phone)
    if attempts.locked_until is not None:
        _say_locked(ctx, attempts)
        await ctx.end_step()
        return
    if words:
        ctx.say(t.gettext("Saya menunggu NIK Anda: 16 digit angka yang tertulis di KTP (juga di Kartu Keluarga)."
                          " Ketik NIK-nya di sini, atau tekan <b>Batal</b> untuk kembali ke menu."), _cancel_row(ctx))
        return
    # The NIK inside a sentence or in groups is the NIK ("NIK saya 3107 0746 ..."); the router deletes the message.
    check = check_nik(nik_candidate(ctx.event.text))
    if not check.ok:
        ctx.say(_nik_problem_text(ctx, check.problem, check.position), _cancel_row(ctx))
        return
    assert check.nik is not None
    account = await ctx.storage.accounts.by_phone_and_nik(phone, hash_nik(check.nik, ctx.config.nik_pepper))
    if account is None:
        await _failure(
            ctx,
            phone,
            t.gettext("NIK tidak cocok dengan akun bernomor {phone}. Periksa kembali NIK Anda.").format(
                phone=mask_phone(phone)
            ),
        )
        return
    previous = await ctx.storage.chats.link(ctx.chat.id, account.id, ctx.actor)
    if attempts.failures:  # with none counted there is nothing to clear (an expired lock counts as none)
        await ctx.storage.link_attempts.clear(_keys(ctx, phone))
    if previous is not None:
        old_t = translator(previous.locale)  # the old chat is told in its own language
        ctx.notify(
            previous.channel,
            previous.external_id,
            Reply(old_t.gettext(
                "Akun Prakerja Anda baru saja dihubungkan dari chat lain. Chat ini tidak lagi terhubung dan tidak"
                " akan menerima pengumuman. Jika itu bukan Anda, hubungi layanan resmi Prakerja."
            )),
        )
    log.info("chat %s linked", ctx.chat.id)
    ctx.snapshot = type(ctx.snapshot)(ctx.snapshot.chat, None, account)
    linked = t.gettext("Berhasil! Chat ini sekarang terhubung dengan akun Prakerja atas nama <b>{name}</b>.").format(
        name=escape(account.name))
    answer = AFTER_LINKING.get(pending or "")
    if answer is None:
        show_menu(ctx, linked)
        return
    ctx.say(linked)
    await answer(ctx)  # what was asked before linking, without asking again (issue 13)


def _nik_problem_text(ctx: Context, problem: NikProblem | None, position: int | None) -> str:
    t = ctx.t
    match problem:
        case NikProblem.EMPTY:
            return t.gettext("Ketik 16 digit NIK Anda.")
        case NikProblem.NOT_DIGITS:
            return t.gettext("NIK hanya berisi angka. Periksa digit ke-{n}.").format(n=position)
        case NikProblem.TOO_SHORT:
            return t.gettext("NIK terdiri dari 16 digit, yang Anda ketik baru {n} digit.").format(n=position)
        case NikProblem.TOO_LONG:
            return t.gettext("NIK terdiri dari 16 digit, yang Anda ketik lebih panjang.")
        case NikProblem.PROVINCE:
            return t.gettext("Kode provinsi di NIK tidak dikenal. Periksa digit ke-1 dan ke-2.")
        case NikProblem.REGENCY:
            return t.gettext("Kode kabupaten/kota di NIK tidak valid. Periksa digit ke-3 dan ke-4.")
        case NikProblem.DISTRICT:
            return t.gettext("Kode kecamatan di NIK tidak valid. Periksa digit ke-5 dan ke-6.")
        case NikProblem.BIRTH_DAY:
            return t.gettext("Tanggal lahir di NIK tidak valid. Periksa digit ke-7 dan ke-8.")
        case NikProblem.BIRTH_MONTH:
            return t.gettext("Bulan lahir di NIK tidak valid. Periksa digit ke-9 dan ke-10.")
        case _:
            return t.gettext("Nomor urut di NIK tidak valid. Periksa digit ke-13 sampai ke-16.")


async def _failure(ctx: Context, phone: str | None, message: str) -> None:
    """Count a failed verification; say what went wrong and how many attempts are left (or until when locked)."""
    t = ctx.t
    config = ctx.config
    lock = await ctx.storage.link_attempts.record_failure(
        _keys(ctx, phone), ctx.now(), config.max_link_failures, timedelta(minutes=config.link_lock_minutes)
    )
    await ctx.storage.audit.record(ctx.actor, ctx.role.value, "link_failed", f"chat:{ctx.chat.id}", None)
    if lock.locked_until is not None:
        await ctx.end_step()
        ctx.say(message)
        _say_locked(ctx, lock)
        return
    left = config.max_link_failures - lock.failures
    contact = contact_button(ctx)  # after a failure, a person can help (issue 8)
    ctx.say(
        message + "\n" + t.ngettext("Sisa {n} percobaan.", "Sisa {n} percobaan.", left).format(n=left),
        rows(*_cancel_row(ctx)[0], *((contact,) if contact else ()), per_row=2),
    )


@routes.command("putuskan", "unlink")
async def ask_unlink(ctx: Context) -> None:
    t = ctx.t
    if ctx.account is None:
        show_menu(ctx, t.gettext("Chat ini belum terhubung dengan akun Prakerja."))
        return
    ctx.say(
        t.gettext(
            "Putuskan chat ini dari akun Prakerja bernomor {phone}? Anda tidak akan menerima pengumuman hasil di"
            " chat ini sampai menghubungkan lagi."
        ).format(phone=mask_phone(ctx.account.phone)),
        rows(Button(t.gettext("Ya, putuskan"), UNLINK_CONFIRM), Button(t.gettext("Batal"), GO, "menu"), per_row=2),
    )


@routes.action(UNLINK_CONFIRM)
async def unlink(ctx: Context) -> None:
    t = ctx.t
    account_id = await ctx.storage.chats.unlink(ctx.chat.id, ctx.actor)
    ctx.snapshot = type(ctx.snapshot)(ctx.snapshot.chat, None, None)
    if account_id is None:
        show_menu(ctx, t.gettext("Chat ini belum terhubung dengan akun Prakerja."))
        return
    show_menu(ctx, t.gettext("Selesai: chat ini tidak lagi terhubung dengan akun Prakerja Anda."))
