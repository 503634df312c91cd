"""Configuration from the environment and `.env`, validated once at start.

Every setting is documented in README.md and `.env.example`. A malformed value stops the process with one
clear line (see `load_settings`), never a traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, HttpUrl, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from handlers.context import CodeLimits
from handlers.roles import Principal, parse_principal
from handlers.workhours import HandoffConfig, WorkingHours, parse_days, parse_holidays, parse_hours
from storage.models import RetentionCutoffs

log = logging.getLogger(__name__)

DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org/bot"
DEFAULT_VIDEO_URL = "https://www.prakerja.go.id/"
DEFAULT_WHATSAPP_API_URL = "https://graph.facebook.com/v21.0"
DEFAULT_PORT = 8080
CODES_PER_HOUR_TIER_DIVISOR = 12  # WHATSAPP_CODES_PER_HOUR's default: a twelfth of the tier (20 of 250) an hour,
CODES_PER_HOUR_MAX = 1000  # at most this many (also with an unlimited tier)
WHATSAPP_TIERS = {"250": 250, "2000": 2_000, "10000": 10_000, "100000": 100_000, "unlimited": None}
_TELEGRAM_SECRET = r"^[A-Za-z0-9_-]{1,256}$"  # what setWebhook accepts as secret_token
TELEGRAM_WEBHOOK_PORTS = (443, 80, 88, 8443)  # the only ports Telegram sends webhooks to (with https)


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line meant for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str | None = None
    telegram_api_url: str = DEFAULT_TELEGRAM_API_URL
    database_path: Path = Path("data/prakerja.sqlite3")
    # PostgreSQL (several `serve` / `sender` processes share it); when set, DATABASE_PATH is not used.
    database_url: str | None = None
    database_pool_size: int = Field(default=10, ge=1, le=200)  # connections per process (PostgreSQL)
    nik_pepper: str | None = Field(default=None, min_length=16)
    admin_ids: Annotated[tuple[Principal, ...], NoDecode] = ()
    support_ids: Annotated[tuple[Principal, ...], NoDecode] = ()
    intro_video_url: HttpUrl = HttpUrl(DEFAULT_VIDEO_URL)
    log_level: str = "INFO"

    # The outbox sender (`python -m bot sender`, and inside `run` / `serve`).
    telegram_rate: float = Field(default=30, gt=0, le=1000)  # broadcast messages per second (paid: up to 1000)
    sender_concurrency: int = Field(default=16, ge=1, le=1000)  # sends in flight at once, per channel
    sender_lease_seconds: float = Field(default=60, ge=1, le=3600)  # a 'sending' delivery older is sent again

    # Web server (`python -m bot serve`): webhooks of both platforms.
    public_url: HttpUrl | None = None  # where the platforms reach this server; Telegram's webhook is set to it
    host: str = "0.0.0.0"
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    telegram_webhook_secret: str | None = Field(default=None, pattern=_TELEGRAM_SECRET)
    web_read_timeout_seconds: float = Field(default=10, gt=0, le=600)  # a request's head and body must arrive in it
    web_max_connections: int = Field(default=1000, ge=1, le=100_000)  # open at once (at most half the fd limit)
    metrics_token: str | None = Field(default=None, min_length=16)  # /metrics needs it as a bearer token; unset: 404
    whatsapp_token: str | None = None
    whatsapp_phone_id: str | None = Field(default=None, pattern=r"^\d+$")
    whatsapp_app_secret: str | None = None
    whatsapp_verify_token: str | None = None
    whatsapp_api_url: str = DEFAULT_WHATSAPP_API_URL
    whatsapp_rate: float = Field(default=80, gt=0, le=10_000)  # messages per second (1,000 after Meta's upgrade)
    whatsapp_tier: str = "250"  # business-initiated unique users per rolling 24 h: 250, 2000, 10000, 100000, unlimited
    # Verification codes to typed numbers (issue 14.5), per rolling hour: per chat, per number, all chats together
    # (empty: a twelfth of WHATSAPP_TIER, at most 1000). Codes also stop at half of the tier, kept for announcements.
    whatsapp_codes_per_chat: int = Field(default=3, ge=1, le=100)
    whatsapp_codes_per_number: int = Field(default=3, ge=1, le=100)
    whatsapp_codes_per_hour: int | None = Field(default=None, ge=1, le=100_000)
    whatsapp_template_info: str = "prakerja_info"
    whatsapp_template_result: str = "prakerja_hasil_seleksi"
    whatsapp_template_code: str = "prakerja_kode_verifikasi"
    whatsapp_template_languages: str = "id:id,en:en"  # chat locale : template language code

    # Retention (`python -m bot retention`, issue 12): personal data kept no longer than needed (UU PDP 27/2022).
    retention_tickets_days: int = Field(default=180, ge=1, le=36_500)  # closed tickets and their messages
    retention_audit_days: int = Field(default=365, ge=1, le=36_500)  # audit rows
    retention_deliveries_days: int = Field(default=90, ge=1, le=36_500)  # sent, failed, blocked, cancelled messages

    # The hand-off to support staff (issue 8): a Telegram supergroup with topics, one topic per ticket. The bot must
    # be an admin there with the right to manage topics. Unset: no "Hubungi petugas".
    support_chat_id: int | None = None  # e.g. -1001234567890
    support_hours: str = "08:00-17:00"  # when the desk is staffed, WIB
    support_days: str = "mon-fri"  # mon..sun or sen..min: ranges (mon-fri) or lists (mon,wed,fri)
    support_holidays: str = ""  # closed dates, e.g. 2026-12-25,2027-01-01
    support_answer_hours: float = Field(default=4, gt=0, le=200)  # working hours until an answer is due
    support_flood_messages: int = Field(default=10, ge=1, le=1000)  # an applicant's messages relayed per window
    support_flood_seconds: int = Field(default=60, ge=1, le=86_400)
    support_tickets_per_hour: int = Field(default=3, ge=1, le=1000)  # new tickets a chat may open per hour
    support_max_file_mb: float = Field(default=20, gt=0, le=2000)  # larger photos and documents are not relayed
    support_group_per_minute: int = Field(default=20, ge=1, le=600)  # Telegram: about 20 messages/min to a group

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: object) -> object:
        """An empty value (`WHATSAPP_PHONE_ID=`, as `.env.example` has it) means "not set", for every setting: the
        default applies, exactly as if the line were not there."""
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if not (isinstance(value, str) and not value.strip())}
        return data

    @field_validator("admin_ids", "support_ids", mode="before")
    @classmethod
    def _split_principals(cls, value: object) -> tuple[Principal, ...]:
        if isinstance(value, str):
            return tuple(parse_principal(part) for part in value.split(",") if part.strip())
        if isinstance(value, list | tuple):
            return tuple(p if isinstance(p, Principal) else parse_principal(str(p)) for p in value)
        raise ValueError("expected a comma-separated list")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a PostgreSQL URL, e.g. postgresql://user:password@host:5432/prakerja")
        return value

    @field_validator("whatsapp_tier")
    @classmethod
    def _known_tier(cls, value: str) -> str:
        tier = value.strip().lower().replace(",", "").replace("_", "")
        if tier not in WHATSAPP_TIERS:
            raise ValueError("must be one of 250, 2000, 10000, 100000, unlimited")
        return tier

    @field_validator("whatsapp_template_languages")
    @classmethod
    def _language_pairs(cls, value: str) -> str:
        for pair in value.split(","):
            locale, sep, code = pair.strip().partition(":")
            if not sep or not locale or not code:
                raise ValueError("expected locale:code pairs, e.g. id:id,en:en")
        return value

    @field_validator("support_chat_id")
    @classmethod
    def _supergroup(cls, value: int | None) -> int | None:
        if value is not None and value >= 0:
            raise ValueError("must be the (negative) id of a supergroup, e.g. -1001234567890")
        return value

    @field_validator("support_hours", "support_days", "support_holidays")
    @classmethod
    def _support_schedule(cls, value: str, info: ValidationInfo) -> str:
        parse = {"support_hours": parse_hours, "support_days": parse_days, "support_holidays": parse_holidays}
        parse[str(info.field_name)](value)  # ValueError with what is wrong
        return value

    @property
    def handoff(self) -> HandoffConfig:
        """The support desk's settings as the handlers read them (issue 8). The desk is on with a support group and
        a Telegram bot to post there (a WhatsApp-only bot offers no "Hubungi petugas": no one would read it)."""
        on = self.support_chat_id is not None and bool(self.telegram_bot_token)
        return HandoffConfig(
            chat_id=str(self.support_chat_id) if on else None,
            hours=WorkingHours.parse(self.support_hours, self.support_days, self.support_holidays),
            answer_within=self.support_answer_hours,
            flood_messages=self.support_flood_messages,
            flood_window=timedelta(seconds=self.support_flood_seconds),
            max_file_bytes=int(self.support_max_file_mb * 1_000_000),
            tickets_per_hour=self.support_tickets_per_hour,
        )

    @property
    def whatsapp_tier_limit(self) -> int | None:
        """Unique users per rolling 24 h for business-initiated messages; None for unlimited."""
        return WHATSAPP_TIERS[self.whatsapp_tier]

    def retention_cutoffs(self, now: datetime) -> RetentionCutoffs:
        """What `python -m bot retention` deletes: older than RETENTION_*_DAYS before `now`."""
        return RetentionCutoffs(tickets=now - timedelta(days=self.retention_tickets_days),
                                audit=now - timedelta(days=self.retention_audit_days),
                                deliveries=now - timedelta(days=self.retention_deliveries_days))

    @property
    def code_limits(self) -> CodeLimits:
        """The limits of WhatsApp verification codes as the link handler reads them (issue 14.5)."""
        tier = self.whatsapp_tier_limit
        derived = min(CODES_PER_HOUR_MAX, max(1, tier // CODES_PER_HOUR_TIER_DIVISOR)) if tier else CODES_PER_HOUR_MAX
        return CodeLimits(per_chat=self.whatsapp_codes_per_chat, per_number=self.whatsapp_codes_per_number,
                          per_hour=self.whatsapp_codes_per_hour or derived, tier=tier)

    @property
    def template_languages(self) -> dict[str, str]:
        pairs = (pair.strip().partition(":") for pair in self.whatsapp_template_languages.split(","))
        return {locale.strip(): code.strip() for locale, _, code in pairs}

    @property
    def whatsapp_configured(self) -> bool:
        return bool(self.whatsapp_token or self.whatsapp_phone_id)

    def require_webhook_secrets(self) -> None:
        """`serve` runs only with each configured platform's secrets, and at least one platform."""
        if self.whatsapp_configured:
            missing = [name for name, value in (
                ("WHATSAPP_TOKEN", self.whatsapp_token), ("WHATSAPP_PHONE_ID", self.whatsapp_phone_id),
                ("WHATSAPP_APP_SECRET", self.whatsapp_app_secret),
                ("WHATSAPP_VERIFY_TOKEN", self.whatsapp_verify_token)) if not value]
            if missing:
                verb = "is" if len(missing) == 1 else "are"
                raise SettingsError(f"WhatsApp is configured but {', '.join(missing)} {verb} missing: webhooks cannot"
                                    " be authenticated without the app secret and verify token")
        if not self.telegram_bot_token and not self.whatsapp_configured:
            raise SettingsError("serve needs TELEGRAM_BOT_TOKEN or WHATSAPP_TOKEN (with their secrets)")
        url = self.public_url
        if self.telegram_bot_token and url is not None and self.telegram_api_url == DEFAULT_TELEGRAM_API_URL and (
                url.scheme != "https" or url.port not in TELEGRAM_WEBHOOK_PORTS):
            ports = ", ".join(map(str, TELEGRAM_WEBHOOK_PORTS))
            raise SettingsError(f"PUBLIC_URL must be https:// on port {ports}: Telegram sends webhooks nowhere else"
                                f" (got {url})")

    @property
    def telegram_secret(self) -> str | None:
        """The `secret_token` of the Telegram webhook: TELEGRAM_WEBHOOK_SECRET, else one derived from the token
        (every `serve` process derives the same; whoever knows the token could set the webhook anyway)."""
        if self.telegram_webhook_secret or not self.telegram_bot_token:
            return self.telegram_webhook_secret
        return hmac.new(self.telegram_bot_token.encode(), b"telegram-webhook-secret", hashlib.sha256).hexdigest()

    @field_validator("telegram_api_url", "whatsapp_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @property
    def database_target(self) -> str:
        """What `storage.open_storage` opens: DATABASE_URL (PostgreSQL) if set, else the SQLite DATABASE_PATH."""
        return self.database_url or str(self.database_path)

    def require_pepper(self) -> str:
        if not self.nik_pepper:
            raise SettingsError("NIK_PEPPER is required (at least 16 characters): it is the secret of the NIK hash")
        return self.nik_pepper

    def require_telegram_token(self) -> str:
        if not self.telegram_bot_token:
            raise SettingsError("TELEGRAM_BOT_TOKEN is required for this command (ask @BotFather for one)")
        return self.telegram_bot_token


def warn_about_pepper() -> None:
    """One line at the start of every long-running command (`run`, `serve`, `sender`): the pepper is the key of
    every stored NIK hash (docs/deploy.md, "Backups")."""
    log.warning("NIK_PEPPER is the key of every stored NIK hash: keep it with the backups and never change it;"
                " lost or changed, no applicant can link again and a re-import duplicates every account")


def load_settings(**overrides: Any) -> Settings:  # raw values: pydantic validates them
    """Build the settings, turning pydantic's report into one line per bad setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "?"
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{name}: {message}")
        raise SettingsError("invalid setting " + "; ".join(problems)) from None
