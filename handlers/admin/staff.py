"""Staff roles and the audit trail: the staff command menus, role labels, audit log lines (used by handlers/support.py)
and /peran, which grants or revokes a staff role."""

from __future__ import annotations

from handlers.admin.shared import (
    routes,
)
from handlers.api import Button, rows
from handlers.context import Context
from handlers.digits import is_digits
from handlers.i18n import N_, Translator, translator
from handlers.identity import mask_personal, mask_phone
from handlers.roles import Channel, Principal, Role, parse_principal
from handlers.router import ADMINS, GO, escape
from storage.models import (
    AuditEntry,
)

AUDIT_LIMIT = 20
ROLE_OK = "adm_role_ok"
ROLE_WORDS = {"admin": Role.ADMIN, "support": Role.SUPPORT, "dukungan": Role.SUPPORT, "layanan": Role.SUPPORT,
              "cabut": Role.APPLICANT, "hapus": Role.APPLICANT}
ROLE_LABELS = {Role.ADMIN: N_("admin"), Role.SUPPORT: N_("petugas layanan"), Role.APPLICANT: N_("pemohon")}


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
    ("tiket", N_("Tiket bantuan yang terbuka"), Role.ADMIN),  # handlers/handoff/report.py (issue 8)
    ("impor_faq", N_("Ganti FAQ bot (berkas .toml)"), Role.ADMIN),  # handlers/admin/understanding.py (issue 13)
    ("tak_dipahami", N_("Pesan yang tidak dipahami bot: /tak_dipahami HARI"), Role.ADMIN),
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


def role_label(t: Translator, role: str) -> str:
    try:
        return t.gettext(ROLE_LABELS[Role(role)])
    except ValueError:
        return escape(role)


# --- how staff read a person's ids: one rule for every staff view (/cari, /lepas, tickets, /audit, /peran) -------
def shown_chat(channel: str, external_id: str) -> str:
    """A chat's platform id as staff read it (HTML-escaped). A WhatsApp chat id is the person's phone number: it is
    masked as every phone number staff see ("+62811****0001", `mask_phone`); staff act on the chat by its
    `chat:N` reference. Telegram ids and WhatsApp business-scoped ids are not phone numbers and stay as they are."""
    named = Channel.named(channel)
    if named is not None and named.phone_ids and is_digits(external_id):
        return escape(mask_phone("+" + external_id))
    return escape(external_id)


def shown_principal(principal: str) -> str:
    """A staff member or applicant as `str(Principal)` names them ("whatsapp:6281...", "9000002"), masked as above."""
    channel, sep, user_id = principal.partition(":")
    named = Channel.named(channel) if sep else None
    if named is not None and named.phone_ids:
        return f"{channel}:{shown_chat(channel, user_id)}"
    return escape(principal)


def audit_line(t: Translator, entry: AuditEntry) -> str:
    parts = [t.time(entry.at), shown_principal(entry.actor), role_label(t, entry.role), escape(entry.action)]
    if entry.subject:
        parts.append(shown_principal(entry.subject))
    if entry.detail:  # a reason typed by staff may hold a phone number: masked like everything kept (mask_personal)
        parts.append("<i>" + escape(mask_personal(entry.detail)) + "</i>")
    return " · ".join(parts)


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
        lines.append(t.gettext("{who}: admin (pengaturan server)").format(who=shown_principal(str(principal))))
    for principal in sorted(config.support, key=str):
        lines.append(t.gettext("{who}: petugas layanan (pengaturan server)").format(
            who=shown_principal(str(principal))))
    for grant in await ctx.storage.roles.granted():
        who = str(Principal(Channel(grant.channel), grant.user_id))
        lines.append(t.gettext("{who}: {role} (diberikan oleh {by}, {time})").format(
            who=shown_principal(who), role=t.gettext(ROLE_LABELS[Role(grant.role)]),
            by=shown_principal(grant.granted_by),
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
