"""The conversation flows, one module per capability. Platform-free: nothing here imports a chat platform.

`build_router` is the whole list of capabilities; a new module is added to `MODULES`.
"""

from __future__ import annotations

from handlers import admin, eligibility, guide, link, menu, platforms, preferences, results, scam, support, trainings
from handlers.context import Services
from handlers.router import Fallbacks, Router, Routes

MODULES: tuple[Routes, ...] = (
    menu.routes,
    link.routes,
    results.routes,
    guide.routes,
    preferences.routes,
    platforms.routes,
    trainings.routes,
    eligibility.routes,
    scam.routes,
    admin.routes,
    support.routes,
)


def build_router(services: Services) -> Router:
    fallbacks = Fallbacks(
        menu=menu.unknown,
        unknown_action=menu.unknown_action,
        contact=link.contact_shared,
        links=scam.unasked,
        edited=menu.edited,
        unsupported=menu.unsupported,
        document=admin.document_received,  # an admin's CSV or broadcast photo; else menu.document
        group=menu.group,
    )
    return Router(services, MODULES, fallbacks)
