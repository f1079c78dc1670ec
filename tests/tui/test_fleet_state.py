"""Device states, error classification, ages and counter rates."""

from __future__ import annotations

import pytest

from mudmap_tui.fleet_state import (
    DeviceState,
    FleetState,
    classify_error,
    counter_rates,
    format_age,
)
from mudmap_tui.ssh.errors import ConnectFailed, HostKeyUnknown, TimedOut


def test_every_state_has_glyph_and_word() -> None:
    glyphs = [state.glyph for state in DeviceState]
    words = [state.word for state in DeviceState]
    assert all(glyphs)
    assert all(words)
    assert len(set(glyphs)) == len(glyphs)
    assert len(set(words)) == len(words)


@pytest.mark.parametrize(("error", "state"), [
    (ConnectFailed("d", "connect", "Connection refused"), DeviceState.OFFLINE),
    (ConnectFailed("d", "status", "connection lost; reconnecting"), DeviceState.OFFLINE),
    (ConnectFailed("d", "connect", "No route to host"), DeviceState.UNREACHABLE),
    (TimedOut("d", "connect", 5), DeviceState.UNREACHABLE),
    (HostKeyUnknown("d", "connect", "192.0.2.1", "SHA256:abc", "ssh-ed25519 AAAA"),
     DeviceState.HOST_KEY_UNKNOWN),
    (RuntimeError("boom"), DeviceState.UNREACHABLE),
])
def test_classify_error(error: BaseException, state: DeviceState) -> None:
    assert classify_error(error)[0] is state


def test_unknown_host_key_kept_for_accepting() -> None:
    fleet = FleetState(["d"])
    error = HostKeyUnknown("d", "connect", "192.0.2.1", "SHA256:abc", "ssh-ed25519 AAAA")
    status = fleet.mark_failed("d", 10.0, error)
    assert status.host_key == {"host": "192.0.2.1", "fingerprint": "SHA256:abc",
                               "public_key": "ssh-ed25519 AAAA"}
    fleet.mark_online("d", 11.0, {"protocol_version": 1})
    assert fleet.status("d").host_key is None


def test_old_protocol_is_agent_outdated() -> None:
    fleet = FleetState(["d"])
    assert fleet.mark_online("d", 1.0, {"protocol_version": 0}).state is (
        DeviceState.AGENT_OUTDATED)


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "never"), (0, "0 s"), (59.9, "59 s"), (60, "1 min"), (3599, "59 min"),
    (3600, "1 h"), (86400 * 3, "3 d"), (-5, "0 s"),
])
def test_format_age(seconds: float | None, text: str) -> None:
    assert format_age(seconds) == text


def test_rates_from_counter_deltas() -> None:
    rx, tx = counter_rates({"rx_bytes": 1000, "tx_bytes": 500}, 10.0,
                           {"rx_bytes": 3000, "tx_bytes": 500}, 12.0)
    assert rx == 1000.0
    assert tx == 0.0


def test_rates_unknown_without_sample_or_after_reset() -> None:
    assert counter_rates(None, None, {"rx_bytes": 5}, 1.0) == (None, None)
    assert counter_rates({"rx_bytes": 9, "tx_bytes": 1}, 1.0,
                         {"rx_bytes": 2, "tx_bytes": 3}, 2.0) == (None, 2.0)


def test_set_interfaces_computes_rates_per_name() -> None:
    fleet = FleetState(["d"])
    link = {"name": "eth0", "kind": "veth", "admin_state": "up", "oper_state": "up",
            "mtu": 1500, "addresses": [{"address": "192.0.2.1", "prefixlen": 24}]}
    fleet.set_interfaces("d", 100.0, [{**link, "counters": {"rx_bytes": 0, "tx_bytes": 0}}])
    assert fleet.status("d").interfaces[0].rx_rate is None
    fleet.set_interfaces("d", 104.0, [{**link, "counters": {"rx_bytes": 400, "tx_bytes": 8}}])
    row = fleet.status("d").interfaces[0]
    assert (row.rx_rate, row.tx_rate) == (100.0, 2.0)
    assert row.addresses == ["192.0.2.1/24"]


def test_summary_counts_states() -> None:
    fleet = FleetState(["a", "b", "c", "d"])
    fleet.mark_online("a", 1.0, {})
    fleet.mark_failed("b", 1.0, TimedOut("b", "connect", 3))
    fleet.mark_failed("c", 1.0, ConnectFailed("c", "connect", "Connection refused"))
    assert fleet.summary() == "1 online · 1 offline · 1 unreachable · 1 other"


def test_removed_device_leaves_summary() -> None:
    fleet = FleetState()
    fleet.sync(["a", "b"])
    fleet.mark_online("a", 1.0, {})
    fleet.sync(["a"])
    assert fleet.summary() == "1 online · 0 offline · 0 unreachable"
    # A check of the removed device that finishes late must not count it again.
    fleet.mark_failed("b", 2.0, TimedOut("b", "connect", 3))
    assert fleet.summary() == "1 online · 0 offline · 0 unreachable"
    assert "b" not in fleet.devices
