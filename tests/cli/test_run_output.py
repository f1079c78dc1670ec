"""``mudmap run`` output: prefixed lines that a device cannot use to drive the terminal."""

from __future__ import annotations

import io

from mudmap_tui.cli.fleet import LinePrinter, escape_controls, format_summary
from mudmap_tui.fleet import DeviceFinished, DeviceResult, Outcome, OutputReceived


def printed(*events: object) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    printer = LinePrinter(3, out, err)
    for event in events:
        printer.handle(event)  # type: ignore[arg-type]
    return out.getvalue(), err.getvalue()


def test_printer_escapes_terminal_sequences() -> None:
    out, _ = printed(OutputReceived("r1", "stdout", b"\x1b[2J\x1b]0;title\x07done\n"))
    assert out == "r1  | \\x1b[2J\\x1b]0;title\\x07done\n"
    assert "\x1b" not in out


def test_printer_keeps_tabs_and_crlf() -> None:
    out, _ = printed(OutputReceived("r1", "stdout", b"a\tb\r\n"))
    assert out == "r1  | a\tb\n"


def test_printer_marks_cut_output() -> None:
    result = DeviceResult("r1", Outcome.OK, exit_status=0, stdout=b"abc", truncated=True,
                          output_cap=3)
    out, err = printed(OutputReceived("r1", "stdout", b"abc"), DeviceFinished(result))
    assert out == "r1  | abc\n"
    assert err == "r1  | [output cut at 3 bytes]\n"


def test_printer_whole_output_has_no_mark() -> None:
    result = DeviceResult("r1", Outcome.OK, exit_status=0, stdout=b"abc\n")
    _, err = printed(OutputReceived("r1", "stdout", b"abc\n"), DeviceFinished(result))
    assert err == ""


def test_escape_controls_c1_and_delete() -> None:
    assert escape_controls("a\x9bb\x7f") == "a\\x9bb\\x7f"
    assert escape_controls("héllo ✓") == "héllo ✓"


def test_backup_summary_has_no_exit_column() -> None:
    results = [DeviceResult("lab1", Outcome.OK, duration=0.5),
               DeviceResult("lab2", Outcome.ERROR, duration=1.0, error="connection refused")]
    lines = format_summary(results, exit_column=False)
    assert lines[0].split() == ["DEVICE", "RESULT", "TIME", "NOTE"]
    assert lines[1].split() == ["lab1", "ok", "0.50s"]
    assert lines[2].split()[:3] == ["lab2", "error", "1.00s"]
    assert "EXIT" in format_summary(results)[0]
