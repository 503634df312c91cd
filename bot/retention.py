"""`python -m bot retention [--dry-run]` (issue 12): delete closed tickets, audit rows and finished outbox
deliveries older than RETENTION_TICKETS_DAYS, RETENTION_AUDIT_DAYS and RETENTION_DELIVERIES_DAYS. UU PDP 27/2022
asks that personal data be kept no longer than its purpose needs; run it daily (cron, a systemd timer), beside the
running bot: it deletes in small chunks (storage/repositories/retention.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.settings import Settings
from handlers.i18n import WIB
from storage import open_storage
from storage.models import RetentionCounts, RetentionCutoffs

ACTOR = "cli"


def report(counts: RetentionCounts, cutoffs: RetentionCutoffs, settings: Settings, dry_run: bool,
           unmatched: int = 0) -> list[str]:
    """One line per kind of row: how many went (or would go), older than what, by which setting."""
    verb = "would be deleted" if dry_run else "deleted"

    def day(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%d %H:%M UTC")

    lines = [
        f"closed tickets, closed before {day(cutoffs.tickets)}"
        f" (RETENTION_TICKETS_DAYS={settings.retention_tickets_days}): {counts.tickets} {verb},"
        f" with {counts.ticket_messages} messages",
        f"audit rows, before {day(cutoffs.audit)} (RETENTION_AUDIT_DAYS={settings.retention_audit_days}):"
        f" {counts.audit} {verb}",
        f"finished deliveries, before {day(cutoffs.deliveries)}"
        f" (RETENTION_DELIVERIES_DAYS={settings.retention_deliveries_days}): {counts.deliveries} {verb}",
        # The daily counts of messages not understood (already masked) are kept as long as the audit log.
        f"days of messages not understood, before {unmatched_day(cutoffs)}"
        f" (RETENTION_AUDIT_DAYS={settings.retention_audit_days}): {unmatched} {verb}",
    ]
    if dry_run:
        lines.append("dry run: nothing was deleted (run without --dry-run to delete)")
    return lines


def unmatched_day(cutoffs: RetentionCutoffs) -> str:
    """The first day (WIB, as the counts are kept) of the messages not understood that are kept."""
    return cutoffs.audit.astimezone(WIB).strftime("%Y-%m-%d")


async def run_retention(settings: Settings, *, dry_run: bool, now: datetime | None = None) -> int:
    storage = await open_storage(settings.database_target, pool_size=1)
    try:
        cutoffs = settings.retention_cutoffs(now or datetime.now(UTC))
        if dry_run:
            counts = await storage.retention.counts(cutoffs)
            unmatched = await storage.unmatched.older(unmatched_day(cutoffs))
        else:
            counts = await storage.retention.purge(cutoffs)
            unmatched = await storage.unmatched.prune(unmatched_day(cutoffs))
            await storage.audit.record(ACTOR, "admin", "retention", None,  # the deletion itself stays on record
                                       f"tickets={counts.tickets} messages={counts.ticket_messages}"
                                       f" audit={counts.audit} deliveries={counts.deliveries}"
                                       f" unmatched_days={unmatched}")
        print("\n".join(report(counts, cutoffs, settings, dry_run, unmatched)))
    finally:
        await storage.close()
    return 0
