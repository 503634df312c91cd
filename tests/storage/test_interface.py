"""Handlers see exactly the interface storage.interface declares, and both backends offer the same engine.

No database needed: this compares the classes. Each repository is written once (storage/repositories/); the
protocols must list its public methods with the same signatures (so `Storage`, typed by them, lets no code above
the storage layer reach a repository's or a backend's own method), and the two engines under the repositories must
offer the same calls (storage.core.Engine) and spell every dialect difference (storage.core.Dialect).
"""

from __future__ import annotations

import importlib
import inspect
import typing

import pytest

from storage import REPOSITORIES as CLASSES
from storage import REPOSITORY_CLASSES, Storage, core
from storage.postgres.database import Database as PostgresDatabase
from storage.sqlite.database import Database as SqliteDatabase

ENGINES = {"sqlite": SqliteDatabase, "postgres": PostgresDatabase}


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(fn) for name, fn in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_")}


def test_every_repository_of_storage_is_listed() -> None:
    assert set(CLASSES) == set(typing.get_type_hints(Storage)) - {"database", "turns", "budget"}


@pytest.mark.parametrize("field", CLASSES)
def test_the_protocol_lists_every_method(field: str) -> None:
    protocol = typing.get_type_hints(Storage)[field]
    assert public_methods(protocol) == public_methods(REPOSITORY_CLASSES[CLASSES[field]])


@pytest.mark.parametrize("backend", ENGINES)
def test_both_engines_offer_what_the_repositories_call(backend: str) -> None:
    engine = public_methods(ENGINES[backend])
    for name, signature in public_methods(core.Engine).items():  # the rows' types are the driver's own
        assert name in engine, f"{backend}: Engine.{name}"
        assert engine[name].parameters == signature.parameters, f"{backend}: Engine.{name}"


@pytest.mark.parametrize("backend", ENGINES)
def test_each_dialect_spells_every_difference(backend: str) -> None:
    dialect = type(ENGINES[backend].dialect)
    for name in typing.get_type_hints(core.Dialect):
        assert hasattr(dialect, name), f"{backend}: Dialect.{name}"
    for name in ("isin", "rowset"):
        assert getattr(dialect, name) is not getattr(core.Dialect, name), f"{backend}: Dialect.{name}"
    assert callable(importlib.import_module(f"storage.{dialect.name}.importer").import_rows)
