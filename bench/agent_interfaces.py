"""Time the agent's interfaces.list against one `ip -j addr show` process, in one namespace.

Builds a throwaway network namespace with 200 interfaces (bridges, veth pairs, macvlans) and
2,000 addresses, starts one agent inside it, then times both sides alternately and prints the
medians and their ratio. Needs root. Run: .venv/bin/python bench/agent_interfaces.py
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

from tests.agent_client import AgentProcess, in_netns, source_agent_argv

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
        # 198.18.0.0/15 is reserved for benchmarks (RFC 2544); nothing here sends traffic.
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
    args = parser.parse_args()
    netns = f"h2a-bench-{uuid.uuid4().hex[:6]}"
    build(netns)

    try:
        with AgentProcess(in_netns(netns, source_agent_argv())) as agent:
            listed = agent.call("interfaces.list")["interfaces"]
            address_count = sum(len(i["addresses"]) for i in listed)
            print(f"namespace {netns}: {len(listed)} links, {address_count} addresses")
            agent_times, ip_times = [], []
            for _ in range(args.rounds):
                agent_times.append(time_agent(agent))
                ip_times.append(time_ip(netns))
    finally:
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
