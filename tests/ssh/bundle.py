"""The agent zipapp for SSH tests: the project's build when it exists, else a plain zip."""

from __future__ import annotations

import functools
import io
import zipfile
from pathlib import Path

import pyroute2

from mudmap_tui.ssh.agent_channel import AgentBundle

REPO = Path(__file__).resolve().parents[2]
MAIN = "import sys\nfrom agent.server import main\nsys.exit(main())\n"


def _add_tree(archive: zipfile.ZipFile, root: Path, package: str) -> None:
    for path in sorted((root / package).rglob("*.py")):
        archive.write(path, str(path.relative_to(root)))


@functools.cache
def test_bundle() -> AgentBundle:
    """Return a zipapp of agent/ and pyroute2 with a fixed date, so its hash is stable."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("__main__.py", (2020, 1, 1, 0, 0, 0)), MAIN)
        _add_tree(archive, REPO, "agent")
        _add_tree(archive, Path(pyroute2.__file__).resolve().parent.parent, "pyroute2")
    return AgentBundle.from_bytes(buffer.getvalue())
