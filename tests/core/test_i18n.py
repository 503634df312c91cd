"""Every user-facing message has an English translation that keeps its placeholders and markup."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from locales.catalog import compiled, extract, mo_is_current, problems, read_catalog

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


def test_a_mo_written_by_another_babel_release_is_current(tmp_path) -> None:
    """A new Babel writes another header (its version, a date): only what the catalog translates counts."""
    catalog = read_catalog("en")
    catalog.version, catalog.msgid_bugs_address = "999", "someone@example.invalid"
    catalog.revision_date = catalog.creation_date = datetime(2031, 1, 1, tzinfo=UTC)
    mo = tmp_path / "messages.mo"
    mo.write_bytes(compiled(catalog))
    assert mo.read_bytes() != compiled(read_catalog("en"))  # other bytes ...
    assert mo_is_current(mo, read_catalog("en"))  # ... same translations


def test_a_mo_that_lacks_a_translation_of_the_po_is_stale(tmp_path) -> None:
    catalog = read_catalog("en")
    changed = next(message for message in catalog if message.id and isinstance(message.string, str) and message.string)
    changed.string += " (edited)"
    mo = tmp_path / "messages.mo"
    mo.write_bytes(compiled(read_catalog("en")))
    assert not mo_is_current(mo, catalog)
    assert not mo_is_current(tmp_path / "missing.mo", catalog)
