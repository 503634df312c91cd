"""Talk to a person: the hand-off from the bot to support staff, and back (issue 8).

Applicants: "Hubungi petugas" (/petugas, on the menu and after a failure) asks for their question, which opens a
ticket (or joins their open one) with the time an answer is due, counted in working hours (WIB). While the ticket
is open, their free text, photos and documents go to staff (NIKs masked, at most so many messages a minute) and
the bot does not answer that text itself; menus and commands still work. "Masalah selesai" (/selesai) closes it
and asks for a 1-5 rating.

Staff: one Telegram supergroup with topics (SUPPORT_CHAT_ID). Each ticket gets its own topic, opened with the
applicant's state card (the /cari view), where the desk worker (bot/channels/telegram/topics.py) posts what the
applicant sends. Only support and admin roles are heard in the group. What they write in a ticket's topic goes to
the applicant through the outbox (Telegram or WhatsApp); there /cari (this applicant), /buka ALASAN, /lepas ALASAN
and /selesai work on the ticket's applicant. /tiket (admins): open tickets, waiting times, per-staff counts.

The package is split by capability, one module each; the routes all register on the one `routes` (shared.py):
- applicant.py: the applicant's side: /petugas, the question, relaying messages and files, /selesai, the rating
- desk.py: the support group, a second router for staff (answers in a ticket's topic, desk commands, membership)
- cards.py: what the desk worker posts in the group (topic names, the ticket card, each applicant message)
- report.py: /tiket (admins)
- shared.py: the routes, the staff's language, the group's context, a ticket's applicant
This file re-exports their public names, so `handlers.handoff.X` stays the import path for the rest of the code.
"""

from __future__ import annotations

from handlers.handoff.applicant import (
    CLOSE,
    RATE,
    RATINGS,
    close_button,
    close_command,
    contact_staff,
    document,
    free_text,
    links,
    question,
    rate,
    rating_reply,
    unknown,
    unsupported,
)
from handlers.handoff.cards import post_text, ticket_card, topic_name
from handlers.handoff.desk import desk
from handlers.handoff.report import tickets, waited
from handlers.handoff.shared import STAFF_PERIOD, SYSTEM, routes, staff_t

__all__ = [
    "CLOSE",
    "RATE",
    "RATINGS",
    "STAFF_PERIOD",
    "SYSTEM",
    "close_button",
    "close_command",
    "contact_staff",
    "desk",
    "document",
    "free_text",
    "links",
    "post_text",
    "question",
    "rate",
    "rating_reply",
    "routes",
    "staff_t",
    "ticket_card",
    "tickets",
    "topic_name",
    "unknown",
    "unsupported",
    "waited",
]
