"""Turn a fleet run's output chunks into whole lines per device, and summarise each result."""

from __future__ import annotations

from mudmap_tui.fleet import DeviceResult, Outcome


class LineSplitter:
    """Collect output chunks per (device, stream) and hand out whole lines."""

    def __init__(self) -> None:
        self.partial: dict[tuple[str, str], bytes] = {}

    def feed(self, device: str, stream: str, data: bytes) -> list[str]:
        key = (device, stream)
        *lines, rest = (self.partial.pop(key, b"") + data).split(b"\n")
        if rest:
            self.partial[key] = rest
        return [line.decode(errors="replace") for line in lines]

    def flush(self, device: str) -> list[tuple[str, str]]:
        """Return the unfinished last line of each stream of ``device`` as (stream, text)."""
        lines = []
        for stream in ("stdout", "stderr"):
            rest = self.partial.pop((device, stream), b"")
            if rest:
                lines.append((stream, rest.decode(errors="replace")))
        return lines


def result_summary(result: DeviceResult) -> str:
    """Return one line for a device's end: exit status or outcome, duration, cut output."""
    if result.outcome in (Outcome.OK, Outcome.FAILED) and result.exit_status is not None:
        text = f"exit {result.exit_status}"
    elif result.outcome is Outcome.FAILED:
        text = "failed (killed by a signal)"
    else:
        text = result.outcome.value.replace("_", " ")
        if result.error and result.error != "cancelled":
            text += f": {result.error}"
    text += f" · {result.duration:.2f} s"
    if result.truncated:
        text += f" · output cut at {result.output_cap} bytes, the rest was discarded"
    return text
