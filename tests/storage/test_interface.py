"""Both backends offer exactly the interface handlers use: same methods, same signatures, as storage.interface says.

No database needed: this compares the classes, so a method added to one backend and forgotten in the other (or
given another signature) fails here before any handler meets it.
"""

from __future__ import annotations

import inspect
import typing
from types import ModuleType

import pytest

import storage.postgres.outbox
import storage.postgres.repositories
import storage.postgres.staff
import storage.postgres.tickets
import storage.postgres.webhooks
import storage.sqlite.outbox
import storage.sqlite.repositories
import storage.sqlite.staff
import storage.sqlite.tickets
import storage.sqlite.webhooks
from storage import REPOSITORIES as CLASSES
from storage import Storage

MODULES = {
    "sqlite": [storage.sqlite.repositories, storage.sqlite.outbox, storage.sqlite.staff, storage.sqlite.webhooks,
               storage.sqlite.tickets],
    "postgres": [storage.postgres.repositories, storage.postgres.outbox, storage.postgres.staff,
                 storage.postgres.webhooks, storage.postgres.tickets],
}


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(fn) for name, fn in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_")}


def repository(field: str, modules: list[ModuleType]) -> type:
    for module in modules:
        if hasattr(module, CLASSES[field]):
            return getattr(module, CLASSES[field])
    raise AssertionError(f"no {CLASSES[field]} for Storage.{field}")


def test_every_repository_of_storage_is_listed() -> None:
    assert set(CLASSES) == set(typing.get_type_hints(Storage)) - {"database", "turns", "budget"}


@pytest.mark.parametrize("field", CLASSES)
def test_both_backends_have_the_same_methods_and_signatures(field: str) -> None:
    sqlite, postgres = (repository(field, MODULES[backend]) for backend in ("sqlite", "postgres"))
    assert public_methods(postgres) == public_methods(sqlite)


@pytest.mark.parametrize("field", CLASSES)
def test_the_protocol_lists_every_method(field: str) -> None:
    protocol = typing.get_type_hints(Storage)[field]
    assert public_methods(protocol) == public_methods(repository(field, MODULES["sqlite"]))
