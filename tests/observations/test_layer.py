"""The observation layer stands on wire, model and knowledge only (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import provscan.observations

PACKAGE = Path(provscan.observations.__file__).parent
#: What the layer may import from provscan: the codecs, the domain values, reviewed data,
#: the base error tree (which wire raises), and itself.
ALLOWED = ("provscan.wire", "provscan.model", "provscan.knowledge", "provscan.errors")
REFUSED_THIRD_PARTY = ("rich", "typer", "sqlalchemy", "asyncio", "socket")


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_every_protocol_module_imports_only_the_layers_below() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) > 10
    for path in modules:
        for name in _imports(path):
            if name.startswith("provscan"):
                allowed = name.startswith((*ALLOWED, "provscan.observations"))
                assert allowed, f"{path.name} imports {name}"
            else:
                assert name.split(".")[0] not in REFUSED_THIRD_PARTY, f"{path.name} imports {name}"
