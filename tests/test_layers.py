"""The import rules that keep the layers honest (DESIGN.md "Layers", STYLE.md rule 14).

Every module under src/roost is parsed (never imported) and its imports, including those
inside functions and under TYPE_CHECKING, are checked:

- roost.proto.* is sans-IO: from Roost it imports only roost.proto, and never asyncio,
  socket, ssl, selectors or sqlite3;
- the protocols (roost.imap, roost.pop3, roost.smtp) reach the store only through
  roost.store.api, never a concrete engine or the mail semantics behind it;
- only the wiring (roost.app, roost.backends, roost.cli) names a concrete engine;
- the mail semantics (roost.store.mail) and the BlobStore protocol know engines only
  through roost.store.engines.api, so they are written once for every engine.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import roost

SRC = Path(roost.__file__).parent
IO_MODULES = {"asyncio", "socket", "ssl", "selectors", "sqlite3"}
PROTOCOLS = ("roost.imap", "roost.pop3", "roost.smtp", "roost.http")
CONCRETE_STORE = ("roost.store.engines", "roost.store.mail", "roost.store.blobs")
CONCRETE_ENGINES = ("roost.store.engines.sqlite", "roost.store.engines.postgresql")
WIRING = ("roost.app", "roost.backends", "roost.cli")


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def imports(module: str) -> Iterator[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return imports_in(package, path.read_text(encoding="utf-8"))


def imports_in(package: str, source: str) -> Iterator[str]:
    """Every module the source imports: `import a.b`; `from a import b` (a, and a.b since
    b may be a module); relative imports resolved against `package`."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_the_source_tree_is_found() -> None:
    assert "roost.proto.imap.receiver" in MODULES and "roost.imap.session" in MODULES


@pytest.mark.parametrize("module", [m for m in MODULES if within(m, "roost.proto")])
def test_proto_is_sans_io_and_self_contained(module: str) -> None:
    for name in imports(module):
        assert not within(name, "roost") or within(name, "roost.proto"), (module, name)
        assert name.partition(".")[0] not in IO_MODULES, (module, name)


@pytest.mark.parametrize("module", [m for m in MODULES if within(m, *PROTOCOLS)])
def test_protocols_use_only_the_store_interface(module: str) -> None:
    for name in imports(module):
        assert not within(name, *CONCRETE_STORE), (module, name)
        interface = name == "roost.store" or within(name, "roost.store.api")
        assert interface or not within(name, "roost.store"), (module, name)


@pytest.mark.parametrize("module", [m for m in MODULES if not within(m, "roost.store")])
def test_only_the_wiring_names_a_concrete_engine(module: str) -> None:
    if within(module, *WIRING):
        return
    for name in imports(module):
        assert not within(name, *CONCRETE_ENGINES), (module, name)


@pytest.mark.parametrize(
    "module", [m for m in MODULES if within(m, "roost.store.mail", "roost.store.blobs")]
)
def test_the_mail_semantics_are_written_once_for_every_engine(module: str) -> None:
    # roost.store.mail and the BlobStore protocol know engines only by roost.store.engines.api.
    for name in imports(module):
        assert not within(name, *CONCRETE_ENGINES), (module, name)


def test_the_checker_sees_every_form_of_import() -> None:
    source = (
        "import asyncio\n"
        "from roost.store.engines import sqlite\n"
        "from ..session import Session\n"
        "def f():\n"
        "    from . import fetch\n"
    )
    found = set(imports_in("roost.imap.commands", source))
    assert {"asyncio", "roost.store.engines.sqlite", "roost.imap.session"} <= found
    assert "roost.imap.commands.fetch" in found
