"""The outbox sender: delivers results, broadcasts and notices queued in the database.

- transport.py: the `Transport` protocol and `Outcome`     - budget.py: the bot's send budget, shared by processes
- worker.py: claim, send, record, housekeeping

Each channel's transport lives in its channel package (bot/channels/*/transport.py); bot/outbox.py picks them for
the configured channels and runs the sender inside `run` and `serve`, or alone (`python -m bot sender`).
"""

from __future__ import annotations

from bot.app import App
from bot.sender.transport import Outcome, OutcomeKind, Recipient, Transport
from bot.sender.worker import Sender, SenderStats
from bot.settings import Settings
from handlers.roles import Role

__all__ = ["Outcome", "OutcomeKind", "Recipient", "Sender", "SenderStats", "Transport", "build_sender"]


def build_sender(app: App, settings: Settings, transports: list[Transport]) -> Sender:
    staff = {
        Role.ADMIN: [(p.channel.value, p.user_id) for p in settings.admin_ids],
        Role.SUPPORT: [(p.channel.value, p.user_id) for p in settings.support_ids if p not in settings.admin_ids],
    }
    return Sender(app.storage, app.router.services, transports, concurrency=settings.sender_concurrency,
                  lease=settings.sender_lease_seconds, staff=staff)

