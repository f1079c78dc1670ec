"""The agent's JSON-RPC 2.0 server: one request per line on stdin, one response per line on stdout.

The controller starts the agent over a non-PTY SSH exec channel. Requests are handled one
at a time, each in a worker thread with a deadline; stdout carries nothing but responses
(the real fd 1 is moved aside and fd 1 is pointed at stderr), logs go to stderr.
docs/agent-protocol.md describes the wire protocol.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import queue
import sys
import threading
import traceback
from typing import IO, Any, Dict, List, Optional, Tuple

from agent import AGENT_VERSION, PROTOCOL_VERSION
from agent.backends import probe_backends
from agent.errors import AgentError
from agent.registry import METHODS, method

log = logging.getLogger("agent")

# Modules that register methods. A module that is not there is skipped; one that fails to
# import is listed in hello's import_errors so the controller can say what is broken.
TOPIC_MODULES = (
    "agent.links",
    "agent.links_write",
    "agent.facts",
    "agent.wireguard",
    "agent.system",
    "agent.services",
    "agent.journal",
    "agent.changes",
    "agent.persist",
)

DEFAULT_DEADLINE = 30.0
MAX_DEADLINE = 3600.0
DEFAULT_IDLE_TIMEOUT = 600.0

# Per-method default deadlines in seconds. A topic module may add its own by defining a
# module-level dict named DEADLINES; the request member "deadline" overrides both.
DEADLINES: Dict[str, float] = {"hello": 10.0}

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601

IMPORT_ERRORS: List[Dict[str, str]] = []


def load_topic_modules(names: Tuple[str, ...] = TOPIC_MODULES) -> None:
    """Import each topic module so it registers its methods; record the ones that fail."""
    for name in names:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name == name:
                log.debug("topic module %s is not installed", name)
                continue
            _record_import_error(name, error)
            continue
        except Exception as error:  # a broken module must not stop the others
            _record_import_error(name, error)
            continue
        DEADLINES.update(getattr(module, "DEADLINES", {}))


def _record_import_error(name: str, error: BaseException) -> None:
    log.error("cannot import topic module %s: %s", name, error, exc_info=error)
    IMPORT_ERRORS.append({"module": name, "error": "%s: %s" % (type(error).__name__, error)})


@method("hello")
def hello(params: Dict[str, Any]) -> Dict[str, Any]:
    uname = os.uname()
    return {
        "agent_version": AGENT_VERSION,
        "protocol_version": PROTOCOL_VERSION,
        "python": "%d.%d.%d" % sys.version_info[:3],
        "kernel": {
            "sysname": uname.sysname,
            "release": uname.release,
            "version": uname.version,
            "machine": uname.machine,
        },
        "hostname": uname.nodename,
        "is_root": os.geteuid() == 0,
        "backends": probe_backends(),
        "methods": sorted(METHODS),
        "import_errors": list(IMPORT_ERRORS),
    }


def error_response(
    request_id: Any, code: int, message: str, data: Optional[Dict[str, Any]] = None
) -> Dict[str, Any]:
    error: Dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def agent_error_response(request_id: Any, error: AgentError) -> Dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}


class Request:
    """A request that passed the JSON-RPC shape checks."""

    def __init__(
        self, request_id: Any, name: str, params: Any, deadline: float, is_notification: bool
    ) -> None:
        self.id = request_id
        self.method = name
        self.params = params
        self.deadline = deadline
        self.is_notification = is_notification


def parse_request(line: bytes) -> Tuple[Optional[Request], Optional[Dict[str, Any]]]:
    """Return the request, or the error response for a line that is not a valid request."""
    try:
        message = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        return None, error_response(None, PARSE_ERROR, "parse error: %s" % error)
    if isinstance(message, list):
        return None, error_response(
            None, INVALID_REQUEST, "invalid request: batch requests are not supported"
        )
    if not isinstance(message, dict):
        return None, error_response(None, INVALID_REQUEST, "invalid request: not a JSON object")
    request_id = message.get("id")
    shape_error = _shape_error(message)
    if shape_error:
        return None, error_response(
            request_id if _valid_id(request_id) else None,
            INVALID_REQUEST,
            "invalid request: " + shape_error,
        )
    deadline = message.get("deadline", DEADLINES.get(message["method"], DEFAULT_DEADLINE))
    if (
        isinstance(deadline, bool)
        or not isinstance(deadline, (int, float))
        or not 0 < deadline <= MAX_DEADLINE
    ):
        error = AgentError(
            "invalid_params",
            "invalid deadline %r: must be a number of seconds "
            "above 0 and at most %d" % (deadline, MAX_DEADLINE),
            field="deadline",
        )
        return None, agent_error_response(request_id, error) if "id" in message else None
    params = message.get("params", {})
    return Request(
        request_id, message["method"], params, float(deadline), "id" not in message
    ), None


def _valid_id(request_id: Any) -> bool:
    return request_id is None or (
        isinstance(request_id, (str, int)) and not isinstance(request_id, bool)
    )


def _shape_error(message: Dict[str, Any]) -> Optional[str]:
    if message.get("jsonrpc") != "2.0":
        return 'member "jsonrpc" must be "2.0"'
    if not isinstance(message.get("method"), str):
        return 'member "method" must be a string'
    if not _valid_id(message.get("id")):
        return 'member "id" must be a string, an integer or null'
    if "params" in message and not isinstance(message["params"], (dict, list)):
        return 'member "params" must be an object'
    return None


class _Outcome:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Any = None
        self.error: Optional[AgentError] = None


def _run_handler(request: Request, outcome: _Outcome) -> None:
    try:
        if isinstance(request.params, list):
            raise AgentError(
                "invalid_params",
                "invalid params: this agent takes named parameters (a JSON object), not an array",
                field="params",
            )
        outcome.result = METHODS[request.method](request.params)
    except AgentError as error:
        outcome.error = error
    except Exception as error:
        log.error("method %s failed:\n%s", request.method, traceback.format_exc())
        outcome.error = AgentError(
            "failed", "%s failed: %s: %s" % (request.method, type(error).__name__, error)
        )
    finally:
        outcome.done.set()


def dispatch(request: Request) -> Dict[str, Any]:
    """Run one request under its deadline and build its response."""
    if request.method not in METHODS:
        # data.kind lets the controller treat an older agent's missing method as unsupported.
        return error_response(
            request.id,
            METHOD_NOT_FOUND,
            "method not found: %s" % request.method,
            {"kind": "unsupported"},
        )
    outcome = _Outcome()
    # A daemon thread, so an overrunning handler cannot keep the agent alive at exit.
    worker = threading.Thread(
        target=_run_handler, args=(request, outcome), name="rpc-%s" % request.method, daemon=True
    )
    worker.start()
    if not outcome.done.wait(request.deadline):
        log.warning("method %s overran its deadline of %g s", request.method, request.deadline)
        return agent_error_response(
            request.id,
            AgentError(
                "timed_out",
                "%s did not finish within its deadline of %g s; it may still complete in the "
                "background, so read the state back before retrying"
                % (request.method, request.deadline),
                deadline=request.deadline,
            ),
        )
    if outcome.error is not None:
        return agent_error_response(request.id, outcome.error)
    return {"jsonrpc": "2.0", "id": request.id, "result": outcome.result}


def encode_response(response: Dict[str, Any]) -> List[bytes]:
    """Encode a response as one line of compact JSON, given as chunks to write in order.

    A handler may return its result as bytes of JSON text that it encoded itself with the
    same separators. Bytes are not a JSON type, so no other result looks like that. Such a
    result goes out as its own chunk, so a large result is not copied once more.
    """
    result = response.get("result")
    if isinstance(result, bytes):
        head = '{"jsonrpc":"2.0","id":%s,"result":' % json.dumps(response["id"])
        return [head.encode("utf-8"), result, b"}\n"]
    return [json.dumps(response, separators=(",", ":")).encode("utf-8") + b"\n"]


class Channel:
    """The private copies of stdin and stdout that carry the protocol."""

    def __init__(self) -> None:
        sys.stdout.flush()
        self.output: IO[bytes] = os.fdopen(os.dup(1), "wb")
        self.input: IO[bytes] = os.fdopen(os.dup(0), "rb")
        # Anything a library or child process writes to fd 1 lands on stderr instead, and
        # nothing but this channel can consume the controller's requests from fd 0.
        os.dup2(2, 1)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        sys.stdout = sys.stderr
        self._lock = threading.Lock()

    def send(self, response: Dict[str, Any]) -> None:
        try:
            chunks = encode_response(response)
        except (TypeError, ValueError) as error:
            log.error("response is not JSON-serialisable: %s", error)
            line = (
                json.dumps(
                    error_response(
                        response.get("id"),
                        -32000,
                        "the agent built a result it cannot encode: %s" % error,
                        {"kind": "failed"},
                    )
                ).encode("utf-8")
                + b"\n"
            )
            chunks = [line]
        with self._lock:
            self.output.writelines(chunks)
            self.output.flush()

    def start_reader(self) -> "queue.Queue[Optional[bytes]]":
        lines: "queue.Queue[Optional[bytes]]" = queue.Queue()

        def read() -> None:
            for line in self.input:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, name="stdin-reader", daemon=True).start()
        return lines


def serve(channel: Channel, idle_timeout: float) -> int:
    lines = channel.start_reader()
    while True:
        try:
            line = lines.get(timeout=idle_timeout)
        except queue.Empty:
            log.info("no request for %g s; exiting", idle_timeout)
            return 0
        if line is None:
            log.info("input closed; exiting")
            return 0
        if not line.strip():
            continue
        request, response = parse_request(line)
        if request is None and response is not None:
            log.warning("rejected request: %s", response["error"]["message"])
        if request is not None:
            response = dispatch(request)
            if request.is_notification:
                response = None
        if response is not None:
            try:
                channel.send(response)
            except BrokenPipeError:
                # The controller has gone; nobody can read further responses.
                log.info("output closed; exiting")
                return 0


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="agent", description="Mudmap device agent")
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=float(os.environ.get("MUDMAP_AGENT_IDLE_TIMEOUT", DEFAULT_IDLE_TIMEOUT)),
        help="exit after this many seconds without a request (default %(default)s; "
        "environment variable MUDMAP_AGENT_IDLE_TIMEOUT)",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("MUDMAP_AGENT_LOG_LEVEL", "INFO"),
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="level of the log written to stderr (default %(default)s)",
    )
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Serve requests until stdin closes or the idle timeout passes; return the exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level,
        format="agent[%(process)d] %(levelname)s %(name)s: %(message)s",
    )
    if args.idle_timeout <= 0:
        log.error("--idle-timeout must be above 0 seconds, not %g", args.idle_timeout)
        return 2
    channel = Channel()
    load_topic_modules()
    log.info(
        "agent %s started, protocol %d, %d methods", AGENT_VERSION, PROTOCOL_VERSION, len(METHODS)
    )
    return serve(channel, args.idle_timeout)


if __name__ == "__main__":
    sys.exit(main())
