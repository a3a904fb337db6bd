"""A cold run's independent work spread over forked processes.

Reading thousands of migrations and running the rules over them is CPU-bound Python. On a
machine with more than one core, forked children take work units from a shared queue while this
process does the same, and send back what they computed, pickled. A unit is a callable over the
state this process built before forking (shared copy-on-write, nothing pickled on the way in), so
the work itself is the same code as in a run with one job.

Forking is used only where it is safe without ``exec``: on Linux, with no other thread running.
A child that fails for any reason (an exception, a result that does not pickle, a kill) costs
time only: the units it took are run again here, where an exception surfaces as usual.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

# Unit numbers go through a pipe, written at once before forking: a pipe holds at least 4 KiB
# without a reader, hence the cap on the number of units.
_NUMBER = struct.Struct("<I")
MAX_UNITS = 1024


def available() -> int:
    """How many processes a run may use: the cores this process may run on, or 1 where
    forking is not safe."""
    if not sys.platform.startswith("linux") or threading.active_count() > 1:
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def chunks(count: int, jobs: int, smallest: int) -> list[range]:
    """``range(count)`` cut into pieces of at least ``smallest`` items, several per job so that
    a process that finishes early takes more; one piece when there is too little to share."""
    if jobs <= 1 or count < 2 * smallest:
        return [range(count)] if count else []
    size = max(smallest, -(-count // (4 * jobs)), -(-count // MAX_UNITS))
    return [range(start, min(start + size, count)) for start in range(0, count, size)]


def run(units: Sequence[Callable[[], T]], jobs: int) -> list[T]:
    """Every unit's result, in the units' order. Units are taken in order: put the longest
    first, so that none is left to run alone at the end."""
    if jobs <= 1 or len(units) < 2:
        return [unit() for unit in units]
    if len(units) > MAX_UNITS:
        raise ValueError(f"at most {MAX_UNITS} units, not {len(units)}")
    queue_out, queue_in = os.pipe()
    os.write(queue_in, b"".join(_NUMBER.pack(i) for i in range(len(units))))
    os.close(queue_in)
    children: list[tuple[int, int]] = []
    results: dict[int, T] = {}
    try:
        for _ in range(min(jobs, len(units)) - 1):
            result_out, result_in = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover (a child leaves through os._exit)
                os.close(result_out)
                _child(units, queue_out, result_in)
            os.close(result_in)
            children.append((pid, result_out))
        for number in _take(queue_out):
            results[number] = units[number]()
        for pid, result_out in children:
            results.update(_collect(pid, result_out))
        children.clear()
    finally:
        os.close(queue_out)
        for pid, result_out in children:  # only when this process raised: stop the others
            os.close(result_out)
            _stop(pid)
    return [results[i] if i in results else units[i]() for i in range(len(units))]


def _take(queue: int) -> Iterator[int]:
    # Reads of a few bytes from a pipe are atomic: each number goes to exactly one process.
    while data := os.read(queue, _NUMBER.size):
        yield _NUMBER.unpack(data)[0]


def _child(units: Sequence[Callable[[], object]], queue: int, out: int) -> None:
    status = 1
    try:
        done = {number: units[number]() for number in _take(queue)}
        payload = pickle.dumps(done, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(out, "wb") as pipe:
            pipe.write(payload)
        status = 0
    except BaseException:  # noqa: BLE001 - the parent runs these units again
        pass
    finally:
        # Not sys.exit: the parent's atexit handlers and buffered output are not the child's.
        os._exit(status)


def _collect(pid: int, out: int) -> dict[int, Any]:
    with os.fdopen(out, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0 or not data:
        return {}
    try:
        # Written a moment ago by our own fork, like the units it ran.
        loaded: dict[int, Any] = pickle.loads(data)
        return loaded
    except Exception:  # noqa: BLE001
        return {}


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass
