"""The repositories, each written once for both backends over `storage.core.Engine` (see storage/core.py)."""
