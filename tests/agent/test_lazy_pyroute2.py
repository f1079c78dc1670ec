"""The agent loads pyroute2 only for methods that write through it.

Each check runs in a fresh /usr/bin/python3 (the devices' interpreter) that imports the
agent from the unpacked zipapp, because the test process itself has pyroute2 loaded.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mudmap_tui import agent_build

PYTHON = "/usr/bin/python3"
HELLO = b'{"jsonrpc": "2.0", "id": 1, "method": "hello"}\n'

pytestmark = pytest.mark.timeout(120)

READ_METHODS = """
import json, sys
sys.path.insert(0, sys.argv[1])
from agent import server
from agent.registry import METHODS
server.load_topic_modules()
results = {}
for name in ("hello", "facts", "interfaces.list"):
    result = METHODS[name]({})
    results[name] = sorted(json.loads(result) if isinstance(result, bytes) else result)
results["import_errors"] = server.IMPORT_ERRORS
results["pyroute2_loaded"] = "pyroute2" in sys.modules
print(json.dumps(results))
"""

NETLINK_ERROR_CLASS = """
import json, sys
sys.path.insert(0, sys.argv[1])
from agent import netlink
before = netlink.NetlinkError
with netlink.ip_route():
    pass
from pyroute2.netlink.exceptions import NetlinkError
print(json.dumps({
    "before": before.__name__,
    "after_is_pyroute2": netlink.NetlinkError is NetlinkError,
}))
"""


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("agent-cache")
    archive = agent_build.write_to_cache(cache)
    # The first start unpacks the archive beside it.
    subprocess.run(
        [PYTHON, "-I", str(archive)], input=HELLO, capture_output=True, timeout=60, check=True
    )
    (directory,) = [path for path in cache.iterdir() if path.is_dir()]
    return directory


def run_script(script: str, unpacked: Path) -> dict[str, object]:
    result = subprocess.run(
        [PYTHON, "-I", "-c", script, str(unpacked)],
        capture_output=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_read_methods_leave_pyroute2_unloaded(unpacked: Path) -> None:
    results = run_script(READ_METHODS, unpacked)

    assert results["import_errors"] == []
    assert "backends" in results["hello"]
    assert "default_routes" in results["facts"]
    assert results["interfaces.list"] == ["interfaces"]
    assert results["pyroute2_loaded"] is False


def test_netlink_error_is_pyroute2_class_once_loaded(unpacked: Path) -> None:
    results = run_script(NETLINK_ERROR_CLASS, unpacked)

    assert results["before"] == "NetlinkNotLoaded"
    assert results["after_is_pyroute2"] is True
