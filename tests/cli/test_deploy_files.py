"""The files an operator deploys with: the Procfile's commands are real commands, honcho is installable as the
project's extra, the README points only inside the repository."""

from __future__ import annotations

import re
import shlex
import tomllib

from bot.__main__ import _parser
from tests.cli.processes import ROOT


def test_procfile_names_real_commands_and_honcho_is_an_extra() -> None:
    processes = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert set(processes) == {"web", "worker"}
    for command in processes.values():
        words = shlex.split(command)
        assert words[:3] == ["python", "-m", "bot"]
        _parser().parse_args(words[3:])  # exits (fails the test) on an unknown command
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(r.startswith("honcho") for r in extras["procfile"])
    readme = (ROOT / "README.md").read_text()
    assert "'.[procfile]'" in readme and "honcho start" in readme


def test_readme_and_docs_point_only_inside_the_repository() -> None:
    for path in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        text = path.read_text()
        assert "../" not in text and "/work/" not in text, path
        for target in re.findall(r"`((?:docs|tests|storage|bot|handlers|locales)/[\w./-]+\.\w+)`", text):
            assert (ROOT / target).exists(), f"{path.name} names {target}, which is not in the repository"


def test_the_readme_keeps_two_commands_for_a_newcomer() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)```", section.split("In the demo")[0], re.S)
    assert [c.strip() for c in commands] == [
        "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/python -m bot chat --demo",
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest",
    ]
