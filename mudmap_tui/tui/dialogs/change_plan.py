"""The diff of a guarded change, with the choice to persist it and its rollback timeout."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Input, Label, Static

from mudmap_tui.changes import Plan
from mudmap_tui.tui.dialogs.backup_diff import styled_diff
from mudmap_tui.tui.dialogs.base import ERROR_MARK, WARNING_MARK, Dialog, MarkedCheckbox

# The agent accepts rollback timeouts in this range (agent/changes.py).
MIN_TIMEOUT = 5.0
MAX_TIMEOUT = 3600.0

Replan = Callable[[bool], Awaitable[Plan]]


@dataclass
class ApplyChoice:
    """The plan the user accepted (with or without persisting) and its rollback timeout."""

    plan: Plan
    timeout: float


def plan_text(plan: Plan) -> str:
    """Return the diff and the files a persisted plan writes."""
    text = plan.text or "no runtime change"
    files = [path for path in plan.files if ".mudmap-prev" not in path]
    if plan.persist and files:
        text += "\n\nConfiguration files it may write (any previous version is kept):\n"
        text += "\n".join(f"  {path}" for path in files)
    return text


def warnings_text(plan: Plan) -> str:
    """Return the device's warnings about the plan, one line each."""
    return "\n".join(f"{WARNING_MARK} warning: {line}" for line in plan.warnings)


def parse_timeout(text: str) -> float:
    """Return the rollback timeout typed in seconds; raise ValueError naming the rule."""
    try:
        seconds = float(text.strip())
        if not math.isfinite(seconds):
            raise ValueError(text)
    except ValueError:
        raise ValueError(f"invalid timeout {text.strip()!r}: give a number of seconds from "
                         f"{MIN_TIMEOUT:g} to {MAX_TIMEOUT:g}") from None
    if not MIN_TIMEOUT <= seconds <= MAX_TIMEOUT:
        raise ValueError(f"timeout {seconds:g} s is out of range: give {MIN_TIMEOUT:g} to "
                         f"{MAX_TIMEOUT:g} seconds")
    return seconds


class ChangePlanScreen(Dialog["ApplyChoice | None"]):
    """Dialog that shows a change's diff. Apply returns an ApplyChoice, Cancel and escape None.

    Checking Persist requests the plan again from the device with persisting on. The dialog
    then lists the files the change writes, or the reason this device cannot persist it.
    """

    def __init__(self, title: str, plan: Plan, replan: Replan, timeout: float,
                 device: str, danger: str | None = None, typed: str | None = None) -> None:
        """:param danger: why the change can cut the app's own session to the device
        :param typed: text the user must type before Apply works, with ``danger``
        """
        super().__init__()
        self.title_text = title
        self.danger = danger
        self.typed = typed
        self.plan = plan
        self.plans: dict[bool, Plan] = {plan.persist: plan}
        self.replan = replan
        self.timeout = timeout
        self.device = device

    @property
    def body(self) -> str:
        """Return the text the dialog shows for the current plan."""
        return plan_text(self.plan)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = self.title_text
            # Above the diff, so a long diff never scrolls them out of sight.
            warnings = Static(warnings_text(self.plan), id="plan-warnings",
                              classes="field-warning", markup=False)
            warnings.display = bool(self.plan.warnings)
            yield warnings
            with VerticalScroll(id="diff"):
                yield Static(styled_diff(self.body), id="plan-text")
            yield Static(self._guard_text(), id="guard-text", classes="dialog-body",
                         markup=False)
            if self.danger and self.typed:
                yield Static(f"{ERROR_MARK} {self.danger} Type {self.typed} to apply it "
                             "anyway.", id="danger", classes="field-error", markup=False)
                with Horizontal(classes="field-row"):
                    yield Label(f"Type {self.typed}", classes="field-label")
                    yield Input(placeholder=self.typed, id="typed", compact=True)
            yield MarkedCheckbox("Persist: also write the device's configuration files",
                                 self.plan.persist, id="persist", compact=True)
            with Horizontal(classes="field-row"):
                yield Label("Rollback in (s)", classes="field-label")
                yield Input(f"{self.timeout:g}", id="timeout", compact=True)
            error = Static("", id="plan-error", classes="field-error", markup=False)
            error.display = False
            yield error
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Apply", id="apply", variant="error", compact=True,
                             disabled=bool(self.typed))

    def on_mount(self) -> None:
        self.query_one("#cancel").focus()

    def _guard_text(self, timeout: str | None = None) -> str:
        seconds = timeout if timeout is not None else f"{self.timeout:g}"
        return (f"Applied under a rollback guard: unless a new connection confirms it within "
                f"{seconds} s, {self.device} restores its previous state by itself.")

    def _show_error(self, message: str) -> None:
        error = self.query_one("#plan-error", Static)
        error.update(f"{ERROR_MARK} {message}" if message else "")
        error.display = bool(message)

    def _typed_ok(self) -> bool:
        if not self.typed:
            return True
        return self.query_one("#typed", Input).value == self.typed

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if event.input.id == "typed":
            self.query_one("#apply", Button).disabled = not self._typed_ok()
            return
        try:
            parse_timeout(event.value)
        except ValueError as error:
            self._show_error(str(error))
            return
        self._show_error("")
        self.query_one("#guard-text", Static).update(self._guard_text(event.value.strip()))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._apply()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        persist = event.value
        if persist == self.plan.persist:
            return
        known = self.plans.get(persist)
        if known is not None:
            self._show_plan(known)
            return
        # Until the device responds, the box cannot flip again, so it always matches the plan.
        event.checkbox.disabled = True
        self.query_one("#apply", Button).disabled = True
        self.query_one("#plan-text", Static).update("asking the device for the plan…")
        self.run_worker(self._load_plan(persist), exclusive=True, exit_on_error=False)

    async def _load_plan(self, persist: bool) -> None:
        try:
            plan = await self.replan(persist)
        except Exception as error:  # shown in the dialog; the old plan stays
            self._show_plan(self.plan)
            self._show_error(f"cannot persist: {error}")
            return
        self.plans[persist] = plan
        self._show_plan(plan)

    def _show_plan(self, plan: Plan) -> None:
        self.plan = plan
        self._show_error("")
        self.query_one("#plan-text", Static).update(styled_diff(self.body))
        warnings = self.query_one("#plan-warnings", Static)
        warnings.update(warnings_text(plan))
        warnings.display = bool(plan.warnings)
        checkbox = self.query_one("#persist", Checkbox)
        checkbox.disabled = False
        if checkbox.value != plan.persist:
            with checkbox.prevent(Checkbox.Changed):
                checkbox.value = plan.persist
        self.query_one("#apply", Button).disabled = not self._typed_ok()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "apply":
            self._apply()
        else:
            self.action_cancel()

    def _apply(self) -> None:
        if self.query_one("#apply", Button).disabled or not self._typed_ok():
            return
        try:
            timeout = parse_timeout(self.query_one("#timeout", Input).value)
        except ValueError as error:
            self._show_error(str(error))
            self.query_one("#timeout").focus()
            return
        self.dismiss(ApplyChoice(self.plan, timeout))

    def cancel_result(self) -> Any:
        return None
