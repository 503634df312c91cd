"""Support staff: find a user and see their whole state (/cari), clear a lock-out (/buka), unlink with a reason
(/lepas); admins read the audit log (/audit); applicants see when staff looked at their record (/akses).

Every look-up and action is audited with the reason the staff member gives in the command. A NIK typed to
/cari is only hashed for the look-up: it is never shown back, logged or stored, and the message carrying it is
deleted. Staff see masked phone and card numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from handlers.admin import BASIC_COMMANDS, audit_line, role_label, staff_commands
from handlers.admin.staff import shown_chat
from handlers.api import Button, rows
from handlers.context import Context
from handlers.digits import parse_int
from handlers.i18n import N_, Translator, translator
from handlers.identity import PhoneError, check_nik, hash_nik, mask_card, mask_niks, mask_phone, normalize_phone
from handlers.roles import Channel, Role, channel_label
from handlers.router import ADMINS, ALL_ROLES, GO, STAFF, Routes, escape
from storage.models import Account, BroadcastKind, Chat, DeliveryState, DeliveryView, WaveResult

routes = Routes()

UNLOCK_OK = "sup_buka_ok"
UNLINK_OK = "sup_lepas_ok"
REQUEST_VALID = timedelta(minutes=15)
MAX_PEOPLE = 3
LAST_DELIVERIES = 5
ACCESS_LIMIT = 20
MIN_REASON = 3

_NUMERIC = re.compile(r"^[+(]?\d[\d\-().]*$", re.ASCII)  # ASCII digits only (handlers/digits.py)
_INTERNAL = re.compile(r"^(akun|account|chat):(\d{1,12})$", re.IGNORECASE | re.ASCII)
DELIVERY_LABELS = {DeliveryState.PENDING: N_("antre"), DeliveryState.SENDING: N_("sedang dikirim"),
                   DeliveryState.SENT: N_("terkirim"), DeliveryState.FAILED: N_("gagal"),
                   DeliveryState.BLOCKED: N_("bot diblokir"), DeliveryState.CANCELLED: N_("tidak dikirim")}
ACCESS_CHANGED = N_("Data Anda diubah")  # any other staff action on the record
ACCESS_LABELS = {"lookup": N_("Data Anda dilihat"), "unlock_request": N_("Data Anda dilihat"),
                 "unlink_request": N_("Data Anda dilihat"), "unlock": N_("Kunci penghubungan dibuka"),
                 "unlink": N_("Akun diputuskan dari chat")}


@dataclass(frozen=True, slots=True)
class Person:
    """One result of a look-up: an account (with its chats) or a chat never linked."""

    account: Account | None
    chats: tuple[Chat, ...]
    failing: tuple[int, ...] = ()  # chats (not linked) whose last failed link attempt was on this account's phone

    @property
    def subject(self) -> str:
        return f"account:{self.account.id}" if self.account else f"chat:{self.chats[0].id}"

    @property
    def reference(self) -> str:
        """How staff name it in a command: akun:17 or chat:3."""
        return f"akun:{self.account.id}" if self.account else f"chat:{self.chats[0].id}"

    def lock_keys(self) -> list[str]:
        keys = [f"phone:{self.account.phone}"] if self.account else []
        return keys + [f"chat:{c.id}" for c in self.chats] + [f"chat:{c}" for c in self.failing]


def split_target(args: str) -> tuple[str, str]:
    """'0812 3456 7890 pemohon menelepon' -> ('0812 3456 7890', 'pemohon menelepon')."""
    words = args.split()
    if not words:
        return "", ""
    taken = [words[0]]
    if _NUMERIC.match(words[0]):
        for word in words[1:]:
            digits = re.sub(r"\D", "", "".join([*taken, word]))
            if not _NUMERIC.match(word) or len(digits) > 16:
                break
            taken.append(word)
    return " ".join(taken), " ".join(words[len(taken):])


async def find_people(ctx: Context, target: str) -> tuple[list[Person], list[str]]:
    """Everyone `target` could name, and what it was taken for (e.g. 'nomor HP', 'NIK'): never the value."""
    storage = ctx.storage
    accounts: dict[int, Account] = {}
    chats: list[Chat] = []
    kinds: list[str] = []
    text = target.strip()
    internal = _INTERNAL.match(text)
    if internal:
        kinds.append(N_("ID internal"))
        ident = int(internal.group(2))
        if internal.group(1).lower() == "chat":
            chat = await storage.chats.get(ident)
            chats += [chat] if chat else []
        else:
            account = await storage.accounts.get(ident)
            accounts.update({account.id: account} if account else {})
    elif ":" in text:
        channel, _, external = text.partition(":")
        named = Channel.named(channel)
        if named is not None:
            kinds.append(N_("ID chat"))
            external = external.strip()
            if named.phone_ids:
                external = external.lstrip("+")
            chats += await storage.staff.find_chats(external, named.value)
    else:
        digits = re.sub(r"[\s\-().]", "", text)
        if re.fullmatch(r"\+?\d{4,20}", digits):
            try:
                phone = normalize_phone(text)
            except PhoneError:
                phone = None
            card = nik_hash = None
            if len(digits) == 16:
                card = digits
                nik = check_nik(digits)
                nik_hash = hash_nik(nik.nik, ctx.config.nik_pepper) if nik.ok and nik.nik else None
            found = await storage.staff.find_accounts(phone=phone, card=card, nik_hash=nik_hash)
            for account in found:
                accounts[account.id] = account
                if phone and account.phone == phone:
                    kinds.append(N_("nomor HP"))
                if card and account.card_number == card:
                    kinds.append(N_("nomor kartu"))
                if nik_hash and account.phone != phone and account.card_number != card:
                    kinds.append(N_("NIK"))
            by_chat = await storage.staff.find_chats(digits.lstrip("+"))
            if by_chat:
                kinds.append(N_("ID chat"))
            chats += by_chat
    people: list[Person] = []
    for chat in chats:
        if chat.account_id is None:
            people.append(Person(None, (chat,)))
        elif chat.account_id not in accounts:
            account = await storage.accounts.get(chat.account_id)
            if account is not None:
                accounts[account.id] = account
    for account in accounts.values():
        linked = tuple(await storage.staff.chats_of(account.id))
        failing = tuple(c for c in await storage.staff.chats_failing_with(account.phone)
                        if c not in {chat.id for chat in linked})
        people.append(Person(account, linked, failing))
    return people, list(dict.fromkeys(kinds))


async def _target_and_reason(ctx: Context, usage: str) -> tuple[str, str] | None:
    t = ctx.t
    target, reason = split_target(ctx.args)
    if not target:
        ctx.say(usage)
        return None
    if len(reason) < MIN_REASON:
        ctx.say(t.gettext("Tuliskan alasannya setelah nomor (dicatat di log audit), contoh:") + " " + usage)
        return None
    return target, mask_niks(reason)  # a NIK or card typed into the reason is not kept


def _usage(t: Translator, command: str) -> str:
    return t.gettext("<code>/{command} NOMOR ALASAN</code>. NOMOR: nomor HP, nomor kartu, NIK, ID chat, atau"
                     " akun:N / chat:N; ALASAN diawali kata, mis. <code>/{command} 081234567890 pemohon"
                     " menelepon</code>.").format(command=command)


# --- /cari -----------------------------------------------------------------------------------------------------
@routes.command("cari", "find", roles=STAFF)
async def find(ctx: Context) -> None:
    t = ctx.t
    parsed = await _target_and_reason(ctx, _usage(t, "cari"))
    if parsed is None:
        return
    target, reason = parsed
    people, kinds = await find_people(ctx, target)
    how = ", ".join(kinds) or "?"
    if not people:
        await ctx.storage.audit.record(ctx.actor, ctx.role.value, "lookup_miss", None, f"{how}: {reason}")
        ctx.say(t.gettext("Tidak ditemukan. Periksa nomornya, atau cari dengan nomor lain (HP, kartu, NIK, ID chat)."))
        return
    for person in people[:MAX_PEOPLE]:
        await ctx.storage.audit.record(ctx.actor, ctx.role.value, "lookup", person.subject, f"{how}: {reason}")
        ctx.say(await person_text(ctx, person))
    if len(people) > MAX_PEOPLE:
        ctx.say(t.gettext("Ada {n} data yang cocok; yang lain tidak ditampilkan. Cari dengan nomor yang lebih"
                          " tepat.").format(n=len(people)))


async def person_text(ctx: Context, person: Person) -> str:
    t = ctx.t
    now = ctx.now()
    lines: list[str] = []
    account = person.account
    if account is not None:
        lines.append(t.gettext("<b>{name}</b> ({ref})").format(ref=person.reference, name=escape(account.name)))
        lines.append(t.gettext("Nomor HP: {phone}").format(phone=mask_phone(account.phone)))
        if account.card_number:
            lines.append(t.gettext("Kartu: {card}").format(card=mask_card(account.card_number)))
        if account.balance is not None:
            balance = t.gettext("Saldo: {amount}").format(amount=t.money(account.balance))
            if account.balance_at:
                balance += " " + t.gettext("(per {time})").format(time=t.time(account.balance_at))
            lines.append(balance)
        standings = await ctx.storage.accounts.standings(account.id)
        for s in standings:
            result = {WaveResult.LOLOS: t.gettext("lolos"), WaveResult.TIDAK_LOLOS: t.gettext("tidak lolos"),
                      None: t.gettext("belum diputuskan")}[s.result]
            shown = t.gettext("diumumkan") if s.wave.published else t.gettext("belum diumumkan")
            lines.append(t.gettext("Gelombang {n}: {result} ({shown})").format(n=s.wave.number, result=result,
                                                                                shown=shown))
    else:
        lines.append(t.gettext("<b>Chat {ref}</b>: belum terhubung dengan akun").format(ref=person.reference))
    if person.chats:
        lines.append(t.gettext("<b>Chat</b>"))
    for chat in person.chats:
        flags = [t.gettext("terhubung") if chat.account_id else t.gettext("tidak terhubung")]
        if chat.opted_out:
            flags.append(t.gettext("berhenti berlangganan"))
        if chat.blocked:
            flags.append(t.gettext("memblokir bot"))
        lines.append("• " + t.gettext("{channel} {external} (chat:{id}): {flags}; terakhir aktif {seen}").format(
            channel=escape(channel_label(chat.channel)),
            external=shown_chat(chat.channel, chat.external_id),
            id=chat.id, flags=", ".join(flags), seen=t.time(chat.last_seen)))
    if account is not None and not person.chats:
        lines.append(t.gettext("Belum ada chat yang terhubung."))
    locks = await ctx.storage.staff.locks(person.lock_keys())
    for key, lock in locks:
        what = t.gettext("nomor HP") if key.startswith("phone:") else escape(key)
        if lock.locked_until and lock.locked_until > now:
            lines.append(t.gettext("Penghubungan <b>terkunci</b> ({what}) sampai {time}; {n} percobaan gagal.").format(
                what=what, time=t.time(lock.locked_until), n=lock.failures))
        elif not lock.locked_until:
            lines.append(t.gettext("Percobaan penghubungan gagal ({what}): {n}.").format(what=what, n=lock.failures))
    deliveries = await ctx.storage.outbox.for_chats([c.id for c in person.chats], LAST_DELIVERIES,
                                                     account.id if account else None)
    if deliveries:
        lines.append(t.gettext("<b>Pesan terakhir dari bot</b>"))
        lines += ["• " + delivery_line(t, d) for d in deliveries]
    lines.append(t.gettext("Tindakan: <code>/buka {ref} ALASAN</code> · <code>/lepas {ref} ALASAN</code>").format(
        ref=person.reference))
    return "\n".join(lines)


def delivery_line(t: Translator, d: DeliveryView) -> str:
    if d.kind is BroadcastKind.RESULTS:
        what = t.gettext("Hasil gelombang {n}").format(n=d.wave)
    elif d.kind is BroadcastKind.NOTICE:
        what = t.gettext("Pemberitahuan")
    else:
        what = t.gettext("Siaran #{id}").format(id=d.broadcast_id)
    state = t.gettext(DELIVERY_LABELS[d.state])
    when = d.sent_at if d.state is DeliveryState.SENT else d.next_attempt_at
    line = f"{what}: {state}"
    if when is not None:
        line += f", {t.time(when)}"
    if d.state in (DeliveryState.PENDING, DeliveryState.FAILED) and d.attempts:
        line += " " + t.gettext("(percobaan {n})").format(n=d.attempts)
    return line


# --- /buka and /lepas: asked, then confirmed by the same staff member -------------------------------------------
async def _one_person(ctx: Context, command: str) -> tuple[Person, str] | None:
    t = ctx.t
    parsed = await _target_and_reason(ctx, _usage(t, command))
    if parsed is None:
        return None
    target, reason = parsed
    people, kinds = await find_people(ctx, target)
    if not people:
        await ctx.storage.audit.record(ctx.actor, ctx.role.value, "lookup_miss", None,
                                       f"{', '.join(kinds) or '?'}: {reason}")
        ctx.say(t.gettext("Tidak ditemukan. Periksa nomornya, atau cari dulu dengan /cari."))
        return None
    if len(people) > 1:
        refs = ", ".join(p.reference for p in people[:5])
        ctx.say(t.gettext("Nomor itu cocok dengan {n} data ({refs}). Tulis salah satunya, mis."
                          " <code>/{command} {ref} ALASAN</code>.").format(n=len(people), refs=refs, command=command,
                                                                          ref=people[0].reference))
        return None
    return people[0], reason


@routes.command("buka", "unlock", roles=STAFF)
async def unlock_ask(ctx: Context) -> None:
    t = ctx.t
    found = await _one_person(ctx, "buka")
    if found is None:
        return
    person, reason = found
    locks = [(key, lock) for key, lock in await ctx.storage.staff.locks(person.lock_keys())
             if lock.locked_until is None or lock.locked_until > ctx.now()]
    if not locks:
        await ctx.storage.audit.record(ctx.actor, ctx.role.value, "lookup", person.subject, f"buka: {reason}")
        ctx.say(t.gettext("{ref} tidak terkunci dan tidak punya percobaan gagal. Tidak ada yang perlu dibuka.").format(
            ref=person.reference))
        return
    request = await ctx.storage.staff.audit(ctx.actor, ctx.role.value, "unlock_request", person.subject, reason)
    locked = any(lock.locked_until for _, lock in locks)
    what = t.gettext("terkunci") if locked else t.gettext("punya percobaan gagal")
    ctx.say(t.gettext("{ref} ({name}) {what}. Buka kunci dan hapus hitungan percobaan gagalnya?").format(
        ref=person.reference, name=escape(person.account.name) if person.account else "-", what=what),
        rows(Button(t.gettext("Ya, buka kunci"), UNLOCK_OK, str(request)), Button(t.gettext("Batal"), GO, "menu"),
             per_row=2))


@routes.command("lepas", "release", roles=STAFF)
async def unlink_ask(ctx: Context) -> None:
    t = ctx.t
    found = await _one_person(ctx, "lepas")
    if found is None:
        return
    person, reason = found
    linked = [c for c in person.chats if c.account_id is not None]
    if person.account is None or not linked:
        await ctx.storage.audit.record(ctx.actor, ctx.role.value, "lookup", person.subject, f"lepas: {reason}")
        ctx.say(t.gettext("{ref} tidak terhubung dengan chat mana pun.").format(ref=person.reference))
        return
    request = await ctx.storage.staff.audit(ctx.actor, ctx.role.value, "unlink_request", person.subject, reason)
    where = ", ".join(f"{escape(channel_label(c.channel))} {shown_chat(c.channel, c.external_id)}"
                      for c in linked)
    ctx.say(t.gettext("Putuskan akun {ref} ({name}) dari {where}? Pemohon diberi tahu beserta alasannya:"
                      " <i>{reason}</i>").format(ref=person.reference, name=escape(person.account.name), where=where,
                                                 reason=escape(reason)),
            rows(Button(t.gettext("Ya, putuskan"), UNLINK_OK, str(request)), Button(t.gettext("Batal"), GO, "menu"),
                 per_row=2))


async def _request(ctx: Context, action: str) -> tuple[Person, str] | None:
    """The request a confirm button names: made by this staff member, recently, and still naming someone."""
    t = ctx.t
    request_id = parse_int(ctx.event.arg)
    entry = await ctx.storage.staff.audit_entry(request_id) if request_id is not None else None
    if (entry is None or entry.action != action or entry.actor != ctx.actor or entry.subject is None
            or ctx.now() - entry.at > REQUEST_VALID):
        ctx.say(t.gettext("Konfirmasi itu sudah tidak berlaku. Ketik perintahnya lagi."))
        return None
    people, _ = await find_people(ctx, entry.subject.replace("account:", "akun:"))
    if len(people) != 1:
        ctx.say(t.gettext("Data itu tidak ditemukan lagi."))
        return None
    return people[0], entry.detail or ""


@routes.action(UNLOCK_OK, roles=STAFF)
async def unlock_confirmed(ctx: Context) -> None:
    t = ctx.t
    found = await _request(ctx, "unlock_request")
    if found is None:
        return
    person, reason = found
    await ctx.storage.staff.clear_locks(person.lock_keys(), ctx.actor, ctx.role.value, person.subject, reason)
    ctx.say(t.gettext("Kunci penghubungan {ref} dibuka. Pemohon bisa mencoba /hubungkan lagi.").format(
        ref=person.reference), replace=True)


@routes.action(UNLINK_OK, roles=STAFF)
async def unlink_confirmed(ctx: Context) -> None:
    t = ctx.t
    found = await _request(ctx, "unlink_request")
    if found is None:
        return
    person, reason = found
    done = 0
    for chat in person.chats:
        if chat.account_id is None:
            continue
        if await ctx.storage.chats.unlink(chat.id, ctx.actor, ctx.role.value, reason) is None:
            continue
        done += 1
        own = translator(chat.locale)  # the applicant is told in their chat's language, through the outbox
        notice = own.gettext(
            "Chat ini telah diputuskan dari akun Prakerja Anda oleh petugas layanan. Alasan: {reason}\n"
            "Anda bisa menghubungkannya lagi dengan /hubungkan."
        ).format(reason=escape(reason))
        await ctx.storage.outbox.notice(chat.id, notice, ctx.actor, person.account.id if person.account else None)
    if not done:
        ctx.say(t.gettext("{ref} sudah tidak terhubung dengan chat mana pun.").format(ref=person.reference),
                replace=True)
        return
    ctx.say(t.ngettext("{ref} diputuskan dari {n} chat; pemohon diberi tahu.",
                       "{ref} diputuskan dari {n} chat; pemohon diberi tahu.", done).format(
        ref=person.reference, n=done), replace=True)


# --- /audit (admins) and /akses (the applicant) ---------------------------------------------------------------
@routes.command("audit", roles=ADMINS)
async def audit(ctx: Context) -> None:
    t = ctx.t
    term = ctx.args.split()[0] if ctx.args else None
    if term and term.lower().startswith("akun:"):
        term = "account:" + term[5:]
    entries = await ctx.storage.staff.search_audit(term, 20)
    if not entries:
        ctx.say(t.gettext("Tidak ada catatan audit yang cocok."))
        return
    header = (t.gettext("<b>Log audit</b> ({filter}), terbaru dulu:").format(filter=escape(term)) if term else
              t.gettext("<b>Log audit</b>, terbaru dulu:"))
    hint = t.gettext("Saring: <code>/audit ID_PETUGAS</code>, <code>/audit lookup</code>, <code>/audit akun:17</code>.")
    ctx.say("\n".join([header, *(audit_line(t, e) for e in entries), "", hint]))


@routes.command("akses", "access", roles=ALL_ROLES)
async def access(ctx: Context) -> None:
    t = ctx.t
    subjects = [f"chat:{ctx.chat.id}"] + ([f"account:{ctx.account.id}"] if ctx.account else [])
    entries = await ctx.storage.staff.staff_access(subjects, ACCESS_LIMIT)
    if not entries:
        ctx.say(t.gettext("Belum ada petugas yang melihat atau mengubah data Anda."),
                rows(Button(t.gettext("Menu"), GO, "menu")))
        return
    lines = [t.gettext("<b>Akses petugas ke data Anda</b> (terbaru dulu). Nama petugas tidak ditampilkan.")]
    for e in entries:
        label = t.gettext(ACCESS_LABELS.get(e.action, ACCESS_CHANGED))
        lines.append(t.gettext("{time}: {what} oleh {role}").format(time=t.time(e.at), what=label,
                                                                   role=role_label(t, e.role)))
    ctx.say("\n".join(lines), rows(Button(t.gettext("Menu"), GO, "menu")))


# --- /staf, and the staff part of /bantuan ---------------------------------------------------------------------
# The staff guides, in the repository (docs/); there is no setting with an address for them, so the help names the
# file. A test checks that each file exists.
GUIDE_SUPPORT = "docs/panduan-petugas.md"
GUIDE_ADMIN = "docs/panduan-admin.md"


def guides_line(t: Translator, role: Role) -> str:
    if role is Role.ADMIN:
        return t.gettext("Panduan lengkap: <code>{admin}</code> dan <code>{support}</code> di repositori bot (minta"
                         " kepada operator).").format(admin=GUIDE_ADMIN, support=GUIDE_SUPPORT)
    return t.gettext("Panduan lengkap: <code>{support}</code> di repositori bot (minta kepada operator).").format(
        support=GUIDE_SUPPORT)


def staff_help_text(ctx: Context) -> str:
    """A staff member's commands, one line each, and their guide: in a private chat the commands of their role; in
    the support group the ones that work there (/bantuan and /staf show it)."""
    t = ctx.t
    if not ctx.event.private:
        lines = [t.gettext("<b>Perintah di grup petugas</b>"),
                 t.gettext("Di topik tiket: tulis balasan (diteruskan ke pemohon), /cari, /buka ALASAN, /lepas"
                           " ALASAN, /selesai (tutup tiket; pemohon diminta memberi nilai)."),
                 t.gettext("/cari NOMOR ALASAN: cari pengguna lain (nomor HP, kartu, NIK, ID chat)")]
        if ctx.role is Role.ADMIN:
            lines += [t.gettext("/tiket: tiket terbuka dan beban per petugas"), t.gettext("/audit: log audit")]
        lines.append(t.gettext("/staf atau /bantuan: daftar ini"))
    else:
        title = t.gettext("<b>Perintah admin</b>") if ctx.role is Role.ADMIN else t.gettext("<b>Perintah petugas</b>")
        basics = {name for name, _ in BASIC_COMMANDS}
        lines = [title] + [_command_line(name, text) for name, text in staff_commands(ctx.role, ctx.chat.locale)
                           if name not in basics]
        lines.append(t.gettext("Tiket bantuan dijawab di grup petugas, di topik tiketnya."))
    lines.append(t.gettext("Setiap pencarian dan tindakan dicatat di log audit. Jangan pernah meminta NIK, PIN, kode"
                           " OTP, atau kata sandi."))
    lines.append(guides_line(t, ctx.role))
    return "\n".join(lines)


def _command_line(name: str, text: str) -> str:
    """'/cari NOMOR ALASAN: Cari pengguna' from the command menu's 'Cari pengguna: /cari NOMOR ALASAN' (the usage
    first, as it is typed); '/impor: Impor data pendaftar (CSV)' when the description has no usage."""
    what, colon, usage = text.partition(": /")
    if colon and usage.split(" ", 1)[0] == name:
        return f"/{escape(usage)}: {escape(what)}"
    return f"/{name}: {escape(text)}"


@routes.command("staf", "staff", roles=STAFF)
async def staff_help(ctx: Context) -> None:
    ctx.say(staff_help_text(ctx))
