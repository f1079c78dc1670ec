"""Time the agent's interfaces.list against one `ip -j addr show` process, in one namespace.

Builds a throwaway network namespace with 200 interfaces (bridges, veth pairs, macvlans) and
2,000 addresses, starts one agent inside it, then times both sides alternately and prints the
medians and their ratio. Needs root. Run: .venv/bin/python bench/agent_interfaces.py

The agent reuses what it decoded for messages that did not change since its last listing.
``--busy`` sends one frame out of every link before each timed call, so every link's
counters, and with them its message, change as on a device that carries traffic.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.agent_client import PYROUTE2_PARENT, AgentProcess, in_netns, source_agent_argv

BRIDGES = 10
VETH_PAIRS = 80
MACVLANS = 30
IPV4_PER_LINK = 6
IPV6_PER_LINK = 4


def batch_commands() -> list[str]:
    """Return `ip -batch` lines that build 200 links with 10 addresses each."""
    names = [f"br{i}" for i in range(BRIDGES)]
    lines = [f"link add br{i} type bridge" for i in range(BRIDGES)]
    for i in range(VETH_PAIRS):
        lines.append(f"link add va{i} type veth peer name vb{i}")
        lines.append(f"link set va{i} master br{i % BRIDGES}")
        names += [f"va{i}", f"vb{i}"]
    for i in range(MACVLANS):
        lines.append(f"link add mv{i} link vb{i} type macvlan mode bridge")
        names.append(f"mv{i}")
    for number, name in enumerate(names):
        # 198.18.0.0/15 is reserved for benchmarks (RFC 2544). Nothing sends IP traffic to
        # these addresses; --busy sends non-IP broadcast frames that stay in the namespace.
        high, low = divmod(number, 256)
        for host in range(1, IPV4_PER_LINK + 1):
            lines.append(f"addr add 198.{18 + high}.{low}.{host}/24 dev {name}")
        for host in range(1, IPV6_PER_LINK + 1):
            lines.append(f"addr add 2001:db8:{number:x}::{host}/64 dev {name} nodad")
    lines += [f"link set {name} up" for name in names]
    return lines


def build(netns: str) -> None:
    subprocess.run(["ip", "netns", "add", netns], check=True)
    # No IPv6 link-local addresses: the kernel would add them while the timing runs, which
    # changes the data between calls and makes dumps restart.
    for scope in ("all", "default"):
        subprocess.run(["ip", "netns", "exec", netns, "sysctl", "-q", "-w",
                        f"net.ipv6.conf.{scope}.addr_gen_mode=1"], check=True)  # fmt: skip
    script = "\n".join(batch_commands()) + "\n"
    subprocess.run(["ip", "-n", netns, "-batch", "-"], input=script, text=True, check=True)


# Runs in the namespace: for each input line, send one broadcast frame of the local
# experimental EtherType 0x88b5 out of every link that is up, then print a line.
FRAME_SENDER = """
import errno, socket, sys
frame = b"\\xff" * 6 + b"\\x02\\x00\\x00\\x00\\x00\\x01" + b"\\x88\\xb5" + bytes(46)
for _ in sys.stdin:
    for _index, name in socket.if_nameindex():
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
            sock.bind((name, 0))
            try:
                sock.send(frame)
            except OSError as error:
                if error.errno != errno.ENETDOWN:
                    raise
    print("sent", flush=True)
"""


class FrameSender:
    """A process in the namespace that sends one frame out of every link on request."""

    def __init__(self, netns: str) -> None:
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, sys.executable, "-I", "-c", FRAME_SENDER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def send(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        if not self.proc.stdout.readline():
            raise RuntimeError("the frame sender exited; see its error output above")

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def agent_argv(source: Path | None) -> list[str]:
    """Return the command that runs the agent package in ``source``, or this tree's."""
    if source is None:
        return source_agent_argv()
    code = (
        f"import sys; sys.path[0:0] = [{str(source)!r}, {str(PYROUTE2_PARENT)!r}]; "
        "from agent.server import main; sys.exit(main())"
    )
    return ["/usr/bin/python3", "-I", "-c", code]


def time_agent(agent: AgentProcess) -> float:
    started = time.perf_counter()
    agent.call("interfaces.list")
    return time.perf_counter() - started


def time_ip(netns: str) -> float:
    started = time.perf_counter()
    subprocess.run(["ip", "-n", netns, "-j", "addr", "show"], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="timed calls per side")
    parser.add_argument(
        "--busy",
        action="store_true",
        help="send one frame out of every link before each timed agent call",
    )
    parser.add_argument(
        "--agent-source",
        type=Path,
        help="run the agent package in this directory instead, to compare versions; "
        "for example DIR filled by `git archive COMMIT agent | tar -x -C DIR`",
    )
    args = parser.parse_args()
    netns = f"h2a-bench-{uuid.uuid4().hex[:6]}"
    build(netns)
    sender = FrameSender(netns) if args.busy else None

    try:
        with AgentProcess(in_netns(netns, agent_argv(args.agent_source))) as agent:
            agent.call("hello")
            first = time_agent(agent)
            listed = agent.call("interfaces.list")["interfaces"]
            address_count = sum(len(i["addresses"]) for i in listed)
            print(f"namespace {netns}: {len(listed)} links, {address_count} addresses")
            print(f"first interfaces.list, nothing to reuse: {first * 1000:.1f} ms")
            agent_times, ip_times = [], []
            for _ in range(args.rounds):
                if sender is not None:
                    sender.send()
                agent_times.append(time_agent(agent))
                ip_times.append(time_ip(netns))
    finally:
        if sender is not None:
            sender.close()
        subprocess.run(["ip", "netns", "delete", netns], check=False)

    agent_median = statistics.median(agent_times)
    ip_median = statistics.median(ip_times)
    print(
        f"interfaces.list on a running agent: median {agent_median * 1000:.1f} ms "
        f"(min {min(agent_times) * 1000:.1f}, max {max(agent_times) * 1000:.1f}), "
        f"{args.rounds} calls"
    )
    print(
        f"ip -j addr show, one process each: median {ip_median * 1000:.1f} ms "
        f"(min {min(ip_times) * 1000:.1f}, max {max(ip_times) * 1000:.1f}), "
        f"{args.rounds} runs"
    )
    print(f"ratio agent / ip: {agent_median / ip_median:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
