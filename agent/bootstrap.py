"""Start the agent from its zipapp, importing from an unpacked copy beside it.

Modules imported straight from a zip archive have no bytecode cache, so every start would
compile pyroute2 again. The first start therefore unpacks the archive into a sibling
directory named by the build id and the interpreter's cache tag and renames it into
place. Later starts import from that copy. Nothing is compiled ahead: python3 writes each
module's ``__pycache__`` entry when a start first imports it, so a device compiles only the
modules it uses, and most methods never load most of pyroute2. The agent builder puts this
file into the zipapp as ``__main__.py``, followed by a call to :func:`run` with the build
id.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import List, Optional

# Written last, so a directory without it was never finished.
MARKER = ".complete"


def unpacked_dir(archive: str, build_id: str) -> str:
    name = ".%s-%s.d" % (build_id[:32], sys.implementation.cache_tag)
    return os.path.join(os.path.dirname(archive), name)


def unpack(archive: str, target: str) -> None:
    """Unpack ``archive`` into ``target``; safe when several starts race.

    Each start builds in its own temporary directory and renames it to ``target``. The
    first rename wins, and a later one fails because ``target`` then exists and is not
    empty, so that start discards its copy and uses the winner's. Starts that import the
    same module at once each write its bytecode file by an atomic rename (importlib does),
    so readers never see a partial one.
    """
    import shutil
    import tempfile
    import zipfile

    parent = os.path.dirname(target)
    temporary = tempfile.mkdtemp(prefix=".unpack-", dir=parent)
    try:
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(temporary)
        with open(os.path.join(temporary, MARKER), "w") as marker:
            marker.write(archive + "\n")
        # mkdtemp() creates mode 0700; the copy must stay readable by every user that may
        # start the agent, like the archive itself. Only the user who unpacked it can add
        # bytecode later; other users import from the sources without caching.
        os.chmod(temporary, 0o755)
        try:
            os.rename(temporary, target)
        except OSError as error:
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            if not os.path.isfile(os.path.join(target, MARKER)):
                _replace_unfinished(temporary, target)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _replace_unfinished(temporary: str, target: str) -> None:
    """Swap a finished copy in for a ``target`` without marker, which was altered by hand."""
    import shutil

    # Renames only ever install finished copies, so a copy without marker was changed
    # from outside. Moving it aside first keeps the swap atomic for readers.
    aside = "%s.unfinished-%d" % (target, os.getpid())
    os.rename(target, aside)
    shutil.rmtree(aside, ignore_errors=True)
    os.rename(temporary, target)


def remove_orphans(directory: str) -> None:
    """Remove unpacked copies whose archive is gone, as after a version was replaced.

    The marker of each copy names its archive. This runs only on the first start of a new
    version, so the cost of the scan is paid once per upload.
    """
    import shutil

    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if not (name.startswith(".") and name.endswith(".d")):
            continue
        try:
            with open(os.path.join(path, MARKER)) as marker:
                archive = marker.read().strip()
        except OSError:
            continue
        if archive and not os.path.exists(archive):
            aside = "%s.orphan-%d" % (path, os.getpid())
            try:
                os.rename(path, aside)
            except OSError:
                continue
            shutil.rmtree(aside, ignore_errors=True)


def import_root(archive: str, build_id: str) -> str:
    """Return the directory to import the agent from, unpacking it on the first start.

    Falls back to the archive itself (slower, but working) where the directory beside it
    cannot be written, such as a read-only file system.
    """
    target = unpacked_dir(archive, build_id)
    if os.path.isfile(os.path.join(target, MARKER)):
        return target
    try:
        remove_orphans(os.path.dirname(target))
        unpack(archive, target)
    except OSError as error:
        sys.stderr.write(
            "agent: cannot unpack into %s (%s); running from the archive\n" % (target, error)
        )
        return archive
    return target if os.path.isfile(os.path.join(target, MARKER)) else archive


def self_test() -> int:
    """Print the response to ``hello`` as one JSON line, as the controller would see it."""
    import json

    from agent import server
    from agent.registry import METHODS

    server.load_topic_modules()
    print(json.dumps(METHODS["hello"]({}), sort_keys=True))
    return 0


def run(build_id: str, argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    archive = os.path.abspath(sys.argv[0])
    root = import_root(archive, build_id)
    # sys.path[0] is the archive when python3 runs a zipapp; the unpacked copy replaces it.
    sys.path[0] = root
    if args == ["--self-test"]:
        return self_test()
    from agent.server import main

    return main(args)
