"""The transcripts of the staff guides (docs/panduan-*.md): read from the guides, replayed through the bot, compared.

A guide marks each transcript with an HTML comment (invisible on GitHub) right before a ```text block:

- `<!-- demo: INPUT | INPUT -->`: a piece of the terminal demo (`python -m bot chat --demo`). The block holds what
  the demo printed for the lines typed after its prompts (`admin> /gelombang`, `petugas topik umum> ...`); the
  comment's inputs are typed first, unseen (linking a demo applicant, becoming the admin). All the demo blocks of a
  guide are one session, in order, so tickets and broadcasts keep their numbers from block to block.
- `<!-- cli -->`: `$ python -m bot ...` commands and what they printed (log lines left out), run in a folder of
  their own with a fresh database.
- `<!-- berkas: NAME -->` before a fenced block: the file NAME with that content, in the folder where the demo and
  the commands run (`/berkas NAME`, `python -m bot import NAME`).

A line `[…] words` in a block stands for lines left out; each stretch between them must appear as it is, in order.
What legitimately varies between runs (dates, times, waiting times, "outside service hours") is normalised on both
sides; a date typed into an input that has passed is replaced by tomorrow's.

`python -m tests.docs.transcripts` runs the guides and writes what the bot printed back into their blocks (the main
menu's buttons shortened to one `[…]` line): that is how the transcripts are made, never by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import io
import logging
import os
import re
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
GUIDES = (REPOSITORY / "docs" / "panduan-admin.md", REPOSITORY / "docs" / "panduan-petugas.md")
CLI_PEPPER = "panduan-contoh-pepper-0000"  # the guides' example database: generated data only

ELIDED = "[…]"
MAIN_MENU = frozenset({"Hubungkan akun", "Hasil seleksi", "Kartu & saldo", "Video perkenalan", "Panduan pelatihan",
                       "Bandingkan platform", "Cari pelatihan", "Cek syarat peserta", "Cek link / penipuan",
                       "Pengaturan", "Hubungi petugas"})
MENU_SHORTENED = f"  {ELIDED} tombol menu utama"
MIN_MENU_RUN = 6  # a run of this many main-menu buttons is the main menu

_DIRECTIVE = re.compile(r"^<!--\s*(demo|cli|berkas)\s*(?::\s*(.*?))?\s*-->\s*$")
_FENCE = re.compile(r"^```")
PROMPT = re.compile(r"^(?:pemohon|admin|petugas[^>]*)> (.*)$")
_BUTTON = re.compile(r"^\s+\[\d+\] (.*)$")
_LOG_LINE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} [A-Z]+ ")
_TYPED_DATE = re.compile(r"\b(\d{1,2})-(\d{1,2})-(\d{4})\b")
_MONTHS = ("Januari|Februari|Maret|April|Mei|Juni|Juli|Agustus|September|Oktober|November|Desember|"
           "January|February|March|May|June|July|August|October|December")
_DAYS = "Senin|Selasa|Rabu|Kamis|Jumat|Sabtu|Minggu"
_VARYING = (
    (re.compile(rf"(?:(?:{_DAYS}), )?\d{{1,2}} (?:{_MONTHS}) \d{{4}}"), "<tanggal>"),
    (re.compile(r"\b\d{1,2}\.\d{2} WIB"), "<jam> WIB"),
    (re.compile(r"\b\d{1,2}-\d{1,2}-\d{4}\b"), "<tanggal>"),
    (re.compile(r"Saat ini di luar jam layanan\. "), ""),
    (re.compile(r"menunggu (?:kurang dari 1 menit|\d+ (?:hari|jam|menit)(?: \d+ (?:jam|menit))?)"), "menunggu <lama>"),
    (re.compile(r"Kecepatan [\d,.]+ pesan/detik · perkiraan selesai \d+ menit lagi"), "Kecepatan <laju>"),
)


def normalise(line: str) -> str:
    for pattern, replacement in _VARYING:
        line = pattern.sub(replacement, line)
    return line.rstrip()


def typed(line: str, today: datetime | None = None) -> str:
    """An input as it is replayed: a typed date that has passed becomes tomorrow (a guide's example stays valid)."""
    today = today or datetime.now(UTC)

    def shift(match: re.Match[str]) -> str:
        day, month, year = (int(g) for g in match.groups())
        try:
            when = datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            return match.group(0)
        if when.date() > today.date():
            return match.group(0)
        tomorrow = today + timedelta(days=1)
        return f"{tomorrow.day:02d}-{tomorrow.month:02d}-{tomorrow.year}"

    return _TYPED_DATE.sub(shift, line)


# --- reading a guide -------------------------------------------------------------------------------------------
@dataclass
class Block:
    kind: str  # "demo" | "cli" | "berkas"
    argument: str  # demo: the hidden inputs; berkas: the file name
    first: int  # index of the block's first content line in the guide's lines
    lines: list[str]  # the content, between the fences

    @property
    def hidden(self) -> list[str]:
        return [part.strip() for part in self.argument.split("|") if part.strip()] if self.kind == "demo" else []

    @property
    def inputs(self) -> list[str]:
        if self.kind == "demo":
            return [m.group(1) for line in self.lines if (m := PROMPT.match(line))]
        return [line[2:] for line in self.lines if line.startswith("$ ")]

    def chunks(self) -> list[list[str]]:
        """The stretches of lines between `[…]` lines, normalised."""
        chunks: list[list[str]] = [[]]
        for line in self.lines:
            if line.strip().startswith(ELIDED):
                chunks.append([])
            else:
                chunks[-1].append(normalise(line))
        return [chunk for chunk in chunks if any(chunk)]


@dataclass
class Guide:
    path: Path
    text: list[str]
    blocks: list[Block] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> Guide:
        text = path.read_text(encoding="utf-8").splitlines()
        guide = cls(path, text)
        pending: tuple[str, str] | None = None
        index = 0
        while index < len(text):
            line = text[index]
            directive = _DIRECTIVE.match(line)
            if directive:
                pending = (directive.group(1), directive.group(2) or "")
            elif _FENCE.match(line) and pending is not None:
                end = next(i for i in range(index + 1, len(text)) if _FENCE.match(text[i]))
                guide.blocks.append(Block(pending[0], pending[1], index + 1, text[index + 1:end]))
                pending, index = None, end
            elif line.strip():
                pending = None  # a directive names the block right after it
            index += 1
        return guide

    def of(self, kind: str) -> list[Block]:
        return [b for b in self.blocks if b.kind == kind]

    def write_files(self, folder: Path) -> None:
        for block in self.of("berkas"):
            (folder / block.argument).write_text("\n".join(block.lines) + "\n", encoding="utf-8")


# --- running the demo and the commands -------------------------------------------------------------------------
@contextlib.contextmanager
def inside(folder: Path, **environment: str) -> Iterator[None]:
    """Run in `folder` with these settings (and no others of this process), as an operator would from a shell."""
    from bot.settings import Settings

    names = {name.upper() for name in Settings.model_fields} | {"DATABASE_PATH"}
    saved_env = {name: os.environ.pop(name) for name in list(os.environ) if name in names}
    saved_dir = Path.cwd()
    os.environ.update(environment)
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(saved_dir)
        for name in environment:
            os.environ.pop(name, None)
        os.environ.update(saved_env)


def run_demo(inputs: list[str], folder: Path) -> list[str]:
    """The demo's whole output for these typed lines (piped, as `printf ... | python -m bot chat --demo`)."""
    from bot.demo_chat import run_demo as demo
    from bot.settings import load_settings

    out = io.StringIO()
    with inside(folder):
        asyncio.run(demo(load_settings(), io.StringIO("".join(line + "\n" for line in inputs)), out))
    return out.getvalue().splitlines()


def run_command(command: str, folder: Path) -> list[str]:
    """`python -m bot ...` in `folder` on the guide's example database: what it printed, without log lines."""
    from bot.__main__ import main

    words = shlex.split(command)
    if words[:3] != ["python", "-m", "bot"]:
        raise ValueError(f"not a `python -m bot` command: {command}")
    out = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        with inside(folder, DATABASE_PATH=str(folder / "prakerja.sqlite3"), NIK_PEPPER=CLI_PEPPER,
                    LOG_LEVEL="WARNING"), contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            main(words[3:])
    finally:
        root.handlers[:], root.level = handlers, level
    return [line for line in out.getvalue().splitlines() if not _LOG_LINE.match(line)]


@dataclass
class Replay:
    """What the bot printed for each transcript of a guide, in the block's order."""

    guide: Guide
    printed: dict[int, list[str]]  # block index -> the lines printed for its shown inputs (prompts included)

    def problems(self) -> list[str]:
        """Each block whose lines do not appear in what the bot printed, with a diff."""
        found = []
        for index, block in enumerate(self.guide.blocks):
            if block.kind == "berkas":
                continue
            actual = [normalise(line) for line in self.printed[index]]
            at = 0
            for chunk in block.chunks():
                where = _find(actual, chunk, at)
                if where is None:
                    diff = "\n".join(difflib.unified_diff(chunk, actual, "panduan", "bot", lineterm=""))
                    found.append(f"{self.guide.path.name}, line {block.first + 1}: the bot no longer prints this"
                                 f" ({block.kind}):\n{diff}")
                    break
                at = where + len(chunk)
        return found


def _find(lines: list[str], chunk: list[str], start: int) -> int | None:
    for at in range(start, len(lines) - len(chunk) + 1):
        if lines[at:at + len(chunk)] == chunk:
            return at
    return None


def replay(guide: Guide, folder: Path) -> Replay:
    guide.write_files(folder)
    printed: dict[int, list[str]] = {}
    # The demo: one session for the whole guide; each block's shown inputs located by their echoed prompt lines.
    session: list[tuple[int, str, bool]] = []  # (block, input, shown)
    for index, block in enumerate(guide.blocks):
        if block.kind == "demo":
            session += [(index, typed(line), False) for line in block.hidden]
            session += [(index, typed(line), True) for line in block.inputs]
    if session:
        output = run_demo([line for _, line, _ in session], folder)
        starts = _echoes(output, [line for _, line, _ in session])
        for position, (index, _, shown) in enumerate(session):
            if not shown:
                continue
            end = starts[position + 1] if position + 1 < len(starts) else len(output)
            printed.setdefault(index, []).extend(output[starts[position]:end])
    for index, block in enumerate(guide.blocks):
        if block.kind == "cli":
            lines: list[str] = []
            for command in block.inputs:
                command = typed(command)
                lines += [f"$ {command}", *run_command(command, folder)]
            printed[index] = lines
        elif block.kind == "demo":
            printed.setdefault(index, [])
    return Replay(guide, printed)


def _echoes(output: list[str], inputs: list[str]) -> list[int]:
    """Where the demo echoed each typed line (`admin> /gelombang`), in order."""
    starts, at = [], 0
    for line in inputs:
        while at < len(output):
            match = PROMPT.match(output[at])
            if match and match.group(1) == line.strip():
                break
            at += 1
        else:
            raise AssertionError(f"the demo never read the line {line!r}")
        starts.append(at)
        at += 1
    return starts


# --- writing the transcripts back ------------------------------------------------------------------------------
def shorten_menus(lines: list[str]) -> list[str]:
    """The main menu's buttons (repeated after most answers) as one `[…]` line."""
    result: list[str] = []
    run: list[str] = []
    for line in [*lines, ""]:
        button = _BUTTON.match(line)
        if button and button.group(1) in MAIN_MENU:
            run.append(line)
            continue
        result += [MENU_SHORTENED] if len(run) >= MIN_MENU_RUN else run
        run = []
        result.append(line)
    result.pop()
    while result and not result[-1].strip():
        result.pop()  # the blank line before the next prompt
    return result


def rewrite(guide: Guide, result: Replay) -> str:
    text = guide.text[:]
    for index in reversed(range(len(guide.blocks))):
        block = guide.blocks[index]
        if block.kind == "berkas":
            continue
        text[block.first:block.first + len(block.lines)] = shorten_menus(result.printed[index])
    return "\n".join(text) + "\n"


def main() -> int:
    import tempfile

    for path in GUIDES:
        guide = Guide.read(path)
        with tempfile.TemporaryDirectory(prefix="panduan-") as folder:
            result = replay(guide, Path(folder))
        path.write_text(rewrite(guide, result), encoding="utf-8")
        print(f"{path.relative_to(REPOSITORY)}: {len(guide.of('demo'))} demo, {len(guide.of('cli'))} cli")
    return 0


if __name__ == "__main__":
    sys.exit(main())
