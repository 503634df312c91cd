"""`python -m bot serve`: build the channels that are configured and run the web server with uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from bot.app import App, open_app
from bot.channels.whatsapp.channel import WhatsAppChannel
from bot.channels.whatsapp.client import WhatsAppClient
from bot.channels.whatsapp.pacing import Pacer
from bot.channels.whatsapp.templates import TemplateNames
from bot.metrics import Metrics
from bot.settings import Settings
from bot.web.app import Web, WebhookSecrets, Worker
from handlers.api import Notice

log = logging.getLogger(__name__)


def whatsapp_channel(app: App, settings: Settings, metrics: Metrics, **client_options: object) -> WhatsAppChannel:
    assert settings.whatsapp_token and settings.whatsapp_phone_id
    client = WhatsAppClient(settings.whatsapp_api_url, settings.whatsapp_phone_id, settings.whatsapp_token,
                            **client_options)  # type: ignore[arg-type]
    templates = TemplateNames(settings.whatsapp_template_info, settings.whatsapp_template_result,
                              settings.whatsapp_template_code, settings.template_languages)
    return WhatsAppChannel(app.router, app.storage, client, templates=templates, metrics=metrics,
                           pacer=Pacer(settings.whatsapp_rate))


def build_web(app: App, settings: Settings, *, workers: list[Worker] | None = None,
              telegram: object = None, whatsapp: WhatsAppChannel | None = None,
              metrics: Metrics | None = None) -> Web:
    """The web app for `settings`: the channels that are configured (or given), their secrets, the workers."""
    metrics = metrics or Metrics()
    if whatsapp is None and settings.whatsapp_configured:
        whatsapp = whatsapp_channel(app, settings, metrics)
    if telegram is None and settings.telegram_bot_token:
        from bot.channels.telegram import build_application

        telegram = build_application(app, settings)
    if telegram is not None and whatsapp is not None:
        from bot.channels.telegram.delivery import Delivery

        delivery = Delivery(telegram.bot)  # type: ignore[attr-defined]

        async def forward(notice: Notice) -> None:
            await delivery.notice(notice.channel, notice.chat_id, notice.reply)

        whatsapp.forward = forward
    secrets = WebhookSecrets(
        telegram_secret=settings.telegram_webhook_secret,
        whatsapp_app_secret=settings.whatsapp_app_secret,
        whatsapp_verify_token=settings.whatsapp_verify_token,
        whatsapp_phone_id=settings.whatsapp_phone_id,
        public_url=str(settings.public_url) if settings.public_url else None,
    )
    return Web(app, secrets, whatsapp=whatsapp, telegram=telegram, workers=workers or [], metrics=metrics)


async def serve(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM. Refuses to start (SettingsError, one line) when a platform lacks its secret."""
    settings.require_webhook_secrets()
    settings.require_pepper()
    app = await open_app(settings)
    try:
        web = build_web(app, settings, workers=_sender_workers(app, settings))
        config = uvicorn.Config(web.starlette, host=settings.host, port=settings.port, lifespan="on",
                                access_log=False, log_level=settings.log_level.lower(), log_config=None)
        server = uvicorn.Server(config)
        log.info("serving on %s:%d (telegram: %s, whatsapp: %s)", settings.host, settings.port,
                 "on" if web.telegram is not None else "off", "on" if web.whatsapp is not None else "off")
        await server.serve()
        return 0 if server.started else 1
    finally:
        await app.close()


def _sender_workers(app: App, settings: Settings) -> list[Worker]:
    """The outbox sender in the same process, when the sender package is present."""
    try:
        from bot.sender import build_worker  # type: ignore[attr-defined]
    except ImportError:
        log.info("no outbox sender in this build: serving webhooks only")
        return []
    return [build_worker(app, settings)]
