"""The conversation flows, one module per capability. Platform-free: nothing here imports a chat platform.

`build_router` is the whole list of capabilities; a new module is added to `MODULES`.
"""

from __future__ import annotations

from handlers import (
    admin,
    eligibility,
    faq,
    guide,
    handoff,
    link,
    menu,
    platforms,
    preferences,
    results,
    scam,
    support,
    trainings,
)
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
    faq.routes,
    scam.routes,
    admin.routes,
    support.routes,
    handoff.routes,
)


def build_router(services: Services) -> Router:
    # The hand-off (issue 8) sits in front of the menu, link, file and "unsupported" answers: while an applicant has
    # an open ticket, those messages go to staff; otherwise each falls through to the module named here before.
    fallbacks = Fallbacks(
        menu=handoff.unknown,  # -> menu.unknown
        has_links=scam.has_links,
        unknown_action=menu.unknown_action,
        contact=link.contact_shared,
        links=handoff.links,  # -> scam.unasked
        edited=menu.edited,
        unsupported=handoff.unsupported,  # -> menu.unsupported
        document=handoff.document,  # -> admin.document_received: an admin's CSV or broadcast photo; else menu.document
        group=menu.group,
        desk=handoff.desk,  # the support group's messages: staff answering tickets
        text=handoff.free_text,  # -> freetext.respond: free text understood (issue 13)
        label_command=menu.label_command,
    )
    return Router(services, MODULES, fallbacks)
