"""Cache writes in a forked process: done by the time a run starts or the command ends, and
never where a fork would cost more than the write or is not safe."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.corpus import generate
from migration_lint import background, workers
from migration_lint.cache import CACHE_DIR

pytestmark = pytest.mark.skipif(
    not hasattr(os, "fork") or workers.available() < 2,
    reason="background writes need os.fork and a second core",
)


def _writes_pid(path: Path) -> None:
    path.write_text(str(os.getpid()), encoding="utf-8")


def test_a_large_write_runs_in_a_child_and_is_done_after_wait(tmp_path: Path) -> None:
    out = tmp_path / "written"
    background.write(lambda: _writes_pid(out), large=True)
    background.wait()
    assert int(out.read_text(encoding="utf-8")) != os.getpid()
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # nothing left running


def test_a_small_write_runs_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise AssertionError("forked for a small write")

    monkeypatch.setattr(os, "fork", no_fork)
    out = tmp_path / "written"
    background.write(lambda: _writes_pid(out), large=False)
    assert int(out.read_text(encoding="utf-8")) == os.getpid()


def test_no_process_to_be_had_writes_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> int:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refuse)
    out = tmp_path / "written"
    background.write(lambda: _writes_pid(out), large=True)
    assert int(out.read_text(encoding="utf-8")) == os.getpid()


def test_a_failing_write_costs_nothing_here(tmp_path: Path) -> None:
    def fail() -> None:
        raise OSError(28, "No space left on device")

    background.write(fail, large=True)
    background.wait()  # returns, raises nothing


def test_a_worker_child_writes_itself(tmp_path: Path) -> None:
    # A forked worker leaves through os._exit: a write it forked would outlive every wait.
    def unit(n: int) -> tuple[int, bool]:
        time.sleep(0.05)  # long enough that the child takes some units
        out = tmp_path / f"written-{n}"
        background.write(lambda: _writes_pid(out), large=True)
        return os.getpid(), out.exists() and int(out.read_text(encoding="utf-8")) == os.getpid()

    results = workers.run([lambda n=n: unit(n) for n in range(6)], jobs=2)
    in_child = [written for pid, written in results if pid != os.getpid()]
    assert in_child
    assert all(in_child)


# The start of a script: ``job`` writes "done" to the file its argument names, half a second on.
_SLOW_JOB = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from migration_lint import background, cli\n"
    "def job():\n"
    "    time.sleep(0.5)\n"
    "    Path(sys.argv[1]).write_text('done')\n"
)


def _run_script(script: str, out: Path) -> tuple[int, str]:
    """``script`` run by a new interpreter, ``out`` its argument: its exit code, and what it
    left in ``out``."""
    done = subprocess.run([sys.executable, "-c", script, str(out)], check=False)
    return done.returncode, out.read_text(encoding="utf-8") if out.exists() else ""


def test_the_process_exit_waits_for_a_write(tmp_path: Path) -> None:
    script = _SLOW_JOB + "background.write(job, large=True)\n"
    assert _run_script(script, tmp_path / "written") == (0, "done")


def test_the_command_leaves_after_the_writes_end(tmp_path: Path) -> None:
    # The command leaves through os._exit (cli.entry), which runs no exit handler itself.
    script = _SLOW_JOB + (
        "def main(exiting):\n"
        "    background.write(job, large=True)\n"
        "    return 3\n"
        "cli.main = main\n"
        "cli.entry()\n"
    )
    assert _run_script(script, tmp_path / "written") == (3, "done")


def test_the_command_exits_normally_where_it_cannot_run_the_exit_handlers(
    tmp_path: Path,
) -> None:
    # atexit._run_exitfuncs is CPython's: without it the command leaves by sys.exit.
    script = (
        "import atexit, sys\n"
        "from pathlib import Path\n"
        "from migration_lint import cli\n"
        "del atexit._run_exitfuncs\n"
        "atexit.register(lambda: Path(sys.argv[1]).write_text('handled'))\n"
        "cli.main = lambda exiting: 4\n"
        "cli.entry()\n"
    )
    assert _run_script(script, tmp_path / "written") == (4, "handled")


def test_the_caches_are_complete_when_the_command_ends(tmp_path: Path) -> None:
    # With application modules calling get_or_create, whose scans a forked writer may pickle.
    root = tmp_path / "corpus"
    generate(root, 300, apps=3)
    views = next(root.glob("*/migrations")).parent / "views"
    views.mkdir()
    for n in range(300):
        (views / f"view_{n}.py").write_text(
            f"def view_{n}(model, value):\n    return model.objects.get_or_create(code=value)\n"
        )
    command = [sys.executable, "-m", "migration_lint", "--source-only", "--format", "json"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    assert done.returncode in (0, 1), done.stderr
    names = sorted(p.name.split("-")[0] for p in (root / CACHE_DIR).glob("*.pickle"))
    assert names == ["appcode", "facts", "results.pickle"]
    assert not list((root / CACHE_DIR).glob(".*-*"))  # no temporary file left
    (scans,) = (root / CACHE_DIR).glob("appcode-*.pickle")
    assert len(pickle.loads(scans.read_bytes())) >= 300
    again = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    assert again.stdout == done.stdout


def test_one_job_keeps_the_cache_writes_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # --jobs 1 keeps everything in one process, the cache writes too.
    from migration_lint.lint import Options, run
    from tests.helpers import chdir

    root = tmp_path / "corpus"
    generate(root, 300, apps=3)

    def no_fork() -> int:
        raise AssertionError("forked with --jobs 1")

    monkeypatch.setattr(os, "fork", no_fork)
    with chdir(root):
        run(Options(source_only=True, jobs=1))
    assert list((root / CACHE_DIR).glob("facts-*.pickle"))
