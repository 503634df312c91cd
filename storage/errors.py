"""Errors of the storage layer, the same whichever backend runs."""

from __future__ import annotations


class StorageError(Exception):
    """The database could not do what was asked (locked, read-only, full disk, unreachable); safe to show as 'try
    again'. Constraint violations and SQL mistakes are bugs and stay what the driver raised."""


class ImportConflict(Exception):
    """Rows whose card number belongs to another account in the database already; nothing was imported."""

    LIMIT = 50  # lines named at most; `total` counts them all

    def __init__(self, lines: list[int], total: int) -> None:
        super().__init__(f"card number of another account on {total} row(s)")
        self.lines = lines
        self.total = total
