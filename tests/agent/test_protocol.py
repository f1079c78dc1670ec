"""The agent's JSON-RPC framing, errors, deadlines and exit rules."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from agent import server
from agent.errors import AgentError
from agent.registry import METHODS
from tests.agent.netns_fixtures import start_agent
from tests.agent_client import (
    PYROUTE2_PARENT,
    REPO,
    AgentCallError,
    AgentProcess,
    source_agent_argv,
)

pytestmark = pytest.mark.timeout(60)


def request(method: str, request_id: Any = 1, **members: Any) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, **members}).encode()


@pytest.fixture
def host_agent() -> Any:
    process = AgentProcess(source_agent_argv())
    try:
        yield process
    finally:
        process.close()


def test_hello_reports_versions(host_agent: AgentProcess) -> None:
    hello = host_agent.call("hello")

    assert hello["agent_version"] == "0.1.0"
    assert hello["protocol_version"] == 1
    assert hello["python"].count(".") == 2
    assert hello["kernel"]["release"]
    assert isinstance(hello["is_root"], bool)
    assert set(hello["backends"]) == {
        "netlink",
        "wireguard_kernel",
        "wireguard_userspace",
        "systemd",
    }
    assert {"hello", "interfaces.list", "interfaces.create", "facts"} <= set(hello["methods"])
    assert hello["import_errors"] == []


def test_bad_json_is_parse_error(host_agent: AgentProcess) -> None:
    response = host_agent.send_raw(b"{not json")
    assert response["error"]["code"] == -32700
    assert response["id"] is None
    assert host_agent.call("hello")["protocol_version"] == 1


@pytest.mark.parametrize(
    "line",
    [
        b"[]",
        b'"hello"',
        b'{"id": 1, "method": "hello"}',
        b'{"jsonrpc": "2.0", "id": 1, "method": 5}',
        b'{"jsonrpc": "2.0", "id": [1], "method": "hello"}',
        b'{"jsonrpc": "2.0", "id": 1, "method": "hello", "params": 3}',
    ],
)
def test_malformed_request_is_invalid(host_agent: AgentProcess, line: bytes) -> None:
    response = host_agent.send_raw(line)
    assert response["error"]["code"] == -32600


def test_unknown_method(host_agent: AgentProcess) -> None:
    with pytest.raises(AgentCallError) as caught:
        host_agent.call("interfaces.teleport")
    assert caught.value.code == -32601
    assert "interfaces.teleport" in caught.value.message


def test_array_params_are_invalid(host_agent: AgentProcess) -> None:
    response = host_agent.send_raw(request("hello", params=[1]))
    assert response["error"]["code"] == -32602
    assert response["error"]["data"]["kind"] == "invalid_params"


def test_notification_gets_no_response(host_agent: AgentProcess) -> None:
    notification = json.dumps({"jsonrpc": "2.0", "method": "hello"}).encode()
    unknown = json.dumps({"jsonrpc": "2.0", "method": "nope"}).encode()
    assert host_agent.proc.stdin is not None
    host_agent.proc.stdin.write(notification + b"\n" + unknown + b"\n")

    # The next line on stdout must be the response to this request, not to the notifications.
    response = host_agent.send_raw(request("hello", request_id="after"))
    assert response["id"] == "after"
    assert "result" in response


def test_deadline_overrun_is_timed_out(host_agent: AgentProcess) -> None:
    # A netlink dump takes far longer than a microsecond, but on a busy machine the worker
    # thread can still finish one before the dispatcher starts to wait. So the request is
    # sent a few times, and a timed_out response is expected among them.
    responses = [host_agent.send_raw(request("interfaces.list", deadline=0.000001))
                 for _ in range(20)]
    timed_out = [response for response in responses if "error" in response]

    assert timed_out
    assert all(response["error"]["data"]["kind"] == "timed_out" for response in timed_out)
    assert all(response["error"]["code"] == -32006 for response in timed_out)
    assert host_agent.call("hello")["protocol_version"] == 1


@pytest.mark.parametrize("deadline", [0, -1, "5", True, 10**9])
def test_invalid_deadline(host_agent: AgentProcess, deadline: Any) -> None:
    response = host_agent.send_raw(request("hello", deadline=deadline))
    assert response["error"]["data"]["kind"] == "invalid_params"
    assert response["error"]["data"]["field"] == "deadline"


def test_exit_on_eof() -> None:
    process = subprocess.run(
        source_agent_argv(),
        input=request("hello") + b"\n",
        capture_output=True,
        timeout=30,
        check=False,
    )

    assert process.returncode == 0
    lines = process.stdout.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["id"] == 1


def test_exit_after_idle_timeout() -> None:
    process = subprocess.Popen(
        source_agent_argv(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", "MUDMAP_AGENT_IDLE_TIMEOUT": "0.5"},
    )
    try:
        # stdin stays open: only the idle timeout can end the process.
        assert process.wait(timeout=30) == 0
        assert b"no request for 0.5 s" in process.stderr.read()
    finally:
        process.kill()
        process.wait()


def test_idle_timeout_flag() -> None:
    argv = [*source_agent_argv()]
    argv[-1] = argv[-1].replace("main()", "main(['--idle-timeout', '0.3'])")
    process = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert process.wait(timeout=30) == 0
        assert b"no request for 0.3 s" in process.stderr.read()
    finally:
        process.kill()
        process.wait()


def test_stdout_carries_only_responses() -> None:
    # A handler that prints must not corrupt the channel: print() goes to stderr.
    code = (
        "import sys; sys.path[0:0] = {paths!r}\n"
        "from agent.registry import method\n"
        "@method('noisy')\n"
        "def noisy(params):\n"
        "    print('library chatter'); import os; os.write(1, b'raw fd write\\n'); return 7\n"
        "from agent.server import main; sys.exit(main())\n"
    )
    paths = [str(REPO), str(PYROUTE2_PARENT)]
    process = subprocess.run(
        ["/usr/bin/python3", "-I", "-c", code.format(paths=paths)],
        input=request("noisy") + b"\n",
        capture_output=True,
        timeout=30,
        check=False,
    )

    assert process.returncode == 0
    assert [json.loads(line) for line in process.stdout.splitlines()] == [
        {"jsonrpc": "2.0", "id": 1, "result": 7}
    ]
    assert b"library chatter" in process.stderr
    assert b"raw fd write" in process.stderr


@pytest.mark.lab
def test_agent_in_netns_answers(netns: str) -> None:
    with start_agent(netns) as process:
        names = [i["name"] for i in process.call("interfaces.list")["interfaces"]]
    assert names == ["lo"]


class TestDispatchInProcess:
    """Dispatch rules checked without a subprocess, with handlers registered for the test."""

    @pytest.fixture(autouse=True)
    def handlers(self) -> Any:
        def crash(params: dict[str, Any]) -> Any:
            raise ZeroDivisionError("division by zero")

        def refuse(params: dict[str, Any]) -> Any:
            raise AgentError("conflict", "busy elsewhere", name="x")

        def slow(params: dict[str, Any]) -> Any:
            time.sleep(0.5)
            return "late"

        added = {"test.crash": crash, "test.refuse": refuse, "test.slow": slow}
        METHODS.update(added)
        yield
        for name in added:
            METHODS.pop(name, None)

    def run(self, line: bytes) -> dict[str, Any]:
        parsed, error = server.parse_request(line)
        if error is not None:
            return error
        assert parsed is not None
        return server.dispatch(parsed)

    def test_unexpected_exception_is_failed(self) -> None:
        response = self.run(request("test.crash"))
        assert response["error"]["data"]["kind"] == "failed"
        assert "ZeroDivisionError" in response["error"]["message"]

    def test_agent_error_keeps_kind_and_data(self) -> None:
        response = self.run(request("test.refuse"))
        assert response["error"] == {
            "code": -32005,
            "message": "busy elsewhere",
            "data": {"kind": "conflict", "name": "x"},
        }

    def test_overrun_then_next_request(self) -> None:
        response = self.run(request("test.slow", deadline=0.05))
        assert response["error"]["data"]["kind"] == "timed_out"
        assert self.run(request("test.slow", deadline=5))["result"] == "late"

    def test_broken_topic_module_is_reported(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (tmp_path / "h2a_broken_topic.py").write_text("raise RuntimeError('half written')\n")
        monkeypatch.syspath_prepend(str(tmp_path))
        monkeypatch.setattr(server, "IMPORT_ERRORS", [])

        server.load_topic_modules(("h2a_broken_topic", "h2a_absent_topic"))

        assert server.IMPORT_ERRORS == [
            {"module": "h2a_broken_topic", "error": "RuntimeError: half written"}
        ]


def test_exit_when_output_closed() -> None:
    process = subprocess.Popen(
        source_agent_argv(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stdin is not None
    process.stdout.close()
    process.stdin.write(request("hello") + b"\n")
    process.stdin.flush()

    assert process.wait(timeout=30) == 0
    stderr = process.stderr.read() if process.stderr else b""
    assert b"output closed" in stderr
    assert b"Traceback" not in stderr
    process.stdin.close()
