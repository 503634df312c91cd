"""The WhatsApp channel: the Cloud API in front of the platform-free router.

- inbound.py: webhook payloads -> Events and statuses   - channel.py: messages through the router, replies back
- render.py, markup.py: Reply -> WhatsApp messages         - templates.py: messages outside the 24-hour window
- client.py, errors.py: the Cloud API and its errors       - pacing.py, limits.py: the platform's pace and limits
- transport.py: the outbox's transport

The web server (bot/web/app.py) authenticates the webhook and hands its payload to inbound.py; bot/web/serve.py
builds the channel from the settings.
"""
