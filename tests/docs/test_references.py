"""What a newcomer reads must exist as written (issue 12): every `python -m bot ...` command in the README, the guides
and the deploy files is one the CLI parses (its subcommands and options), every setting they name is one of
bot/settings.py, and every file they point to is in the repository, under its current name (the layout moved:
handlers/handoff/, bot/channels/console/, bot/channels/telegram/transport.py, bot/run.py, bot/outbox.py)."""

from __future__ import annotations

import argparse
import json
import re
import shlex
from pathlib import Path

import pytest

from bot.__main__ import NEEDS, _parser
from bot.settings import Settings
from tests.docs.transcripts import REPOSITORY as ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DEPLOY_FILES = [ROOT / name for name in (".env.example", "Dockerfile", "compose.yaml", "Procfile", ".ci/run")]
SETTINGS = {name.upper() for name in Settings.model_fields}
# A word in capitals whose first part is one of the settings' (TELEGRAM_, SUPPORT_, RETENTION_, ...) is read as a
# setting; others (POSTGRES_PASSWORD of compose, TEST_DATABASE_URL of the tests, NOMOR_TIKET in a guide) are not.
_PREFIXES = {name.split("_")[0] for name in SETTINGS if "_" in name}
_SETTING = re.compile(r"(?<![\w-])([A-Z][A-Z0-9]*(?:_(?:[A-Z0-9]+|\*))+)(?![\w-])")
_COMMAND = re.compile(r"\bpython3? -m (bot|locales\.catalog|tests\.benchmarks)(?![\w.])([^`\n]*)")
_IMAGE_COMMAND = re.compile(r"\basisten-prakerja((?: [a-z][a-z-]*)+)\s*$", re.M)  # docker run ... IMAGE ARGS
_EXEC_FORM = re.compile(r"^\s*(?:CMD|command:)\s*(\[.*\])", re.M)
_MACHINE_PATHS = ("/work/", "/home/", "/root/", "/opt/pypi", "file://", "../")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_PATH = re.compile(r"(?<![\w./:~-])((?:\.?[\w-]+/)+[\w.*-]*)")
# Paths a newcomer makes, not the repository's: the database's default place, and what `DATABASE_PATH` holds.
_MADE_BY_THE_BOT = ("data/",)
_TOP = {"bot", "handlers", "storage", "locales", "tests", "docs", ".ci", "shared"}


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def commands_in(text: str) -> list[tuple[str, list[str]]]:
    """(module, words) of every `python -m MODULE words` in `text`; alternatives written `a \\| b` (a table cell)
    become one command each, the later ones under the first one's parent command (`admin waves \\| status`)."""
    found: list[tuple[str, list[str]]] = []
    for match in _COMMAND.finditer(text):
        module, rest = match.group(1), match.group(2)
        alternatives = [_words(part) for part in rest.split("\\|")]
        first = alternatives[0]
        found.append((module, first))
        parent = first[:-1] if module == "bot" and len(first) >= 2 else []
        found += [(module, parent + words) for words in alternatives[1:] if words]
    return found


def _words(rest: str) -> list[str]:
    """The command's own words: up to a shell operator, a comment or the end of a sentence."""
    rest = re.split(r"\s(?:#|&&|\|\||\||;|>|2>)|\)|, |\. ", rest, maxsplit=1)[0]
    try:
        words = shlex.split(rest.replace("[", " ").replace("]", " "))
    except ValueError:  # an unbalanced quote in prose: the words before it
        words = rest.split()
    return [w for w in words if w not in ("...", "…")]


def check_bot_command(words: list[str]) -> str | None:
    """Why `python -m bot words` is not a command of the CLI (None: it is). Positional values are not checked
    (the docs write FILE.csv, N, TIME), only the subcommands and the options."""
    parser = _parser()
    path = []
    for word in words:
        if word.startswith("-"):
            option = word.split("=", 1)[0]
            if option not in parser._option_string_actions:
                return f"`{' '.join(path)}` has no option {option}"
            continue
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is None:
            continue  # a positional value
        if word.isupper() and not path:  # `python -m bot COMMAND --help`: any command
            return None if all(w in ("-h", "--help") for w in words[1:]) else f"{word} stands for which command?"
        if word not in sub.choices:
            return f"`{' '.join(path) or 'python -m bot'}` has no command {word!r}"
        parser = sub.choices[word]
        path.append(word)
    if not path:
        return None if not words else "no command named"  # `python -m bot` alone: the CLI itself
    if any(isinstance(a, argparse._SubParsersAction) for a in parser._actions):
        return f"`{' '.join(path)}` needs one of its commands"
    return None


def _other_module_commands(module: str) -> set[str]:
    if module == "locales.catalog":
        source = (ROOT / "locales" / "catalog.py").read_text(encoding="utf-8")
        return set(re.findall(r'command == "(\w+)"', source))
    from tests.benchmarks.__main__ import BENCHMARKS, MORE

    return {*BENCHMARKS, *MORE, "all", "--help", "NAME"}


def every_command() -> list[tuple[str, int, str, list[str]]]:
    """(file, line, module, words) of each command in the docs and the deploy files."""
    found = []
    for path in DOCS + DEPLOY_FILES:
        for number, line in enumerate(_lines(path), 1):
            for module, words in commands_in(line):
                found.append((path.name, number, module, words))
            for match in _IMAGE_COMMAND.finditer(line):  # `docker run ... asisten-prakerja admin waves`
                found.append((path.name, number, "bot", match.group(1).split()))
            for match in _EXEC_FORM.finditer(line):  # Dockerfile CMD / compose command: after `python -m bot`
                words = json.loads(match.group(1))
                if words[0] != "python":  # not the HEALTHCHECK's `python -c ...`
                    found.append((path.name, number, "bot", words))
    return found


def test_every_command_in_the_docs_is_one_the_cli_knows() -> None:
    problems = []
    commands = every_command()
    for name, number, module, words in commands:
        if module == "bot":
            why = check_bot_command(words)
        else:
            known = _other_module_commands(module)
            why = None if not words or words[0] in known else f"`python -m {module}` has no command {words[0]!r}"
        if why:
            problems.append(f"{name}:{number}: python -m {module} {' '.join(words)}: {why}")
    assert not problems, "\n".join(problems)
    named = {words[0] for _, _, module, words in commands if module == "bot" and words}
    assert named >= {"chat", "run", "serve", "sender", "import", "admin", "backup", "restore", "retention", "whoami"}


def test_the_check_of_commands_can_fail() -> None:
    """The readings that once went wrong are caught: an unknown command, option or admin action."""
    assert check_bot_command(["admin", "waves"]) is None
    assert check_bot_command(["import-catalogue", "T.csv", "--platforms", "P.json"]) is None
    assert "no command 'send'" in (check_bot_command(["send"]) or "")
    assert "no option --force" in (check_bot_command(["import", "x.csv", "--force"]) or "")
    assert "no command 'list'" in (check_bot_command(["admin", "list"]) or "")
    assert "needs one of its commands" in (check_bot_command(["admin"]) or "")
    assert commands_in("| `python -m bot admin waves \\| schedule N TIME \\| status` | x |") == [
        ("bot", ["admin", "waves"]), ("bot", ["admin", "schedule", "N", "TIME"]), ("bot", ["admin", "status"])]
    assert commands_in("run `python -m bot retention [--dry-run]` daily") == [("bot", ["retention", "--dry-run"])]
    assert commands_in("$ python -m bot backup /srv/b/ && find /srv/b -delete  # daily") == [
        ("bot", ["backup", "/srv/b/"])]


def settings_named(text: str) -> set[str]:
    return {word for word in _SETTING.findall(text) if word.split("_")[0] in _PREFIXES}


def _is_setting(word: str) -> bool:
    if "*" in word:  # RETENTION_*_DAYS, WHATSAPP_*: stands for at least one setting
        pattern = re.compile(re.escape(word).replace(r"\*", r"[A-Z0-9_]+"))
        return any(pattern.fullmatch(name) for name in SETTINGS)
    return word in SETTINGS


def test_every_setting_the_docs_name_is_one_the_bot_reads() -> None:
    problems = []
    for path in DOCS + DEPLOY_FILES:
        for number, line in enumerate(_lines(path), 1):
            problems += [f"{path.name}:{number}: {word}" for word in sorted(settings_named(line))
                         if not _is_setting(word)]
    for command, text in NEEDS.items():  # what each `--help` says it needs
        problems += [f"python -m bot {command} --help: {word}" for word in sorted(settings_named(text))
                     if not _is_setting(word)]
    assert not problems, "not settings of bot/settings.py:\n" + "\n".join(problems)


def test_every_setting_is_in_the_readme_table_and_in_env_example() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    # `WHATSAPP_TEMPLATE_INFO`, `_RESULT`, `_CODE`: the suffixes stand for the names under the first one's prefix
    listed = set()
    for row in table.splitlines():
        first = row.split("|")[1] if row.startswith("|") else ""
        names = re.findall(r"`(_?[A-Z][A-Z0-9_]*)`", first)
        for name in names:
            listed.add(name if not name.startswith("_") else names[0].rsplit("_", 1)[0] + name)
    example = {line.lstrip("# ").split("=", 1)[0] for line in _lines(ROOT / ".env.example") if "=" in line}
    assert SETTINGS - listed == set(), "settings missing from README.md's table"
    assert SETTINGS - example == set(), "settings missing from .env.example"


def test_the_setting_check_can_fail() -> None:
    assert settings_named("set `SUPPORT_GROUP_ID` and `RETENTION_*_DAYS`; POSTGRES_PASSWORD, NOMOR_TIKET") == {
        "SUPPORT_GROUP_ID", "RETENTION_*_DAYS"}
    assert not _is_setting("SUPPORT_GROUP_ID") and _is_setting("RETENTION_*_DAYS") and _is_setting("NIK_PEPPER")


def paths_named(text: str) -> list[str]:
    """Relative paths of files (`bot/run.py`, `shared/notes.txt`) or of the repository's folders
    (`handlers/handoff/`); not addresses, absolute paths, ratios (`msg/s`) or the venv's programs."""
    found = []
    for match in _PATH.finditer(text):
        path = match.group(1).rstrip(".,:;")
        if text[match.end():match.end() + 1] == "/" or re.match(r"[\w-]+\.[a-z]{2,}/", path):
            continue  # an address (github.com/..., www.prakerja.go.id/...)
        if path.startswith(".venv/"):
            continue
        a_file = re.search(r"\.(?:py|md|toml|csv|json|sql|txt|po|mo|pot|ya?ml|sh|cfg|ini|sqlite3)$", path)
        a_folder = path.endswith("/") and path.split("/")[0] in _TOP
        if a_file or a_folder:
            found.append(path)
    return found


def where(path: str, document: Path) -> Path | None:
    """The repository file a document's path means: from the root, from the document's folder, or (a name
    under a folder the sentence gave: `id/faq.toml` in handlers/understanding/data/) anywhere below."""
    for base in (ROOT, document.parent):
        if (base / path).exists():
            return base / path
    if "*" in path:  # `storage/migrations/*/` (but not markdown's **bold**)
        return next(ROOT.glob(path), None) if "**" not in path else ROOT
    matches = [p for p in ROOT.glob(f"**/{path.rstrip('/')}") if ".venv" not in p.parts and ".git" not in p.parts]
    return matches[0] if matches else None


def test_every_file_the_docs_name_is_in_the_repository() -> None:
    problems = []
    for document in [*DOCS, ROOT / ".env.example"]:
        for number, line in enumerate(_lines(document), 1):
            for path in paths_named(line):
                if path.startswith(_MADE_BY_THE_BOT) or where(path, document):
                    continue
                problems.append(f"{document.relative_to(ROOT)}:{number}: {path}")
    assert not problems, "files named that are not in the repository (moved, or outside it):\n" + "\n".join(problems)


def test_links_stay_in_the_repository_and_no_machine_path_is_named() -> None:
    problems = []
    for document in [*DOCS, ROOT / ".env.example"]:
        for number, line in enumerate(_lines(document), 1):
            problems += [f"{document.name}:{number}: {bad}" for bad in _MACHINE_PATHS if bad in line]
            for target in _LINK.findall(line):
                if re.match(r"(https?://|mailto:|#)", target):
                    continue
                resolved = (document.parent / target.split("#")[0]).resolve()
                if not resolved.is_relative_to(ROOT) or not resolved.exists():
                    problems.append(f"{document.name}:{number}: link to {target}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("line", "expected"), [
    ("the channel adapter `bot/channels/console.py`", ["bot/channels/console.py"]),
    ("moved: handlers/handoff.py, bot/sender/telegram.py.", ["handlers/handoff.py", "bot/sender/telegram.py"]),
    ("the source document (`shared/seed-prakerja.txt`)", ["shared/seed-prakerja.txt"]),
    ("see handlers/handoff/ and www.prakerja.go.id/en/tanya-jawab", ["handlers/handoff/"]),
    ("github.com/python-telegram-bot/python-telegram-bot/wiki", []),
])
def test_the_path_check_can_fail(line: str, expected: list[str]) -> None:
    assert paths_named(line) == expected
    assert all(where(path, ROOT / "README.md") is None for path in expected if "." in path)


def test_ci_runs_the_readmes_test_command_word_for_word() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    test_command = re.findall(r"```sh\n(.*?)\n```", section, re.S)[1].strip()
    assert test_command.endswith("-m pytest")
    ci = [line.strip() for line in _lines(ROOT / ".ci" / "run") if line.strip() and not line.startswith("#")]
    assert test_command in ci


def test_the_image_copies_and_runs_what_exists() -> None:
    """The Dockerfile's COPY sources exist, and each package the installed bot imports is copied."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = [words.split()[:-1] for words in re.findall(r"^COPY (.+)$", dockerfile, re.M)]
    sources = [source for group in copied for source in group]
    assert all((ROOT / source).exists() for source in sources), sources
    import tomllib

    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    assert {name.rstrip("*") for name in packages["include"]} <= set(sources)
