"""Cache writes done by a forked process, off the run's critical path.

A cache of values computed in this process (the application-code scans of a large project)
is pickled when it is written. That is CPU work that nothing in the run waits for, so on a
machine with a spare core (and where forking is safe, see :mod:`migration_lint.workers`) a
forked child does it and exits. Elsewhere it is done here, at once. (Migration facts come
pickled by the processes that parsed them, and are written at once.)

Whatever is still being written is waited for before a run reads the caches (:func:`wait` at
its start) and when the process exits, so the caches are complete once a command has finished.
The files are replaced atomically either way: a reader never sees half of one.
"""

from __future__ import annotations

import atexit
import contextlib
import os
from collections.abc import Callable

from migration_lint import workers

_pending: list[int] = []


def write(job: Callable[[], None], large: bool) -> None:
    """Run ``job`` (which writes files and returns nothing) in a forked child when it is
    ``large`` and a core is free for it, else now. A fork costs a few milliseconds: the
    pickling of a few hundred values."""
    if not large or workers.available() < 2:
        job()
        return
    try:
        pid = os.fork()
    except OSError:
        job()
        return
    if pid == 0:  # pragma: no cover (a child leaves through os._exit)
        status = 1
        try:
            job()
            status = 0
        except BaseException:  # noqa: BLE001 - a cache not written is only a later miss
            pass
        finally:
            # Not sys.exit: the parent's atexit handlers and buffered output are not the child's.
            os._exit(status)
    _pending.append(pid)


def wait() -> None:
    """Until every write started by :func:`write` has finished."""
    while _pending:
        pid = _pending.pop()
        # ChildProcessError: reaped already (by a caller's own ``waitpid(-1)``).
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


atexit.register(wait)
