"""Forked workers: the same results as one process, whatever a child does."""

from __future__ import annotations

import gc
import os
import pickle
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from benchmarks.corpus import generate
from migration_lint import background, lint, workers
from migration_lint.cache import CACHE_DIR
from migration_lint.context import LintContext
from migration_lint.facts import MigrationFacts
from migration_lint.lint import Options, run
from migration_lint.source.parse import parse_migration
from tests.helpers import chdir

pytestmark = pytest.mark.skipif(
    not hasattr(os, "fork"), reason="forked workers need os.fork (not on this platform)"
)


def _pid_after(seconds: float) -> Callable[[], int]:
    def unit() -> int:
        # Long enough that the child is up before this process has taken every unit.
        time.sleep(seconds)
        return os.getpid()

    return unit


def _no_children_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_units_run_in_two_processes_and_come_back_in_order() -> None:
    units = [_pid_after(0.1) for _ in range(8)]
    pids = workers.run(units, jobs=2)
    assert len(pids) == 8
    assert len(set(pids)) == 2
    assert os.getpid() in pids
    assert _no_children_left()


def test_results_keep_the_units_order() -> None:
    units = [lambda n=n: (time.sleep(0.01), n * n)[1] for n in range(12)]
    assert workers.run(units, jobs=3) == [n * n for n in range(12)]


def test_one_job_runs_everything_here() -> None:
    assert set(workers.run([_pid_after(0) for _ in range(4)], jobs=1)) == {os.getpid()}


@pytest.mark.parametrize(
    "fail",
    (
        pytest.param(lambda: 1 / 0, id="exception"),
        pytest.param(lambda: os._exit(3), id="killed"),
        pytest.param(lambda: lambda: None, id="result-does-not-pickle"),
    ),
)
def test_a_failing_child_costs_time_only(fail: Callable[[], object]) -> None:
    parent = os.getpid()

    def unit(n: int) -> int:
        time.sleep(0.02)
        if os.getpid() != parent:
            fail()
        return n

    assert workers.run([lambda n=n: unit(n) for n in range(8)], jobs=2) == list(range(8))
    assert _no_children_left()


def _queue(count: int) -> int:
    out, into = os.pipe()
    os.write(into, b"".join(workers._NUMBER.pack(i) for i in range(count)))
    os.close(into)
    return out


def test_what_a_child_finished_is_taken_while_it_works_on() -> None:
    queue = _queue(2)
    child = workers._Child.start([lambda: "first", lambda: time.sleep(2) or "second"], queue)
    os.close(queue)
    assert child is not None
    deadline = time.monotonic() + 1.5
    taken: dict[int, object] = {}
    while not taken and time.monotonic() < deadline:
        taken = child.take()
        time.sleep(0.01)
    assert taken == {0: "first"}  # while the second unit still sleeps
    assert child.take() == {}
    assert child.finish() == {1: "second"}
    assert _no_children_left()


def test_a_child_that_dies_keeps_what_it_finished() -> None:
    parent = os.getpid()

    def unit(n: int) -> tuple[int, int]:
        if os.getpid() != parent and n == 1:
            os._exit(3)
        return n, os.getpid()

    queue = _queue(3)
    child = workers._Child.start([lambda n=n: unit(n) for n in range(3)], queue)
    os.close(queue)
    assert child is not None
    assert child.finish() == {0: (0, child.pid)}
    assert _no_children_left()


def test_an_exception_here_stops_the_children() -> None:
    parent = os.getpid()

    def unit() -> None:
        if os.getpid() == parent:
            raise RuntimeError("boom")
        time.sleep(5)

    start = time.monotonic()
    with pytest.raises(RuntimeError, match="boom"):
        workers.run([unit for _ in range(4)], jobs=2)
    assert time.monotonic() - start < 4
    assert _no_children_left()


@pytest.mark.parametrize("jobs", [1, 2])
def test_meanwhile_runs_here_once(jobs: int) -> None:
    ran: list[int] = []
    units = [lambda n=n: (time.sleep(0.01), n)[1] for n in range(6)]
    assert workers.run(units, jobs, meanwhile=lambda: ran.append(os.getpid())) == list(range(6))
    assert ran == [os.getpid()]


def test_chunks() -> None:
    assert workers.chunks(0, 2, 10) == []
    assert workers.chunks(15, 2, 10) == [range(15)]  # too little to share
    assert workers.chunks(100, 1, 10) == [range(100)]
    pieces = workers.chunks(1000, 2, 10)
    assert [i for piece in pieces for i in piece] == list(range(1000))
    sizes = [len(piece) for piece in pieces]
    # Several per job, each a share of what is left: a process that finishes early takes
    # more, and the last pieces are small, so that nobody waits long for them.
    assert len(pieces) > 16
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] <= 1000 // 8
    assert sum(sizes[-4:]) <= 8
    many = workers.chunks(100_000, 64, 1)
    assert len(many) <= workers.MAX_UNITS
    assert [i for piece in many for i in piece] == list(range(100_000))


def test_no_fork_with_another_thread_running(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    def no_fork() -> int:
        raise AssertionError("forked with a thread running")

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert workers.available() == 1
        # Not even when a number of jobs was asked for (--jobs).
        monkeypatch.setattr(os, "fork", no_fork)
        assert workers.run([lambda n=n: n for n in range(4)], jobs=2) == [0, 1, 2, 3]
    finally:
        stop.set()
        thread.join()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("workers") / "corpus"
    generate(root, 400, apps=6)
    first = sorted(root.glob("*/migrations/0001_*.py"))[0]
    app = first.parent.parent
    model = re.search(r"CreateModel\(\s*name='(\w+)'", first.read_text(encoding="utf-8"))
    assert model is not None
    # Application code with noqa comments, one used and one not: their suppress stage runs in
    # the parent on what the project rules' unit sent back.
    (app / "views.py").write_text(
        "from django.apps import apps\n\n\n"
        "def view(value):\n"
        f"    Model = apps.get_model({app.name!r}, {model.group(1)!r})\n"
        "    Model.objects.get_or_create(country=value)  # noqa: ML301\n"
        "    return Model.objects.get_or_create(city=value)  # noqa: ML302\n",
        encoding="utf-8",
    )
    return root


def _lint(root: Path, jobs: int, cache: bool = False) -> tuple[list[tuple[object, ...]], list[str]]:
    # With the cache, a first run's: its rule units pickle their findings for the results cache,
    # and a child sends them as that pickle.
    shutil.rmtree(root / CACHE_DIR, ignore_errors=True)
    with chdir(root):
        result = run(Options(source_only=True, use_cache=cache, jobs=jobs))
    background.wait()  # the facts cache's writer, as when a command ends
    return [
        (f.code, f.path, f.line, f.column, f.message, f.help, f.fix) for f in result.findings
    ], result.notes


@pytest.mark.parametrize("cache", [False, True], ids=["no-cache", "first-run"])
def test_a_run_with_two_jobs_finds_what_one_finds(corpus: Path, cache: bool) -> None:
    one = _lint(corpus, 1, cache)
    two = _lint(corpus, 2, cache)
    assert len(one[0]) > 100
    assert two == one
    assert _no_children_left()


def test_the_facts_cache_holds_what_each_process_parsed(corpus: Path) -> None:
    # The parse units pickle their facts for the cache; a child sends only those pickles.
    _lint(corpus, 2, cache=True)
    (file,) = (corpus / CACHE_DIR).glob("facts-*.pickle")
    cached = [pickle.loads(raw) for raw in pickle.loads(file.read_bytes()).values()]
    paths = sorted(corpus.glob("*/migrations/0*.py"))
    assert len(cached) == len(paths) == 400
    with chdir(corpus):
        expected = {
            str(p.relative_to(corpus)): parse_migration(
                str(p.relative_to(corpus)),
                p.read_bytes(),
                p.parent.parent.name,
                f"{p.parent.parent.name}.migrations.{p.stem}",
            )
            for p in paths
        }
    assert {facts.path: facts for facts in cached} == expected


def _facts_cache(root: Path) -> dict[bytes, bytes]:
    (file,) = (root / CACHE_DIR).glob("facts-*.pickle")
    return pickle.loads(file.read_bytes())  # type: ignore[no-any-return]


def test_a_file_that_changes_while_a_child_reads_it(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A first run reads each file in the process that parses it, and every file here too:
    # what a child parsed from other bytes than this process read is parsed again here, so
    # that the facts and the digest they are cached under agree.
    clean = _lint(corpus, 2, cache=True)
    expected = _facts_cache(corpus)
    parent, real = os.getpid(), lint.read_bytes
    again: list[str] = []

    def changed_in_children(path: Path) -> bytes:
        data = real(path)
        return data + b"\nX = 1  # noqa: ML101\n" if os.getpid() != parent else data

    def parse(item: object) -> object:
        if os.getpid() == parent:
            again.append(item.shown)  # type: ignore[attr-defined]
        return parse_here(item)

    parse_here = lint._parse
    monkeypatch.setattr(lint, "read_bytes", changed_in_children)
    monkeypatch.setattr(lint, "_parse", parse)
    assert _lint(corpus, 2, cache=True) == clean
    assert _facts_cache(corpus) == expected
    assert 0 < len(again) < 400 + 400  # the child's share, parsed a second time here


def test_the_project_rules_sent_back_by_a_child(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The parent waits before taking its first unit, so the child takes the project rules (the
    # first unit): their findings, notes and application noqa comments must come back.
    parent, take = os.getpid(), workers._take

    def slow_take(queue: int) -> Iterator[int]:
        if os.getpid() == parent:
            time.sleep(0.5)
        return take(queue)

    one = _lint(corpus, 1)
    monkeypatch.setattr(workers, "_take", slow_take)
    two = _lint(corpus, 2)
    assert two == one
    in_views = [(code, line) for code, path, line, *_ in one[0] if path.endswith("views.py")]
    assert in_views == [("ML301", 7), ("ML903", 7)]


def test_a_run_leaves_its_state_to_reference_counting(corpus: Path) -> None:
    # What a run built (facts, history, states) goes when run() returns. Held in a reference
    # cycle, it would wait for the collector's next full pass, which run() causes by enabling
    # the collector again: 0.3-0.5 s on the benchmark corpus.
    gc.collect()
    gc.disable()
    try:
        _lint(corpus, 1, cache=True)
        # type(), not isinstance: a lazy object (Django's settings) answers isinstance by
        # loading itself.
        left = [o for o in gc.get_objects() if type(o) in (LintContext, MigrationFacts)]
    finally:
        gc.enable()
    assert left == []


def test_a_run_keeps_its_context_when_asked(corpus: Path) -> None:
    with chdir(corpus):
        kept = run(Options(source_only=True, use_cache=False, jobs=1), keep_context=True)
        dropped = run(Options(source_only=True, use_cache=False, jobs=1))
    assert kept.context is not None and dropped.context is None
    assert len(kept.context.targets) == kept.files_checked == 400
    assert kept.context.memo == {}  # nothing left that refers back to it
    assert kept.findings == dropped.findings


def test_a_small_run_does_not_fork(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A pre-commit run lints a file or two: a fork would cost more than the work.
    generate(tmp_path / "small", 20, apps=2)

    def no_fork() -> int:
        raise AssertionError("forked for a small run")

    monkeypatch.setattr(os, "fork", no_fork)
    assert _lint(tmp_path / "small", 2)[0] == _lint(tmp_path / "small", 1)[0]


def test_rules_never_fork_with_a_django_project() -> None:
    from migration_lint.lint import rule_jobs

    project = object()  # only whether there is one matters
    assert rule_jobs(Options(jobs=4), project) == 1  # type: ignore[arg-type]
    assert rule_jobs(Options(jobs=4), None) == 4
    assert rule_jobs(Options(), None) == workers.available()


@pytest.mark.parametrize("missing", ("temporary-file", "process"))
def test_no_temporary_file_or_process_runs_everything_here(
    missing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    def refuse(*args: object, **kwargs: object) -> object:
        raise OSError(28, "No space left on device")

    if missing == "temporary-file":
        monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    else:
        monkeypatch.setattr(os, "fork", refuse)
    assert set(workers.run([_pid_after(0.01) for _ in range(4)], jobs=2)) == {os.getpid()}
