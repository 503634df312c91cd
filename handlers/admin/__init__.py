"""Admins: import registry records (/impor), waves (/gelombang), publishing results (/umumkan), broadcasts
(/siaran, /siaran_status), roles (/peran); and how the outbox renders each queued message for its recipient.

Every route here is for admins only (the router checks before the handler runs, for commands and for every
button); button arguments are parsed as untrusted input. Nothing is sent from here: publishing and
broadcasting queue deliveries in the outbox, which the sender (bot/sender) delivers at the platform's pace.

The package is split by capability, one module each; they all register on the one `routes` (shared.py):
- registry.py: /impor, the registry import (CSV)
- publishing.py: /gelombang (waves and their announcement time), /umumkan (publishing a wave's results)
- broadcasts.py: /siaran (drafts, audiences, preview, send or schedule)
- monitor.py: /siaran_status (progress, pause, resume, cancel)
- staff.py: staff command menus, role labels and audit lines, /peran
- outbox.py: how the outbox renders each queued message for its recipient
- shared.py: the routes, platform limits and parsing/formatting helpers
This file re-exports their public names, so `handlers.admin.X` stays the import path for the rest of the code.
"""

from __future__ import annotations

from handlers.admin.broadcasts import (
    AUDIENCE_CHANNELS,
    CHANNEL_NAMES,
    DRAFT_AT,
    DRAFT_AUDIENCE,
    DRAFT_DROP,
    DRAFT_GO,
    DRAFT_PHOTO,
    DRAFT_PREVIEW,
    DRAFT_SCHEDULE,
    DRAFT_SEND,
    DRAFT_SHOW,
    DRAFT_TEXT,
    DRAFT_VIDEO,
    GAP_LABELS,
    DraftHandler,
    broadcast_command,
    broadcast_photo_waiting,
    broadcast_text_typed,
    broadcast_time_typed,
    describe_audience,
    draft_action,
    draft_at,
    draft_audience,
    draft_drop,
    draft_go,
    draft_photo,
    draft_preview,
    draft_schedule,
    draft_send,
    draft_show,
    draft_text,
    draft_video,
    photo_received,
    show_draft,
)
from handlers.admin.monitor import (
    RECENT_STATUS,
    STATE_LABELS,
    STATUS_CANCEL,
    STATUS_CANCEL_OK,
    STATUS_LIMIT,
    STATUS_PAUSE,
    STATUS_REFRESH,
    STATUS_RESUME,
    status,
    status_cancel,
    status_cancel_ok,
    status_pause,
    status_refresh,
    status_resume,
    status_text,
)
from handlers.admin.outbox import (
    broadcast_reply,
    outbox_reply,
)
from handlers.admin.publishing import (
    PUBLISH_ASK,
    PUBLISH_OK,
    WAVE_NEW,
    WAVE_TIME,
    publish_button,
    publish_command,
    publish_confirmed,
    wave_new_ask,
    wave_time_ask,
    wave_time_typed,
    waves,
)
from handlers.admin.registry import (
    CSV_TYPES,
    MAX_PROBLEMS_SHOWN,
    ImportReport,
    RecordImporter,
    import_file,
    import_start,
    import_waiting,
)
from handlers.admin.shared import (
    MAX_CAPTION_LENGTH,
    MAX_IMPORT_BYTES,
    MAX_PHOTO_BYTES,
    MAX_TEXT_LENGTH,
    audit_time,
    example_date,
    number,
    parse_wib,
    routes,
    shorten,
    time_example,
)
from handlers.admin.staff import (
    AUDIT_LIMIT,
    BASIC_COMMANDS,
    ROLE_LABELS,
    ROLE_OK,
    ROLE_WORDS,
    STAFF_COMMANDS,
    audit_line,
    role_confirmed,
    role_label,
    roles_command,
    staff_commands,
)
from handlers.admin.understanding import faq_file
from handlers.api import Button, rows
from handlers.context import Context, Step
from handlers.digits import parse_int
from handlers.menu import document as applicant_document
from handlers.roles import Role
from handlers.router import GO

__all__ = [
    "AUDIENCE_CHANNELS",
    "AUDIT_LIMIT",
    "BASIC_COMMANDS",
    "CHANNEL_NAMES",
    "CSV_TYPES",
    "DRAFT_AT",
    "DRAFT_AUDIENCE",
    "DRAFT_DROP",
    "DRAFT_GO",
    "DRAFT_PHOTO",
    "DRAFT_PREVIEW",
    "DRAFT_SCHEDULE",
    "DRAFT_SEND",
    "DRAFT_SHOW",
    "DRAFT_TEXT",
    "DRAFT_VIDEO",
    "GAP_LABELS",
    "MAX_CAPTION_LENGTH",
    "MAX_IMPORT_BYTES",
    "MAX_PHOTO_BYTES",
    "MAX_PROBLEMS_SHOWN",
    "MAX_TEXT_LENGTH",
    "PUBLISH_ASK",
    "PUBLISH_OK",
    "RECENT_STATUS",
    "ROLE_LABELS",
    "ROLE_OK",
    "ROLE_WORDS",
    "STAFF_COMMANDS",
    "STATE_LABELS",
    "STATUS_CANCEL",
    "STATUS_CANCEL_OK",
    "STATUS_LIMIT",
    "STATUS_PAUSE",
    "STATUS_REFRESH",
    "STATUS_RESUME",
    "WAVE_NEW",
    "WAVE_TIME",
    "DraftHandler",
    "ImportReport",
    "RecordImporter",
    "audit_line",
    "audit_time",
    "broadcast_command",
    "broadcast_photo_waiting",
    "broadcast_reply",
    "broadcast_text_typed",
    "broadcast_time_typed",
    "describe_audience",
    "document_received",
    "draft_action",
    "draft_at",
    "draft_audience",
    "draft_drop",
    "draft_go",
    "draft_photo",
    "draft_preview",
    "draft_schedule",
    "draft_send",
    "draft_show",
    "draft_text",
    "draft_video",
    "example_date",
    "import_start",
    "import_waiting",
    "number",
    "outbox_reply",
    "parse_int",
    "parse_wib",
    "publish_button",
    "publish_command",
    "publish_confirmed",
    "role_confirmed",
    "role_label",
    "roles_command",
    "routes",
    "shorten",
    "show_draft",
    "staff_commands",
    "status",
    "status_cancel",
    "status_cancel_ok",
    "status_pause",
    "status_refresh",
    "status_resume",
    "status_text",
    "time_example",
    "wave_new_ask",
    "wave_time_ask",
    "wave_time_typed",
    "waves",
]


async def document_received(ctx: Context) -> None:
    """A file or photo: an admin's CSV upload or broadcast photo when asked for; otherwise the applicant answer."""
    if ctx.role is Role.ADMIN and ctx.step is Step.ADMIN_AWAIT_CSV:
        await import_file(ctx)
        return
    if ctx.role is Role.ADMIN and ctx.step is Step.ADMIN_AWAIT_FAQ:
        await faq_file(ctx)
        return
    if ctx.role is Role.ADMIN and ctx.step is Step.BROADCAST_AWAIT_PHOTO:
        await photo_received(ctx)
        return
    if ctx.role is Role.ADMIN and ctx.event.document is not None:
        t = ctx.t
        ctx.say(t.gettext("Untuk mengimpor data pendaftar, kirim /impor dulu, lalu kirim berkasnya."),
                rows(Button(t.gettext("Impor data"), GO, "impor")))
        return
    await applicant_document(ctx)
