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
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any, TypeVar

T = TypeVar("T")

# Unit numbers go through a pipe, written at once before forking: a pipe holds at least 4 KiB
# without a reader, hence the cap on the number of units.
_NUMBER = struct.Struct("<I")
MAX_UNITS = 1024


# Set in a forked child: its units run where they are, and nothing it starts outlives it.
_in_child = False


def _can_fork() -> bool:
    return sys.platform.startswith("linux") and threading.active_count() == 1 and not _in_child


def available() -> int:
    """How many processes a run may use: the cores this process may run on, or 1 where
    forking is not safe."""
    if not _can_fork():
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def chunks(count: int, jobs: int, smallest: int) -> list[range]:
    """``range(count)`` cut into pieces for ``jobs`` processes; one piece when there is too
    little to share (under ``2 * smallest`` items).

    Each piece is a share of what is left (guided scheduling), so the pieces shrink towards
    the end: the processes start on large ones and finish on small ones, and none waits long
    for another's last piece (equal pieces left the parent waiting half a piece, about
    0.03 s, at the end of each phase of a cold run of the benchmark corpus)."""
    if jobs <= 1 or count < 2 * smallest:
        return [range(count)] if count else []
    floor = max(1, smallest // 8, -(-count // MAX_UNITS))
    pieces: list[range] = []
    start = 0
    while start < count:
        size = max(floor, -(-(count - start) // (4 * jobs)))
        pieces.append(range(start, min(start + size, count)))
        start += size
    return pieces


def run(
    units: Sequence[Callable[[], T]], jobs: int, meanwhile: Callable[[], object] | None = None
) -> list[T]:
    """Every unit's result, in the units' order. Units are taken in order: put the longest
    first, so that none is left to run alone at the end. ``meanwhile`` runs in this process
    once the children are working, before it takes units itself (first, without children)."""
    # Whatever was asked (--jobs), never fork where it is not safe.
    if jobs <= 1 or len(units) < 2 or not _can_fork():
        if meanwhile is not None:
            meanwhile()
        return [unit() for unit in units]
    if len(units) > MAX_UNITS:
        raise ValueError(f"at most {MAX_UNITS} units, not {len(units)}")
    queue_out, queue_in = os.pipe()
    os.write(queue_in, b"".join(_NUMBER.pack(i) for i in range(len(units))))
    os.close(queue_in)
    children: list[tuple[int, IO[bytes]]] = []
    results: dict[int, T] = {}
    try:
        for _ in range(min(jobs, len(units)) - 1):
            started = _start(units, queue_out)
            if started is None:
                break  # no temporary file or no process to be had: this process does the rest
            children.append(started)
        if meanwhile is not None:
            meanwhile()
        for number in _take(queue_out):
            results[number] = units[number]()
        for pid, out in children:
            results.update(_collect(pid, out))
        children.clear()
    finally:
        os.close(queue_out)
        for pid, out in children:  # only when this process raised: stop the others
            _stop(pid)
            out.close()
    return [results[i] if i in results else units[i]() for i in range(len(units))]


def _start(units: Sequence[Callable[[], object]], queue: int) -> tuple[int, IO[bytes]] | None:
    """A forked child working through the queue, and the file it writes its results to."""
    try:
        # A file, not a pipe: a child never waits for this process to read, and writes each
        # result as soon as it has it, so only the last one is left to write at the end.
        written: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _collect
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        written.close()
        return None
    if pid == 0:  # pragma: no cover (a child leaves through os._exit)
        _child(units, queue, written)
    return pid, written


def _take(queue: int) -> Iterator[int]:
    # Reads of a few bytes from a pipe are atomic: each number goes to exactly one process.
    while data := os.read(queue, _NUMBER.size):
        yield _NUMBER.unpack(data)[0]


def _child(units: Sequence[Callable[[], object]], queue: int, out: IO[bytes]) -> None:
    global _in_child
    _in_child = True
    status = 1
    try:
        for number in _take(queue):
            pickle.dump((number, units[number]()), out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()
        status = 0
    except BaseException:  # noqa: BLE001 - the parent runs the units that are missing again
        pass
    finally:
        # Not sys.exit: the parent's atexit handlers and buffered output are not the child's.
        os._exit(status)


def _collect(pid: int, out: IO[bytes]) -> dict[int, Any]:
    """What the child wrote, once it has exited; nothing if it failed."""
    _, status = os.waitpid(pid, 0)
    found: dict[int, Any] = {}
    with out:
        if os.waitstatus_to_exitcode(status) != 0:
            return found
        out.seek(0)
        while True:
            try:
                # Written a moment ago by our own fork, like the units it ran.
                number, result = pickle.load(out)
            except EOFError:
                return found
            found[number] = result


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass
