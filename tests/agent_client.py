"""A small synchronous JSON-RPC client that drives the agent in tests.

It speaks the same line protocol as the controller: one JSON object per line on the agent's
stdin and stdout. The agent runs from the source tree with the host's pyroute2 on its path,
so tests exercise the code as written, not a stale build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyroute2

REPO = Path(__file__).resolve().parent.parent
PYROUTE2_PARENT = Path(pyroute2.__file__).resolve().parent.parent

# Runs agent.server.main() with only the repository and pyroute2 importable. -I keeps the
# device's environment and user site-packages out, as on a real device.
BOOTSTRAP = (
    "import sys; sys.path[0:0] = [{repo!r}, {pyroute2!r}]; "
    "from agent.server import main; sys.exit(main())"
)


def source_agent_argv(python: str = "/usr/bin/python3") -> list[str]:
    code = BOOTSTRAP.format(repo=str(REPO), pyroute2=str(PYROUTE2_PARENT))
    return [python, "-I", "-c", code]


class AgentCallError(Exception):
    """A JSON-RPC error object returned by the agent."""

    def __init__(self, error: dict[str, Any]) -> None:
        self.code: int = error["code"]
        self.message: str = error["message"]
        self.data: dict[str, Any] = error.get("data") or {}
        self.kind: str | None = self.data.get("kind")
        super().__init__(f"{self.kind}: {self.message}")


class AgentProcess:
    """One running agent; ``call`` sends a request and waits for its response."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env if env is not None else {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
        self._next_id = 0

    def send_raw(self, line: bytes) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line if line.endswith(b"\n") else line + b"\n")
        self.proc.stdin.flush()
        response = self.proc.stdout.readline()
        if not response:
            stderr = self.proc.stderr.read().decode() if self.proc.stderr else ""
            raise EOFError(f"agent closed its output; stderr:\n{stderr}")
        return json.loads(response)

    def call(self, method: str, **params: Any) -> Any:
        self._next_id += 1
        request = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
        response = self.send_raw(json.dumps(request).encode())
        assert response.get("id") == self._next_id, response
        if "error" in response:
            raise AgentCallError(response["error"])
        return response["result"]

    def close(self) -> int:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            return self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()

    def __enter__(self) -> AgentProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def in_netns(netns: str, argv: list[str]) -> list[str]:
    """Prefix argv so it runs inside the named network namespace (``ip netns exec``)."""
    return ["ip", "netns", "exec", netns, *argv]


if __name__ == "__main__":
    print(" ".join(source_agent_argv(sys.executable)))
