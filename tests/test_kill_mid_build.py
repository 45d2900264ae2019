"""A build killed at any moment never leaves a mix of two builds; a slow render is stopped.

Part 1, killed builds. A real ``reportgen build`` (the installed console script, in
a subprocess) runs into an ``--out`` folder that already holds a complete earlier
build (as of 2026-03-30; the new one is as of 2026-03-31, so every file differs),
and is killed with SIGKILL at several moments: after fixed delays spread over the
build, and around the final swap (as soon as its staging folder
``.<name>.staging-*`` appears, and once that folder holds the last file written).
Afterwards ``--out`` must hold either the complete earlier set of files or the
complete new one: every file ``manifest.json``'s ``outputs`` lists, with that
sha256, and nothing else -- byte-for-byte one of the two uninterrupted builds.
Then the next build must succeed, produce the new output, and leave nothing beside
``--out`` (no ``.<name>.staging-*``, no ``.<name>.old``).

Part 2, ``reportgen.render_limits.time_limit``: a step that runs too long is
interrupted with a clear :class:`~reportgen.errors.ReportgenError`, and every
signal handler and timer it touched is put back.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import pytest

from reportgen.errors import ReportgenError
from reportgen.render_limits import PDF_RENDER_SECONDS, TimeLimitExceeded, time_limit
from tests.cli_runner import clean_env, reportgen_exe, run_reportgen, snapshot
from tests.market_factory import write_market

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "ai_etf_monthly.yaml"
OLD_AS_OF = "2026-03-30"
NEW_AS_OF = "2026-03-31"
TIMEOUT = 300

# =========================================================================== killed builds


def build_command(data: Path, as_of: str, out: Path) -> list[str]:
    args = ["build", str(CONFIG), "--data", str(data), "--as-of", as_of, "--out", str(out)]
    return [str(reportgen_exe()), *args, "--no-cache"]  # a real build each time, to kill


def build(data: Path, as_of: str, out: Path) -> subprocess.CompletedProcess[str]:
    return run_reportgen(*build_command(data, as_of, out)[1:])


def check_complete(out: Path) -> str:
    """Problems that make ``out`` other than one complete build, per its own manifest."""
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        listed: dict[str, str] = manifest["outputs"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"no readable manifest.json with outputs: {exc}"
    problems = []
    for name, digest in sorted(listed.items()):
        path = out / name
        if not path.is_file():
            problems.append(f"{name}: listed but missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{name}: sha256 differs from the manifest")
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    for name in sorted(files - set(listed) - {"manifest.json"}):
        problems.append(f"{name}: not listed in the manifest")
    top = {name.split("/", 1)[0] for name in listed} | {"manifest.json"}
    for entry in sorted(set(os.listdir(out)) - top):
        problems.append(f"{entry}: unexpected entry at the top level")
    return "; ".join(problems)


@dataclass
class Builds:
    data: Path
    previous: Path  # a complete build as of OLD_AS_OF
    new: dict[str, bytes]  # the files of an uninterrupted build as of NEW_AS_OF


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    root = tmp_path_factory.mktemp("kill")
    data = write_market(root / "data")
    jobs = [(OLD_AS_OF, root / "previous"), (NEW_AS_OF, root / "reference")]
    with ThreadPoolExecutor(2) as pool:
        procs = list(pool.map(lambda job: build(data, job[0], job[1]), jobs))
    for proc in procs:
        assert proc.returncode == 0, proc.stderr
    assert check_complete(root / "previous") == ""
    assert check_complete(root / "reference") == ""
    new = snapshot(root / "reference")
    assert new["manifest.json"] != snapshot(root / "previous")["manifest.json"]
    return Builds(data, root / "previous", new)


# -- when to kill ---------------------------------------------------------------------------

Trigger = Callable[[subprocess.Popen[bytes], Path], None]


def after(seconds: float) -> Trigger:
    def wait(proc: subprocess.Popen[bytes], out: Path) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=seconds)

    return wait


def staging_folders(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.staging-*"))


def as_soon_as(ready: Callable[[Path], bool]) -> Trigger:
    """Poll (busily: the window is milliseconds) until ``ready(out)`` or the build ends."""

    def wait(proc: subprocess.Popen[bytes], out: Path) -> None:
        deadline = time.monotonic() + TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if ready(out):
                    return
            except OSError:
                pass  # a folder renamed under the poll

    return wait


def staging_appeared(out: Path) -> bool:
    return bool(staging_folders(out))


def staging_holds_the_last_file(out: Path) -> bool:
    """The staging folder holds report.pdf, the last file written (names are written sorted)."""
    return any((s / "report.pdf").exists() for s in staging_folders(out))


def swap_started(out: Path) -> bool:
    return (out.parent / f".{out.name}.old").exists() or not out.exists()


TRIGGERS: dict[str, tuple[Trigger, bool]] = {
    # name: (when to kill, whether --out holds an earlier build)
    "after-0.2s": (after(0.2), True),
    "after-0.8s": (after(0.8), True),
    "after-1.5s": (after(1.5), True),
    "after-2.5s": (after(2.5), True),
    "staging-appears": (as_soon_as(staging_appeared), True),
    "staging-complete": (as_soon_as(staging_holds_the_last_file), True),
    "swap-started": (as_soon_as(swap_started), True),
    "first-build-staging-appears": (as_soon_as(staging_appeared), False),
}


@dataclass
class Killed:
    trigger: str
    had_previous: bool
    out: Path
    exit_before_kill: int | None  # the build's exit status when it ended before the kill
    after_kill: dict[str, bytes] | None  # --out right after the kill (None: no folder)
    completeness: str  # check_complete's problems right after the kill
    beside_after_kill: list[str]
    next_proc: subprocess.CompletedProcess[str] | None = None
    after_next: dict[str, bytes] | None = None
    beside_after_next: list[str] | None = None


def leftovers(out: Path) -> list[str]:
    """What a build keeps beside ``--out`` as it works: ``.<name>.staging-*``, ``.<name>.old``."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def kill(name: str, builds: Builds, parent: Path) -> Killed:
    trigger, had_previous = TRIGGERS[name]
    out = parent / "out"
    if had_previous:
        shutil.copytree(builds.previous, out)
    proc = subprocess.Popen(
        build_command(builds.data, NEW_AS_OF, out),
        cwd=ROOT,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        trigger(proc, out)
        exit_before_kill = proc.poll()
        if exit_before_kill is None:
            proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=TIMEOUT)
    return Killed(
        trigger=name,
        had_previous=had_previous,
        out=out,
        exit_before_kill=exit_before_kill,
        after_kill=snapshot(out) if out.exists() else None,
        completeness=check_complete(out) if out.exists() else "no output folder",
        beside_after_kill=leftovers(out),
    )


@pytest.fixture(scope="module")
def kills(builds: Builds, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Killed]:
    """Every kill, one at a time (so the delays land in different stages); then every
    next build, in parallel (they only need to finish)."""
    done = {
        name: kill(name, builds, tmp_path_factory.mktemp(f"killed-{name}")) for name in TRIGGERS
    }

    def rebuild(k: Killed) -> None:
        k.next_proc = build(builds.data, NEW_AS_OF, k.out)
        k.after_next = snapshot(k.out) if k.out.exists() else {}
        k.beside_after_next = leftovers(k.out)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(rebuild, done.values()))
    return done


@pytest.mark.parametrize("trigger", sorted(TRIGGERS))
def test_a_killed_build_leaves_the_previous_or_the_new_output_never_a_mix(
    kills: dict[str, Killed], builds: Builds, trigger: str
) -> None:
    k = kills[trigger]
    previous = snapshot(builds.previous)
    state = f"killed {k.trigger}; beside --out afterwards: {k.beside_after_kill}"
    if k.after_kill is None:
        assert not k.had_previous, f"--out vanished ({state})"
        return  # a first build killed before its swap: no folder at all is right
    assert k.completeness == "", f"--out is not one complete build: {k.completeness} ({state})"
    assert k.after_kill in (previous, builds.new), (
        f"--out is complete per its manifest, but neither the earlier nor the new build ({state})"
    )
    if not k.had_previous:
        assert k.after_kill == builds.new


@pytest.mark.parametrize("trigger", sorted(TRIGGERS))
def test_the_next_build_succeeds_and_cleans_up_what_the_killed_one_left(
    kills: dict[str, Killed], builds: Builds, trigger: str
) -> None:
    k = kills[trigger]
    proc = k.next_proc
    assert proc is not None
    assert proc.returncode == 0, f"exit {proc.returncode}:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    assert k.after_next == builds.new, "the next build did not publish the new output"
    assert k.beside_after_next == [], (
        f"left beside --out after the next successful build: {k.beside_after_next} "
        f"(right after the kill at {k.trigger}: {k.beside_after_kill})"
    )


# =========================================================================== time limits


def _alarm_state() -> tuple[object, tuple[float, float]]:
    return signal.getsignal(signal.SIGALRM), signal.getitimer(signal.ITIMER_REAL)


@pytest.fixture
def clean_alarm() -> Iterator[None]:
    """Each time-limit test starts and ends with no SIGALRM handler or timer of its own."""
    handler, timer = _alarm_state()
    assert timer == (0.0, 0.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, handler)  # type: ignore[arg-type]


def spin(seconds: float) -> None:
    """Pure Python busy work, like a layout engine's loops."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


MESSAGE_END = (
    " and was stopped; a note this slow usually holds an oversized table, image or block of text"
)


@pytest.mark.usefixtures("clean_alarm")
@pytest.mark.parametrize("slow", [spin, time.sleep], ids=["busy", "sleeping"])
def test_a_slow_step_is_stopped_with_a_clear_message(slow: Callable[[float], None]) -> None:
    before = _alarm_state()
    started = time.monotonic()
    with pytest.raises(ReportgenError) as info, time_limit(0.2, "PDF rendering"):
        slow(10)
    elapsed = time.monotonic() - started
    assert isinstance(info.value, TimeLimitExceeded)
    assert str(info.value) == "PDF rendering took longer than 0.2 s" + MESSAGE_END
    assert info.value.lines() == [str(info.value)]
    assert info.value.exit_code == 2
    assert 0.2 <= elapsed < 2.0, elapsed
    assert _alarm_state() == before


@pytest.mark.usefixtures("clean_alarm")
def test_the_default_pdf_limit_reads_as_the_brief_says() -> None:
    assert PDF_RENDER_SECONDS == 60
    text = str(TimeLimitExceeded("PDF rendering", PDF_RENDER_SECONDS))
    assert text.startswith("PDF rendering took longer than 60 s")


@pytest.mark.usefixtures("clean_alarm")
def test_a_fast_step_is_untouched_and_nothing_goes_off_later() -> None:
    before = _alarm_state()
    with time_limit(0.1, "PDF rendering") as limit:
        assert limit.limited
        value = sum(range(1000))
    assert value == 499500
    assert not limit.fired and not limit.limited
    assert _alarm_state() == before
    time.sleep(0.25)  # past the limit: no stray alarm


@pytest.mark.usefixtures("clean_alarm")
def test_a_swallowed_interruption_still_fails_the_step() -> None:
    """Code that catches everything (WeasyPrint skipping an image) cannot hide the time-out."""
    carried_on = False
    with pytest.raises(TimeLimitExceeded), time_limit(0.1, "PDF rendering"):
        with contextlib.suppress(Exception):  # like WeasyPrint around an image it cannot load
            time.sleep(5)
        carried_on = True
    assert carried_on


@pytest.mark.usefixtures("clean_alarm")
@pytest.mark.parametrize("where", ["gc-callback", "callable-gc-callback", "finaliser", "finalize"])
def test_an_alarm_during_a_gc_callback_or_finaliser_is_raised_once_it_returns(
    where: str,
) -> None:
    """Python drops exceptions raised in gc callbacks and ``__del__`` ("Exception ignored").

    hypothesis and dask install gc callbacks; an alarm that lands in one must not be
    lost there (the block would then run to its end) but raised in the code it returns to.
    """
    dropped: list[object] = []
    returned_to_loop = threading.Event()

    def slow_callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            spin(0.4)  # the 0.1 s alarm goes off in here

    class Slow:
        def __del__(self) -> None:
            spin(0.4)

    class Box:
        pass

    class SlowCallback:
        def __call__(self, phase: str, info: dict[str, int]) -> None:
            slow_callback(phase, info)

    def work() -> None:
        if where in ("gc-callback", "callable-gc-callback"):
            callback = slow_callback if where == "gc-callback" else SlowCallback()
            gc.callbacks.append(callback)
            try:
                gc.collect()
            finally:
                gc.callbacks.remove(callback)
        elif where == "finaliser":
            Slow()  # finalised at once: its __del__ runs here
        else:
            box = Box()
            weakref.finalize(box, spin, 0.4)
            del box  # the collector runs the finalize callback here
        returned_to_loop.set()
        spin(5)

    previous_hook = sys.unraisablehook
    sys.unraisablehook = dropped.append
    started = time.monotonic()
    try:
        with pytest.raises(TimeLimitExceeded), time_limit(0.1, "PDF rendering"):
            work()
    finally:
        sys.unraisablehook = previous_hook
    assert dropped == []
    assert returned_to_loop.is_set()
    assert time.monotonic() - started < 2.0  # not after the 5 s of work


@pytest.mark.usefixtures("clean_alarm")
def test_an_interruption_turned_into_another_error_reports_the_time_out() -> None:
    with pytest.raises(TimeLimitExceeded) as info, time_limit(0.1, "PDF rendering"):
        try:
            spin(5)
        except Exception as exc:
            raise RuntimeError("layout failed") from exc
    assert isinstance(info.value.__cause__, RuntimeError)


@pytest.mark.usefixtures("clean_alarm")
def test_an_unrelated_error_passes_through() -> None:
    with pytest.raises(KeyError), time_limit(5, "PDF rendering"):
        raise KeyError("x")
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


@pytest.mark.usefixtures("clean_alarm")
def test_off_the_main_thread_there_is_no_limit() -> None:
    before = _alarm_state()
    seen: dict[str, object] = {}

    def work() -> None:
        try:
            with time_limit(0.05, "PDF rendering") as limit:
                time.sleep(0.2)
            seen["limited"] = limit.limited
        except BaseException as exc:  # pragma: no cover - reported below
            seen["error"] = exc

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(5)
    assert seen == {"limited": False}
    assert _alarm_state() == before


@pytest.mark.usefixtures("clean_alarm")
@pytest.mark.parametrize(("outer", "inner", "expected"), [(0.2, 5, "outer"), (5, 0.2, "inner")])
def test_limits_nest(outer: float, inner: float, expected: str) -> None:
    with (
        pytest.raises(TimeLimitExceeded) as info,
        time_limit(outer, "outer"),
        time_limit(inner, "inner"),
    ):
        spin(10)
    assert info.value.what == expected


@pytest.mark.usefixtures("clean_alarm")
def test_an_outer_limit_keeps_running_after_an_inner_one() -> None:
    with time_limit(5, "outer") as outer:
        with pytest.raises(TimeLimitExceeded), time_limit(0.1, "inner"):
            spin(5)
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 4.0 < remaining < 5.0, remaining
        assert not outer.fired
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


@pytest.mark.usefixtures("clean_alarm")
def test_an_earlier_handler_and_timer_are_put_back() -> None:
    calls: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        calls.append(signum)

    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.4)
    with time_limit(5, "PDF rendering"):
        time.sleep(0.05)
    assert signal.getsignal(signal.SIGALRM) is handler
    remaining, _ = signal.getitimer(signal.ITIMER_REAL)
    assert 0.2 < remaining <= 0.4, remaining
    time.sleep(0.6)
    assert calls == [signal.SIGALRM]


@pytest.mark.usefixtures("clean_alarm")
def test_an_earlier_timer_due_first_goes_to_its_own_handler() -> None:
    calls: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        calls.append(signum)

    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    with time_limit(0.4, "PDF rendering") as limit:
        time.sleep(0.25)  # the earlier timer goes off in here; ours keeps running
        assert calls == [signal.SIGALRM]
        assert not limit.fired
    assert signal.getsignal(signal.SIGALRM) is handler
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


@pytest.mark.parametrize("seconds", [0, -1, float("nan"), float("inf"), True, "60"])
def test_a_limit_must_be_a_positive_number(seconds: object) -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        time_limit(seconds, "PDF rendering")  # type: ignore[arg-type]


@pytest.mark.usefixtures("clean_alarm")
def test_no_limit_when_none() -> None:
    with time_limit(None, "PDF rendering") as limit:
        assert not limit.limited
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def page(body: str) -> str:
    return f"<!DOCTYPE html><html lang='en'><head><title>T</title></head><body>{body}</body></html>"


@pytest.mark.usefixtures("clean_alarm")
def test_a_real_weasyprint_render_is_stopped_and_the_next_one_works() -> None:
    from pypdf import PdfReader

    from reportgen.render_pdf import render_pdf

    rows = "".join(f"<tr><td>Row {i}</td><td>{i * 1.5:.1f}</td></tr>" for i in range(4000))
    big = page(f"<table>{rows}</table>")
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded) as info, time_limit(0.3, "PDF rendering"):
        render_pdf(big, title="T", author="A", subject="S")
    assert time.monotonic() - started < 15  # the whole render would take far longer
    assert str(info.value).startswith("PDF rendering took longer than 0.3 s and was stopped")
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)

    small = page("<p>Fine.</p>")
    with time_limit(60, "PDF rendering"):
        pdf = render_pdf(small, title="T", author="A", subject="S")
    assert "Fine." in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
