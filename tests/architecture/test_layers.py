"""The layers hold (docs/architecture.md section 1, docs/design-notes.md note 20), checked on the source's AST:

- handlers/ is platform-free: it never imports bot/ nor a platform's or web library;
- storage/ never imports handlers/ nor bot/ (nor a platform's library);
- bot/channels/* never import the wiring (bot/run.py, bot/outbox.py, bot/web/, bot/__main__.py);
- no import cycles among the imports that run when a module is imported;
- in bot/, a function-level import says why it is deferred (a `# deferred:` comment above it in its function).

Every rule is also run on a small tree written for the purpose, where it must find the violation it exists for.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.architecture.imports import Import, cycles, graph, imports, module_path, modules

ROOT = Path(__file__).resolve().parents[2]
PLATFORMS = ("telegram", "httpx", "starlette", "uvicorn", "aiohttp", "aiogram", "pywa", "h11", "httptools",
             "websockets", "anyio")
DRIVERS = ("aiosqlite", "asyncpg", "sqlite3")
WIRING = ("bot.run", "bot.outbox", "bot.web", "bot.__main__")


def _under(name: str, packages: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def forbidden(root: Path, importers: tuple[str, ...], targets: Iterable[str]) -> list[str]:
    """Every import (at any level, TYPE_CHECKING included) by a module under `importers` of one under `targets`."""
    targets = tuple(targets)
    return [imp.where(root) for imp in imports(root) if _under(imp.importer, importers) and _under(imp.target, targets)]


def import_cycles(root: Path) -> list[str]:
    known = set(modules(root))
    edges = graph(imports(root), known)
    found = []
    for cycle in cycles(edges):
        steps = "\n".join(f"  {edges[a][b].where(root)}" for a, b in itertools.pairwise(cycle))
        found.append(" -> ".join(cycle) + "\n" + steps)
    return found


def unexplained_deferrals(root: Path, package: str = "bot") -> list[str]:
    """Function-level imports in `package` with no `# deferred:` comment between their function's `def` and them."""
    late = [imp for imp in imports(root, [package]) if not imp.at_import]
    found = []
    for imp in late:
        path = root / module_path(root, imp.importer)
        lines = path.read_text(encoding="utf-8").splitlines()
        start = _enclosing_def(path, imp.line)
        if start is None:  # under `if TYPE_CHECKING:` at module level: never runs
            continue
        if not any("# deferred:" in line for line in lines[start - 1: imp.line]):
            found.append(imp.where(root))
    return found


def _enclosing_def(path: Path, line: int) -> int | None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    best = None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.lineno <= line <= (node.end_lineno or 0):
            best = node.lineno if best is None else max(best, node.lineno)
    return best


RULES = {
    "handlers import bot/": lambda root: forbidden(root, ("handlers",), ("bot",)),
    "handlers import a platform library": lambda root: forbidden(root, ("handlers",), PLATFORMS),
    "handlers import a database driver": lambda root: forbidden(root, ("handlers",), DRIVERS),
    "storage imports handlers/ or bot/": lambda root: forbidden(root, ("storage",), ("handlers", "bot")),
    "storage imports a platform library": lambda root: forbidden(root, ("storage",), PLATFORMS),
    "a channel imports the wiring": lambda root: forbidden(root, ("bot.channels",), WIRING),
    "import cycles": import_cycles,
    "function-level imports without a reason": unexplained_deferrals,
}


@pytest.mark.parametrize("rule", RULES)
def test_the_code_keeps_the_rule(rule: str) -> None:
    violations = RULES[rule](ROOT)
    assert not violations, f"{rule}:\n" + "\n".join(violations)


# --- each rule finds what it exists for, on a tree written for it ----------------------------------------------
def write(root: Path, files: dict[str, str]) -> Path:
    for package in ("bot", "bot/channels", "bot/channels/chat", "bot/web", "handlers", "storage", "locales"):
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").touch()
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


BROKEN = {
    "handlers import bot/": {"handlers/flow.py": "def f():\n    from bot.channels.chat import render\n"},
    "handlers import a platform library": {"handlers/flow.py": "from telegram.ext import Application\n"},
    "handlers import a database driver": {"handlers/flow.py": "import aiosqlite\n"},
    "storage imports handlers/ or bot/": {
        "storage/repo.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from handlers.api import Event\n"},
    "storage imports a platform library": {"storage/repo.py": "import httpx\n"},
    "a channel imports the wiring": {"bot/channels/chat/send.py": "from bot.run import run_polling\n",
                                     "bot/run.py": "run_polling = None\n"},
    "import cycles": {"bot/a.py": "from bot import b\n", "bot/b.py": "from bot.channels.chat import c\n",
                      "bot/channels/chat/c.py": "import bot.a\n"},
    "function-level imports without a reason": {"bot/a.py": "def f():\n    from bot import b\n", "bot/b.py": ""},
}


@pytest.mark.parametrize("rule", RULES)
def test_the_rule_finds_a_violation(rule: str, tmp_path: Path) -> None:
    assert RULES[rule](write(tmp_path, BROKEN[rule]))


def test_relative_imports_and_package_inits_count(tmp_path: Path) -> None:
    """`from . import x` is resolved; a package's __init__ is imported by anything imported from below it."""
    root = write(tmp_path, {"bot/channels/chat/__init__.py": "from bot.run import go\n",
                            "bot/run.py": "from .channels.chat.send import deliver\ngo = deliver\n",
                            "bot/channels/chat/send.py": "deliver = None\n"})
    assert "bot.channels.chat -> bot.run -> bot.channels.chat" in "\n".join(import_cycles(root))
    assert forbidden(root, ("bot.channels",), WIRING)


def test_what_needs_no_reason(tmp_path: Path) -> None:
    """Imports under TYPE_CHECKING run never; a function-level import with its reason is allowed."""
    root = write(tmp_path, {
        "bot/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.b import B\n",
        "bot/b.py": "from bot.a import A\nA = B = None\n"
                    "def f():\n    # deferred: uvicorn only for `serve`\n    import uvicorn\n    from bot import a\n"})
    assert not import_cycles(root)
    assert not unexplained_deferrals(root)


def test_a_late_import_of_ours_is_not_an_edge(tmp_path: Path) -> None:
    root = write(tmp_path, {"bot/a.py": "from bot.b import x\n", "bot/b.py": "x = 1\ndef f():\n    import bot.a\n"})
    assert not import_cycles(root)


def test_import_records(tmp_path: Path) -> None:
    root = write(tmp_path, {"bot/web/app.py": "from ..channels import chat\nclass C:\n    import json\n"})
    found = [i for i in imports(root) if i.importer == "bot.web.app"]
    assert found == [Import("bot.web.app", "bot.channels.chat", 1, True), Import("bot.web.app", "json", 3, True)]
