"""Running Django's runtests.py for one ENGINE, with a timeout, into a log and a results file."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from tests.django_suite import relative
from tests.django_suite.results import RESULTS_ENV


@dataclasses.dataclass
class Run:
    """The runtests.py invocations for one ENGINE (one, or one per app with --isolate)."""

    key: str
    engine: str
    results: Path
    log: Path
    returncodes: list[int] = dataclasses.field(default_factory=list)
    # Wall-clock seconds of each invocation, by its first label.
    batch_seconds: dict[str, float] = dataclasses.field(default_factory=dict)
    invocations: int = 1
    seconds: float = 0.0
    timed_out: bool = False

    @property
    def meta(self) -> Path:
        """Where the run's timings and exit statuses are kept for --report-only."""
        return self.results.with_suffix(".meta.json")

    def save_meta(self) -> None:
        """Write timings and exit statuses next to the results."""
        fields = ("returncodes", "batch_seconds", "invocations", "seconds", "timed_out")
        self.meta.write_text(json.dumps({name: getattr(self, name) for name in fields}))

    def load_meta(self) -> None:
        """Read what save_meta() wrote, if anything."""
        if self.meta.is_file():
            for name, value in json.loads(self.meta.read_text()).items():
                setattr(self, name, value)

    @property
    def completed(self) -> bool:
        """Whether every invocation got as far as unittest's summary line ("Ran N tests")."""
        if self.timed_out or not self.log.is_file():
            return False
        with self.log.open(errors="replace") as lines:
            summaries = sum(1 for line in lines if line.startswith("Ran ") and " test" in line)
        return summaries >= self.invocations


def run_runtests(
    run: Run,
    tests_dir: Path,
    python_path: Sequence[Path],
    batches: Sequence[Sequence[str]],
    parallel: int,
    timeout: float | None,
    extra_args: Sequence[str] = (),
) -> Run:
    """Run Django's runtests.py once per batch of labels, writing the output to run.log."""
    run.results.unlink(missing_ok=True)
    run.invocations = len(batches)
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    paths = [*map(str, python_path), *filter(None, [env.get("PYTHONPATH")])]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env[RESULTS_ENV] = str(run.results)
    print(
        "[%s] %s: %d label(s) in %d runtests.py run(s), log in %s"
        % (run.key, run.engine, sum(map(len, batches)), len(batches), relative(run.log)),
        flush=True,
    )
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    with run.log.open("w") as log:
        for labels in batches:
            cmd = [
                sys.executable,
                "runtests.py",
                "--settings=suite_settings_%s" % run.key,
                "--noinput",
                "--parallel=%d" % parallel,
                *extra_args,
                *labels,
            ]
            log.write("$ (cd %s && %s)\n" % (tests_dir, " ".join(cmd)))
            log.flush()
            batch_started = time.monotonic()
            remaining = None if deadline is None else max(deadline - batch_started, 1)
            returncode = _invoke(cmd, tests_dir, env, log, remaining)
            run.batch_seconds[labels[0]] = time.monotonic() - batch_started
            if returncode is None:
                run.timed_out = True
                break
            run.returncodes.append(returncode)
    run.seconds = time.monotonic() - started
    run.save_meta()
    return run


def _invoke(
    cmd: list[str], cwd: Path, env: dict[str, str], log: IO[str], timeout: float | None
) -> int | None:
    # A session of its own, so the whole tree (parallel workers, mysqldump) can be stopped.
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None
    finally:
        if proc.poll() is None:
            _stop_group(proc)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue
