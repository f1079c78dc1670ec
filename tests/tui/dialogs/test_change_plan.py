"""The guarded change's diff dialog: persist choice, rollback timeout, cancel."""

from __future__ import annotations

import asyncio

from textual.widgets import Button, Checkbox, Input

from mudmap_tui.changes import Plan
from mudmap_tui.errors import MudmapError
from mudmap_tui.tui.dialogs.change_plan import ChangePlanScreen
from tests.tui.dialogs.dialog_app import SMALL_TERMINAL, DialogApp, text_of

OPS = [{"method": "interfaces.create", "params": {"name": "br7", "kind": "bridge"}}]
STANZA = "/etc/network/interfaces.d/mudmap-br7"


def plan_for(persist: bool) -> Plan:
    files = [STANZA, STANZA + ".mudmap-prev"] if persist else []
    return Plan("lab1", OPS, [{"name": "br7", "change": "create"}], "+ br7 (bridge)",
                "hash1", persist, files)


class Replanner:
    """Stand-in for the device's planner: return the requested plan, or raise ``error``.

    With ``hold``, each request waits until the test sets the event.
    """

    def __init__(self, error: str | None = None, hold: asyncio.Event | None = None) -> None:
        self.error = error
        self.hold = hold
        self.requests: list[bool] = []

    async def __call__(self, persist: bool) -> Plan:
        self.requests.append(persist)
        if self.hold is not None:
            await self.hold.wait()
        if self.error is not None:
            raise MudmapError(self.error)
        return plan_for(persist)


def dialog(replan: Replanner) -> ChangePlanScreen:
    return ChangePlanScreen("Apply to lab1: create bridge br7?", plan_for(False), replan, 60.0,
                            "lab1")


async def test_persist_lists_files_and_applies() -> None:
    replan = Replanner()
    app = DialogApp(dialog(replan))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        assert "within 60 s, lab1 restores" in text_of(app, "#guard-text")
        app.screen.query_one("#persist", Checkbox).value = True
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert STANZA in text_of(app, "#plan-text")
        assert ".mudmap-prev" not in text_of(app, "#plan-text")
        app.screen.query_one("#apply", Button).press()
        await pilot.pause()
    assert replan.requests == [True]
    assert len(app.results) == 1
    assert app.results[0].plan.persist
    assert app.results[0].timeout == 60.0


async def test_persist_failure_keeps_runtime_plan() -> None:
    replan = Replanner("lab1: persisting is not supported yet for NetworkManager")
    app = DialogApp(dialog(replan))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        app.screen.query_one("#persist", Checkbox).value = True
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "not supported yet for NetworkManager" in text_of(app, "#plan-error")
        assert not app.screen.query_one("#persist", Checkbox).value
        assert not app.screen.query_one("#apply", Button).disabled
        app.screen.query_one("#apply", Button).press()
        await pilot.pause()
    assert not app.results[0].plan.persist


async def test_timeout_out_of_range_blocks_apply() -> None:
    app = DialogApp(dialog(Replanner()))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        app.screen.query_one("#timeout", Input).value = "2"
        await pilot.pause()
        assert "timeout 2 s is out of range" in text_of(app, "#plan-error")
        app.screen.query_one("#apply", Button).press()
        await pilot.pause()
        assert app.results == []
        app.screen.query_one("#timeout", Input).value = "soon"
        await pilot.pause()
        assert "invalid timeout 'soon'" in text_of(app, "#plan-error")
        app.screen.query_one("#timeout", Input).value = "120"
        await pilot.pause()
        assert "within 120 s" in text_of(app, "#guard-text")
        app.screen.query_one("#timeout", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
    assert app.results[0].timeout == 120.0
    assert not app.results[0].plan.persist


async def test_plan_warnings_shown() -> None:
    plan = plan_for(False)
    plan.warnings = ["allowed IP 10.9.0.2/32 moves from peer mW7n76Db… to peer M4+n…"]
    app = DialogApp(ChangePlanScreen("Apply to lab1: add peer?", plan, Replanner(), 60.0,
                                     "lab1"))
    async with app.run_test(size=SMALL_TERMINAL):
        assert (text_of(app, "#plan-warnings")
                == "! warning: allowed IP 10.9.0.2/32 moves from peer mW7n76Db… to peer M4+n…")


async def test_persist_box_locked_while_planning() -> None:
    hold = asyncio.Event()
    replan = Replanner(hold=hold)
    app = DialogApp(dialog(replan))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        checkbox = app.screen.query_one("#persist", Checkbox)
        checkbox.focus()
        await pilot.press("space")
        await pilot.pause()
        assert checkbox.disabled
        await pilot.press("space")
        await pilot.pause()
        hold.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert checkbox.value
        assert not checkbox.disabled
        assert STANZA in text_of(app, "#plan-text")
        app.screen.query_one("#apply", Button).press()
        await pilot.pause()
    assert replan.requests == [True]
    assert app.results[0].plan.persist


async def test_timeout_nan_rejected() -> None:
    app = DialogApp(dialog(Replanner()))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        app.screen.query_one("#timeout", Input).value = "nan"
        await pilot.pause()
        assert "invalid timeout 'nan'" in text_of(app, "#plan-error")


async def test_session_risk_needs_typed_name() -> None:
    danger = "eth0 carries the SSH session to lab1 (it has the device's address 192.0.2.1)"
    app = DialogApp(ChangePlanScreen("Apply to lab1: set eth0 down?", plan_for(False),
                                     Replanner(), 60.0, "lab1", danger, "eth0"))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        apply = app.screen.query_one("#apply", Button)
        assert "Type eth0 to apply it anyway" in text_of(app, "#danger")
        assert apply.disabled
        app.screen.query_one("#typed", Input).value = "eth"
        await pilot.pause()
        assert apply.disabled
        app.screen.query_one("#typed", Input).value = "eth0"
        await pilot.pause()
        assert not apply.disabled
        apply.press()
        await pilot.pause()
    assert len(app.results) == 1


async def test_escape_cancels_change() -> None:
    replan = Replanner()
    app = DialogApp(dialog(replan))
    async with app.run_test(size=SMALL_TERMINAL) as pilot:
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]
    assert replan.requests == []
