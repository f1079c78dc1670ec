"""Messages of guarded changes: plan files, agent errors and the output of run_guarded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mudmap_tui.changes import Outcome, Plan, change_failure
from mudmap_tui.cli import changes as cli_changes
from mudmap_tui.cli import wg
from mudmap_tui.cli.main import build_parser, main
from mudmap_tui.device_actions import agent_failure
from mudmap_tui.errors import InvalidInput
from mudmap_tui.ssh.errors import (
    AgentCallError,
    AgentExists,
    AgentInvalidParams,
    AgentNotFound,
    AgentUnsupported,
)

MALFORMED_PLANS = [
    ("[1, 2]", 'ops[0] must be an object with "method" and "params"'),
    ('{"ops": [null]}', 'ops[0] must be an object with "method" and "params"'),
    ('{"ops": [1]}', 'ops[0] must be an object with "method" and "params"'),
    ('[{"method": "interfaces.update", "params": {"name": "eth0"}}, 3]',
     'ops[1] must be an object with "method" and "params"'),
    ('{"ops": [{"method": "interfaces.create"}]}', 'ops[0] has no "params" object'),
    ('{"ops": [{"params": {"name": "eth0"}}]}', 'ops[0] has no "method" string'),
]


def invalid_params(message: str, field: str, method: str = "changes.plan") -> AgentCallError:
    return AgentInvalidParams("lab1", method, message, -32602,
                              {"kind": "invalid_params", "field": field})


@pytest.mark.parametrize(("text", "rule"), MALFORMED_PLANS)
def test_plan_file_malformed_op_exits_2(text: str, rule: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(text)
    status = main(["--db", str(tmp_path / "inventory.db"), "changes", "apply", "lab1",
                   "--file", str(plan), "--dry-run"])
    stderr = capsys.readouterr().err
    assert status == 2
    assert f"invalid --file '{plan}': {rule}" in stderr
    assert "Traceback" not in stderr
    assert len(stderr.splitlines()) == 1


def test_change_failure_accepts_non_object_ops() -> None:
    error = invalid_params('invalid ops[0] 1: must be an object with "method" and "params"',
                           "ops[0]")
    for ops in ([1, 2], [None], [{"method": "wg.peer.add", "params": {}}, 3]):
        failure = change_failure("lab1", error, ops)
        assert failure.exit_status == 2
        assert str(failure).startswith("lab1: invalid ops[0] 1")


def test_change_failure_names_options() -> None:
    ops = [{"method": "interfaces.create", "params": {"kind": "bridge", "name": "a" * 16}}]
    error = invalid_params("invalid ops[0].params.name 'aaaaaaaaaaaaaaaa': must be 1 to 15 "
                           "bytes long, not 16", "ops[0].params.name")
    failure = str(change_failure("lab1", error, ops, from_options=True))
    assert failure.startswith("lab1: invalid name 'aaaaaaaaaaaaaaaa': must be 1 to 15")
    assert "params" not in failure


def test_change_failure_plan_file_keeps_fields() -> None:
    ops = [{"method": "interfaces.update", "params": {"name": "eth0", "new_name": "a" * 16}}]
    error = invalid_params("ops[0] interfaces.update: invalid new_name 'aaaaaaaaaaaaaaaa': "
                           "must be 1 to 15 bytes long, not 16", "new_name", "changes.apply")
    failure = str(change_failure("lab1", error, ops))
    assert failure.startswith("lab1: invalid new_name 'aaaaaaaaaaaaaaaa'")


@pytest.mark.parametrize(("message", "field", "expected"), [
    ("ops[0] interfaces.update: invalid new_name 'x/y': must not contain '/'", "new_name",
     "invalid --rename 'x/y'"),
    ("ops[0] wg.peer.add: invalid allowed_ips '10.9.0.3/33': must be an IPv4 or IPv6 CIDR",
     "allowed_ips", "invalid --allowed-ips '10.9.0.3/33'"),
    ("ops[0] wg.peer.add: invalid persistent_keepalive 70000: must be from 0 to 65535",
     "persistent_keepalive", "invalid --keepalive 70000"),
])
def test_change_failure_renames_fields(message: str, field: str, expected: str) -> None:
    method = message.split()[1].rstrip(":")
    ops = [{"method": method, "params": {"name": "wg0"}}]
    failure = str(change_failure("lab1", invalid_params(message, field, "changes.apply"), ops,
                                 from_options=True))
    assert failure.startswith(f"lab1: {expected}")
    assert field not in failure


def test_listen_port_on_bridge_names_kind() -> None:
    ops = [{"method": "interfaces.create",
            "params": {"kind": "bridge", "name": "br3", "listen_port": 70000}}]
    error = invalid_params("unknown parameter 'listen_port': this method accepts kind, mac, "
                           "master, mtu, name, state, stp", "listen_port", "changes.apply")
    failure = str(change_failure("lab1", error, ops, from_options=True))
    assert failure.startswith("lab1: --listen-port applies only to --kind wireguard")
    assert "unknown parameter" not in failure


def test_existing_peer_names_wg_peer_set() -> None:
    ops = [{"method": "wg.peer.add", "params": {"name": "wg0", "public_key": "PUB="}}]
    error = AgentExists("lab1", "changes.apply", "ops[0] wg.peer.add: peer PUB= already "
                        "exists on wg0; use wg.peer.update", -32002, {"kind": "exists"})
    failure = str(change_failure("lab1", error, ops, from_options=True))
    assert failure == ("lab1: peer PUB= already exists on wg0; use "
                       "`mudmap wg peer set lab1 wg0 KEY`")


def test_missing_address_names_iface_show() -> None:
    ops = [{"method": "addresses.remove",
            "params": {"name": "br-lan", "address": "10.9.9.9/24"}}]
    error = AgentNotFound("lab1", "changes.apply", "ops[0] addresses.remove: br-lan has no "
                          "address 10.9.9.9/24", -32001, {"kind": "not_found"})
    failure = str(change_failure("lab1", error, ops, from_options=True))
    assert "check the addresses with `mudmap iface show lab1 br-lan`" in failure
    assert "check the name" not in failure


def test_agent_failure_drops_method() -> None:
    cases = [
        AgentNotFound("lab1", "interfaces.get", "interface nosuch not found", -32001,
                      {"kind": "not_found"}),
        AgentNotFound("lab1", "wg.get", "WireGuard interface nosuch not found", -32001,
                      {"kind": "not_found"}),
        AgentInvalidParams("lab1", "journal.tail", "invalid lines 0: must be from 1 to 10000",
                           -32602, {"kind": "invalid_params", "field": "lines"}),
        AgentNotFound("lab1", "changes.drift", "interface x is neither running nor persisted",
                      -32001, {"kind": "not_found"}),
    ]
    for error in cases:
        message = str(agent_failure(error, {"name": "nosuch"}))
        assert f"{error.operation} failed" not in message
        # The option the user typed stands for the agent's parameter name.
        expected = error.message.replace("invalid lines", "invalid -n/--lines")
        assert message.startswith(f"lab1: {expected}")


def test_wg_show_missing_iface_names_iface_list() -> None:
    error = AgentNotFound("lab1", "wg.get", "WireGuard interface nosuch not found", -32001,
                          {"kind": "not_found"})
    message = str(agent_failure(error, {"name": "nosuch"}))
    assert "`mudmap iface list lab1`" in message
    assert "wg show" not in message


def test_missing_log_file_names_var_log() -> None:
    error = AgentNotFound("lab1", "journal.tail", "log file /var/log/nosuch.log not found",
                          -32001, {"kind": "not_found"})
    message = str(agent_failure(error, {"file": "nosuch.log"}))
    assert "iface" not in message
    assert "`mudmap logs lab1 --list-files`" in message


def test_unsupported_has_no_empty_fix() -> None:
    error = AgentUnsupported("lab1", "services.list", "systemd is not running on this device "
                             "(init is init.py); services.* needs systemd", -32004,
                             {"kind": "unsupported"})
    message = str(agent_failure(error))
    assert message == ("lab1: systemd is not running on this device (init is init.py); "
                       "`mudmap service` needs systemd")


def test_pending_conflict_names_confirm_command() -> None:
    conflict = cli_changes.ChangeConflict(
        "lab2: change 20261204T231101-44cacebd is pending until 23:12:01 UTC (50 s left); "
        "confirm it with changes.confirm or wait for its rollback before applying another "
        "change", {"pending": "20261204T231101-44cacebd"})
    message = str(cli_changes.conflict_with_command(conflict, "lab2"))
    assert "confirm it with `mudmap changes confirm lab2 20261204T231101-44cacebd`" in message
    assert "changes.confirm" not in message


def plan_with(files: list[str], warnings: list[str]) -> Plan:
    return Plan("lab2", [], [], "~ br0 mtu: 1500 -> 1400", "hash", True, files, warnings)


def test_dry_run_prints_warnings_and_may_write(capsys: pytest.CaptureFixture[str]) -> None:
    files = ["/etc/network/interfaces.d/br0", "/etc/network/interfaces.d/br0.mudmap-prev",
             "/etc/network/interfaces", "/etc/network/interfaces.mudmap-prev"]
    plan = plan_with(files, ["10.9.0.2/32 moves from peer A= to peer B="])
    cli_changes.print_plan(plan, dry_run=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["~ br0 mtu: 1500 -> 1400",
                     "warning: 10.9.0.2/32 moves from peer A= to peer B=",
                     "  may write: /etc/network/interfaces.d/br0",
                     "  may write: /etc/network/interfaces"]


def test_written_files_come_from_record() -> None:
    confirmed = Outcome("lab2", "id1", "confirmed",
                        record={"files": ["/etc/network/interfaces.d/br0"]})
    rolled_back = Outcome("lab2", "id2", "rolled_back",
                          record={"files": ["/etc/network/interfaces.d/br0"]})
    assert cli_changes.written_files(confirmed) == ["/etc/network/interfaces.d/br0"]
    assert cli_changes.written_files(rolled_back) == []


def test_wgquick_counts_one_peer() -> None:
    assert cli_changes.peer_count(1) == "1 peer"
    assert cli_changes.peer_count(2) == "2 peers"


def test_preshared_key_file_names_genpsk(tmp_path: Path) -> None:
    bad = tmp_path / "psk"
    bad.write_text("not-a-key\n")
    args = build_parser().parse_args(["wg", "peer", "add", "edge1", "wg0", "PUB=",
                                      "--allowed-ips", "10.0.0.2/32",
                                      "--preshared-key-file", str(bad)])
    with pytest.raises(InvalidInput) as raised:
        wg.peer_params(args)
    assert "`wg genpsk`" in str(raised.value)
    assert "not-a-key" not in str(raised.value)


def test_plan_file_valid_ops_pass(tmp_path: Path) -> None:
    data: dict[str, Any] = {"ops": [{"method": "interfaces.update",
                                     "params": {"name": "eth0", "mtu": 1400}}]}
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(data))
    assert cli_changes.read_plan_file(plan) == data["ops"]
