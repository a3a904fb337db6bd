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

import io
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
# A child's file length after each result: at most MAX_UNITS of them, 8 KiB.
_END = struct.Struct("<Q")
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
    children: list[_Child] = []
    results: dict[int, T] = {}
    try:
        for _ in range(min(jobs, len(units)) - 1):
            started = _Child.start(units, queue_out)
            if started is None:
                break  # no temporary file or no process to be had: this process does the rest
            children.append(started)
        if meanwhile is not None:
            meanwhile()
        for number in _take(queue_out):
            results[number] = units[number]()
            # What the children have finished is read in between, not all at the end, when
            # this process would do nothing else (a tenth of a second of a cold run).
            for child in children:
                results.update(child.take())
        for child in children:
            results.update(child.finish())
        children.clear()
    finally:
        os.close(queue_out)
        for child in children:  # only when this process raised: stop the others
            child.stop()
    return [results[i] if i in results else units[i]() for i in range(len(units))]


class _Child:
    """A forked child working through the queue. It writes each result to a file (a child never
    waits for this process to read) and then the file's length to a pipe, so that this process
    can read the results finished so far without waiting."""

    def __init__(self, pid: int, out: IO[bytes], ends: int) -> None:
        self.pid = pid
        self.out = out
        self.ends = ends
        self.read = 0  # how far this process has read the file

    @classmethod
    def start(cls, units: Sequence[Callable[[], object]], queue: int) -> _Child | None:
        try:
            out: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish or stop
        except OSError:
            return None
        ends_out, ends_in = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            out.close()
            os.close(ends_out)
            os.close(ends_in)
            return None
        if pid == 0:  # pragma: no cover (a child leaves through os._exit)
            os.close(ends_out)
            _child(units, queue, out, ends_in)
        # Closed here before another child is forked: the pipe ends when this child exits.
        os.close(ends_in)
        os.set_blocking(ends_out, False)
        return cls(pid, out, ends_out)

    def take(self) -> dict[int, Any]:
        """The results the child has finished since the last call, without waiting."""
        end = self.read
        while True:
            try:
                data = os.read(self.ends, _END.size * MAX_UNITS)
            except BlockingIOError:
                break
            if not data:
                break
            # Each length is written whole (a pipe write this small is atomic): the last is the
            # furthest.
            end = _END.unpack_from(data, len(data) - _END.size)[0]
        return self._load(end)

    def finish(self) -> dict[int, Any]:
        """The rest of what the child wrote, once it has exited: what it finished, if it failed."""
        _, status = os.waitpid(self.pid, 0)
        try:
            if os.waitstatus_to_exitcode(status) == 0:
                return self._load(os.fstat(self.out.fileno()).st_size)
            return self.take()
        finally:
            self._close()

    def stop(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except OSError:
            pass
        self._close()

    def _load(self, end: int) -> dict[int, Any]:
        found: dict[int, Any] = {}
        if end <= self.read:
            return found
        data = os.pread(self.out.fileno(), end - self.read, self.read)
        self.read += len(data)
        stream = io.BytesIO(data)
        while stream.tell() < len(data):
            # Written a moment ago by our own fork, like the units it ran.
            number, result = pickle.load(stream)
            found[number] = result
        return found

    def _close(self) -> None:
        self.out.close()
        os.close(self.ends)


def _take(queue: int) -> Iterator[int]:
    # Reads of a few bytes from a pipe are atomic: each number goes to exactly one process.
    while data := os.read(queue, _NUMBER.size):
        yield _NUMBER.unpack(data)[0]


def _child(units: Sequence[Callable[[], object]], queue: int, out: IO[bytes], ends: int) -> None:
    global _in_child
    _in_child = True
    status = 1
    try:
        for number in _take(queue):
            pickle.dump((number, units[number]()), out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
            os.write(ends, _END.pack(out.tell()))
        status = 0
    except BaseException:  # noqa: BLE001 - the parent runs the units that are missing again
        pass
    finally:
        # Not sys.exit: the parent's atexit handlers and buffered output are not the child's.
        os._exit(status)
