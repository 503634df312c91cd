"""The repositories, each written once for both backends over `storage.core.Engine` (see storage/core.py)."""

from storage.repositories.chats import AuditRepository, ChatRepository, LinkAttemptRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.registry import AccountRepository, CatalogueRepository, WaveRepository
from storage.repositories.staff import RoleRepository, StaffRepository
from storage.repositories.tickets import TicketRepository
from storage.repositories.webhooks import MetricsRepository, WebhookRepository, WhatsAppRepository

__all__ = ["AccountRepository", "AuditRepository", "CatalogueRepository", "ChatRepository", "LinkAttemptRepository",
           "MetricsRepository", "OutboxRepository", "RoleRepository", "StaffRepository", "TicketRepository",
           "WaveRepository", "WebhookRepository", "WhatsAppRepository"]
