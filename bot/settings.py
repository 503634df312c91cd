"""Configuration from the environment and `.env`, validated once at start.

Every setting is documented in README.md and `.env.example`. A malformed value stops the process with one
clear line (see `load_settings`), never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, HttpUrl, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from handlers.roles import Principal, parse_principal

DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org/bot"
DEFAULT_VIDEO_URL = "https://www.prakerja.go.id/"


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line meant for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str | None = None
    telegram_api_url: str = DEFAULT_TELEGRAM_API_URL
    database_path: Path = Path("data/prakerja.sqlite3")
    nik_pepper: str | None = Field(default=None, min_length=16)
    admin_ids: Annotated[tuple[Principal, ...], NoDecode] = ()
    support_ids: Annotated[tuple[Principal, ...], NoDecode] = ()
    intro_video_url: HttpUrl = HttpUrl(DEFAULT_VIDEO_URL)
    log_level: str = "INFO"

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

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    def require_pepper(self) -> str:
        if not self.nik_pepper:
            raise SettingsError("NIK_PEPPER is required (at least 16 characters): it is the secret of the NIK hash")
        return self.nik_pepper

    def require_telegram_token(self) -> str:
        if not self.telegram_bot_token:
            raise SettingsError("TELEGRAM_BOT_TOKEN is required for this command (ask @BotFather for one)")
        return self.telegram_bot_token


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning pydantic's report into one line per bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "?"
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{name}: {message}")
        raise SettingsError("invalid setting " + "; ".join(problems)) from None
