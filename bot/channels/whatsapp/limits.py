"""WhatsApp Cloud API limits, named once (Meta's documentation of messages, interactive messages and rates)."""

from __future__ import annotations

from datetime import timedelta

TEXT_BODY_MAX = 4096  # characters in a text message body
INTERACTIVE_BODY_MAX = 1024  # characters in the body of an interactive (buttons, list, CTA) message
REPLY_BUTTONS_MAX = 3  # reply buttons in one interactive message
REPLY_BUTTON_TITLE_MAX = 20
REPLY_BUTTON_ID_MAX = 256
LIST_ROWS_MAX = 10  # rows over all sections of a list message
LIST_ROW_TITLE_MAX = 24
LIST_ROW_DESCRIPTION_MAX = 72
LIST_ROW_ID_MAX = 200
LIST_SECTION_TITLE_MAX = 24
LIST_BUTTON_MAX = 20  # the label of the button that opens the list
CTA_DISPLAY_TEXT_MAX = 20  # the label of a call-to-action URL button
CTA_PER_MESSAGE = 1  # one URL button per interactive message
TEMPLATE_PARAM_MAX = 1024  # a body parameter of a template (no newlines, tabs or 4+ spaces in a row)

NUMBERED_PAGE_SIZE = 10  # numbered choices per page when a list cannot hold them all

CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)  # free-form messages only this long after the user's last message
PAIR_RATE_INTERVAL_S = 6.0  # Meta: about one message per 6 s to the same user (error 131056 beyond it)
DEFAULT_THROUGHPUT_PER_S = 80  # messages per second per business number (1,000 after Meta's upgrade)
TIER_WINDOW = timedelta(hours=24)  # the messaging-limit tier counts unique users over a rolling 24 h
TIERS = (250, 2_000, 10_000, 100_000)  # business-initiated unique users per 24 h; or unlimited
