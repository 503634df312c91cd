"""The import graph of our own packages, read from the source (the AST), never by importing anything.

`imports(root)` lists every import of every module under the packages in `PACKAGES`: who imports what, on which
line, and whether it runs when the module is imported (module level, class bodies, not inside a function and not
under `if TYPE_CHECKING:`). tests/architecture/test_layers.py holds the rules over it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("bot", "handlers", "storage", "locales")


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name: bot.channels.telegram.application
    target: str  # dotted name as written, resolved when relative: telegram.ext, bot.sender.transport
    line: int
    at_import: bool  # runs when the importer is imported (not in a function, not under TYPE_CHECKING)

    def where(self, root: Path) -> str:
        return f"{module_path(root, self.importer)}:{self.line}: {self.importer} imports {self.target}"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def module_path(root: Path, name: str) -> str:
    base = root.joinpath(*name.split("."))
    path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    return str(path.relative_to(root))


def modules(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            found[module_name(root, path)] = path
    return found


def imports(root: Path, packages: Iterable[str] = PACKAGES) -> list[Import]:
    found: list[Import] = []
    for name, path in modules(root, packages).items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found.extend(_imports(name, path.name == "__init__.py", tree.body, at_import=True))
    return found


def _imports(module: str, is_package: bool, body: list[ast.stmt], *, at_import: bool) -> Iterator[Import]:
    for node in body:
        match node:
            case ast.Import(names=names):
                for alias in names:
                    yield Import(module, alias.name, node.lineno, at_import)
            case ast.ImportFrom(module=base, names=names, level=level):
                target = _absolute(module, is_package, base, level)
                for alias in names:  # `from a import b`: b may be a module (a.b) or a name in a
                    yield Import(module, f"{target}.{alias.name}" if alias.name != "*" else target, node.lineno,
                                 at_import)
            case ast.FunctionDef() | ast.AsyncFunctionDef():
                yield from _imports(module, is_package, node.body, at_import=False)
            case ast.If(test=test) if _is_type_checking(test):
                yield from _imports(module, is_package, node.body, at_import=False)
                yield from _imports(module, is_package, node.orelse, at_import=at_import)
            case _:
                for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                    inner = getattr(node, field, None)
                    if isinstance(inner, list):
                        yield from _imports(module, is_package, [n for n in inner if isinstance(n, ast.AST)],
                                            at_import=at_import)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _absolute(module: str, is_package: bool, base: str | None, level: int) -> str:
    if level == 0:
        return base or ""
    parts = module.split(".")
    package = parts if is_package else parts[:-1]
    anchor = package[: len(package) - (level - 1)]
    return ".".join([*anchor, base] if base else anchor)


def resolve(target: str, known: set[str]) -> str | None:
    """The module of ours `target` names (`bot.sender.Sender` -> `bot.sender`), or None for a library's."""
    parts = target.split(".")
    while parts:
        name = ".".join(parts)
        if name in known:
            return name
        parts.pop()
    return None


def loaded_by(target: str, importer: str, known: set[str]) -> list[str]:
    """The modules of ours that importing `target` runs: the module and the packages above it, except the
    importer's own packages (already being imported when it runs, as Python does for a submodule)."""
    module = resolve(target, known)
    if module is None:
        return []
    parts = module.split(".")
    chain = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return [m for m in chain if m in known and not importer.startswith(m + ".")]


def graph(found: Iterable[Import], known: set[str]) -> dict[str, dict[str, Import]]:
    """module -> {module it runs on import -> the import statement}, for the imports that run at import."""
    edges: dict[str, dict[str, Import]] = {name: {} for name in known}
    for imp in found:
        if not imp.at_import:
            continue
        for target in loaded_by(imp.target, imp.importer, known):
            if target != imp.importer:
                edges[imp.importer].setdefault(target, imp)
    return edges


def cycles(edges: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Every strongly connected group of more than one module, each as one cycle through it (first to first)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0

    for start in sorted(edges):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(_cycle_in(set(group), edges))
    return groups


def _cycle_in(group: set[str], edges: dict[str, dict[str, Import]]) -> list[str]:
    """One cycle inside a strongly connected group: a shortest path from its first module back to itself."""
    first = min(group)
    paths = {first: [first]}
    queue = [first]
    while queue:
        node = queue.pop(0)
        for child in sorted(edges[node]):
            if child == first:
                return [*paths[node], first]
            if child in group and child not in paths:
                paths[child] = [*paths[node], child]
                queue.append(child)
    raise AssertionError("a strongly connected group without a cycle")
