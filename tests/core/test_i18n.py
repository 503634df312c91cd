"""Every user-facing message has an English translation that keeps its placeholders and markup."""

from __future__ import annotations

import re

from locales.catalog import extract, problems, read_catalog

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
TAG = re.compile(r"</?[a-z-]+")


def test_catalog_is_complete_and_compiled() -> None:
    missing = list(problems())
    assert not missing, "\n".join(missing[:20])


def test_translations_keep_placeholders_and_tags() -> None:
    catalog = read_catalog("en")
    wrong = []
    for message in extract():
        translated = catalog.get(message.id)
        strings = translated.string if translated is not None else ""
        if not strings or (isinstance(strings, tuple) and not all(strings)):
            continue  # missing: reported by the test above
        pairs = zip(message.id, translated.string, strict=False) if isinstance(message.id, tuple) else [
            (message.id, translated.string)
        ]
        for source, target in pairs:
            for pattern in (PLACEHOLDER, TAG):
                if sorted(pattern.findall(source)) != sorted(pattern.findall(target)):
                    wrong.append(f"{source!r} -> {target!r}")
    assert not wrong, "\n".join(wrong[:20])
