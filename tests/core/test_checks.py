"""The static checks CI holds the code to (issue 16.4): mypy over the packages, ruff over the repository.

Each runs as the developer would run it, from the repository root with pyproject.toml's settings; a failure shows
the tool's own report. mypy keeps its cache in `.mypy_cache` (gitignored): a run after the first takes seconds.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 300  # a cold mypy run takes about 10 s; this only stops a hung one
_IGNORE = re.compile(r"#\s*type:\s*ignore\b(\[[^\]]*\])?(.*)$")


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True,
                          timeout=TIMEOUT_S, check=False)


def test_mypy_finds_no_errors() -> None:
    done = _run("mypy")
    assert done.returncode == 0, f"mypy found type errors:\n{done.stdout}{done.stderr}"


def test_ruff_finds_nothing() -> None:
    done = _run("ruff", "check", ".")
    assert done.returncode == 0, f"ruff check . failed:\n{done.stdout}{done.stderr}"


def test_every_type_ignore_names_its_error_and_says_why() -> None:
    """A `# type: ignore` that stays is narrow (one error code) and explained, on its line or the one above."""
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["packages"]
    unexplained = []
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            lines = path.read_text(encoding="utf-8").splitlines()
            for number, line in enumerate(lines, start=1):
                match = _IGNORE.search(line)
                if match is None:
                    continue
                said_why = match.group(2).strip() or (number > 1 and lines[number - 2].lstrip().startswith("#"))
                if not match.group(1) or not said_why:
                    unexplained.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not unexplained, "type: ignore without an error code or a comment saying why:\n" + "\n".join(unexplained)
