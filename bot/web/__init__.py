"""The web server of `python -m bot serve`: webhooks of Telegram and WhatsApp, /healthz, /metrics."""

from bot.web.app import Web, WebhookSecrets

__all__ = ["Web", "WebhookSecrets"]
