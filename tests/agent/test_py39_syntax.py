"""Every agent module must parse as Python 3.9, the oldest python3 the agent supports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

AGENT_DIR = Path(__file__).resolve().parents[2] / "agent"
SOURCES = sorted(AGENT_DIR.rglob("*.py"))


def test_agent_sources_found() -> None:
    names = {path.relative_to(AGENT_DIR).as_posix() for path in SOURCES}
    assert {"bootstrap.py", "system.py", "services.py", "journal.py"} <= names
    assert "wireguard/keys.py" in names


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.relative_to(AGENT_DIR).as_posix())
def test_parses_as_python_39(path: Path) -> None:
    source = path.read_text()
    ast.parse(source, filename=str(path), feature_version=(3, 9))


def has_annotations(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            if node.returns is not None or any(arg.annotation for arg in arguments):
                return True
    return False


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.relative_to(AGENT_DIR).as_posix())
def test_postpones_annotations(path: Path) -> None:
    # Annotations such as dict[str, int] or X | None evaluate only on 3.10 unless postponed.
    tree = ast.parse(path.read_text())
    future = any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(alias.name == "annotations" for alias in node.names)
        for node in tree.body
    )
    assert future or not has_annotations(tree)
