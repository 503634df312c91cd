"""What the outbox sends, rendered per recipient at send time (bot/sender calls `outbox_reply`): results, broadcasts
and notices."""

from __future__ import annotations

from handlers.api import Button, Event, EventKind, LinkButton, Reply, rows
from handlers.context import Context, Services
from handlers.i18n import Translator, translator
from handlers.results import standing_text
from handlers.roles import Channel, Role
from handlers.router import GO
from storage.models import (
    Broadcast,
    BroadcastKind,
    Chat,
    ChatSnapshot,
    Claim,
    NoticeButton,
    NoticeButtons,
    Wave,
    WaveResult,
    WaveStanding,
)


# --- what the outbox sends (rendered per recipient, when sent) ---------------------------------------------
def footer(t: Translator) -> str:
    return "\n\n" + t.gettext("<i>Berhenti menerima pengumuman: /berhenti</i>")


def broadcast_reply(t: Translator, broadcast: Broadcast) -> Reply:
    """An admin's broadcast as an applicant sees it (also its preview)."""
    buttons: list[Button | LinkButton] = []
    if broadcast.video_url:
        buttons.append(LinkButton(t.gettext("Tonton video"), broadcast.video_url))
    buttons.append(Button(t.gettext("Menu"), GO, "menu"))
    return Reply((broadcast.body or "") + footer(t), rows(*buttons), photo=broadcast.photo)


# --- notices: a Reply kept in the outbox, its text in `body` and its buttons in a column of their own ----------------
def notice_buttons(reply: Reply) -> NoticeButtons:
    """The buttons of a Reply as a queued notice keeps them (`storage.outbox.notice(..., buttons=...)`)."""
    return tuple(tuple(NoticeButton(b.label, b.action, b.arg) if isinstance(b, Button) else
                       NoticeButton(b.label, url=b.url) for b in row) for row in reply.buttons)


def notice_reply(broadcast: Broadcast) -> Reply:
    """A queued notice as the Reply it was (its text, and its buttons if it has some)."""
    buttons = tuple(tuple(LinkButton(b.label, b.url) if b.url else Button(b.label, b.action, b.arg) for b in row)
                    for row in broadcast.buttons)
    return Reply(broadcast.body or "", buttons)


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
            return notice_reply(broadcast)  # a notice may carry buttons (issue 8: the rating)
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
    return Reply(text + footer(t), buttons)
