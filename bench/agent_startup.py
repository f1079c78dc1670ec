"""Time the agent's start to its ``hello`` response against a plain pyroute2 import.

Both run on the device's python3 (/usr/bin/python3 -I) inside a throwaway network
namespace, with the zipapp already unpacked and compiled by a first start, which is
the state of a device that has run this agent version before. The baseline imports
pyroute2 from that same compiled copy:

    python3 -I -c "import sys; sys.path.insert(0, DIR); from pyroute2 import IPRoute"

Usage (root, for the namespace):  .venv/bin/python bench/agent_startup.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = "/usr/bin/python3"
HELLO = b'{"jsonrpc": "2.0", "id": 1, "method": "hello"}\n'
GOAL = 1.3


def time_agent(archive: Path) -> float:
    start = time.perf_counter()
    process = subprocess.Popen(
        [PYTHON, "-I", str(archive)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(HELLO)
    process.stdin.flush()
    response = json.loads(process.stdout.readline())
    elapsed = time.perf_counter() - start
    process.stdin.close()
    process.wait(timeout=30)
    if "result" not in response:
        raise RuntimeError(f"agent did not return hello: {response}")
    return elapsed


def time_import(path: Path) -> float:
    """Time until the import is done, read from a line printed after it.

    Like the agent's time to hello, this leaves out the interpreter's shutdown.
    """
    code = (
        f"import sys; sys.path.insert(0, {str(path)!r}); from pyroute2 import IPRoute; "
        "print('imported', flush=True)"
    )
    start = time.perf_counter()
    process = subprocess.Popen([PYTHON, "-I", "-c", code], stdout=subprocess.PIPE)
    assert process.stdout is not None
    line = process.stdout.readline()
    elapsed = time.perf_counter() - start
    process.wait(timeout=30)
    if line != b"imported\n":
        raise RuntimeError(f"importing pyroute2 from {path} failed")
    return elapsed


def measure(archive: Path, rounds: int) -> dict[str, object]:
    # The first start unpacks and compiles; it is timed on its own.
    first = time_agent(archive)
    unpacked = next(path for path in archive.parent.iterdir() if path.name.endswith(".d"))
    agent_times, import_times, zip_times = [], [], []
    # Interleaved, so that a slow period of the machine affects both sides alike.
    for _ in range(rounds):
        agent_times.append(time_agent(archive))
        import_times.append(time_import(unpacked))
        # For comparison only: importing from the archive compiles every module again.
        zip_times.append(time_import(archive))
    agent_median = statistics.median(agent_times)
    import_median = statistics.median(import_times)
    return {
        "rounds": rounds,
        "first_start_s": round(first, 4),
        "agent_to_hello_s": summary(agent_times),
        "pyroute2_import_s": summary(import_times),
        "pyroute2_import_from_zip_s": summary(zip_times),
        "ratio": round(agent_median / import_median, 3),
        "goal": GOAL,
    }


def summary(times: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(times), 4),
        "min": round(min(times), 4),
        "max": round(max(times), 4),
    }


def run_inside(archive: Path, rounds: int) -> None:
    print(json.dumps(measure(archive, rounds)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="timed starts of each kind")
    parser.add_argument("--inside", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        run_inside(args.inside, args.rounds)
        return 0

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from mudmap_tui.agent_build import write_to_cache

    netns = "h3bench-" + secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix="mudmap-bench-") as cache:
        archive = write_to_cache(Path(cache))
        subprocess.run(["ip", "netns", "add", netns], check=True)
        try:
            result = subprocess.run(
                [
                    "ip",
                    "netns",
                    "exec",
                    netns,
                    sys.executable,
                    os.path.abspath(__file__),
                    "--inside",
                    str(archive),
                    "--rounds",
                    str(args.rounds),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
        finally:
            subprocess.run(["ip", "netns", "del", netns], check=False)
    measured = json.loads(result.stdout)
    measured["python"] = subprocess.run(
        [PYTHON, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    measured["kernel"] = os.uname().release
    measured["cpus"] = os.cpu_count()
    print(json.dumps(measured, indent=2))
    verdict = "meets" if measured["ratio"] <= GOAL else "misses"
    print(f"ratio {measured['ratio']} {verdict} the goal of {GOAL}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
