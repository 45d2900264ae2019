"""The PDF helper process: the same bytes as a render in process, errors as the user would
see them, a fallback when it fails, and no helper left behind when its build dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from reportgen.build import make_files
from reportgen.errors import ReportgenError
from reportgen.pdf_types import EmbeddedFile, PdfOptions
from reportgen.render_process import PdfHelper, RenderError, Request, render_here

ROOT = Path(__file__).resolve().parent.parent
NOTE = ROOT / "config" / "ai_etf_monthly.yaml"
SAMPLE = ROOT / "data" / "sample"
AS_OF = date(2026, 3, 31)


def page(body: str) -> str:
    return f"<!DOCTYPE html><html lang='en'><head><title>T</title></head><body>{body}</body></html>"


def request(html: str, seconds: float = 60.0) -> Request:
    return Request(
        html,
        title="T",
        author="A",
        subject="S",
        keywords=("k",),
        created=datetime(2026, 3, 31, tzinfo=UTC),
        options=PdfOptions(variant="pdf/a-3b", draft_mark="Draft"),
        attachments=(EmbeddedFile("facts.json", b"{}", "facts"),),
        seconds=seconds,
    )


def started() -> PdfHelper:
    helper = PdfHelper.start()
    assert helper is not None
    return helper


def test_the_helpers_pdf_is_the_one_rendered_in_process() -> None:
    req = request(page("<h1>Flows</h1><p>Theme ETFs took in $4.2bn.</p>"))
    from_helper = started().render(req)
    assert from_helper is not None
    here = render_here(req)
    assert from_helper.pdf == here.pdf
    assert from_helper.pages == here.pages == 1


def test_a_whole_build_through_the_helper_matches_one_without(tmp_path: Path) -> None:
    with_helper = make_files(NOTE, SAMPLE, AS_OF, pdf_helper=started())
    without = make_files(NOTE, SAMPLE, AS_OF)
    assert with_helper.files == without.files


def test_a_render_that_takes_too_long_fails_as_it_would_in_process() -> None:
    rows = "".join(f"<tr><td>Row {i}</td><td>{i * 1.5:.1f}</td></tr>" for i in range(4000))
    with pytest.raises(RenderError) as info:
        started().render(request(page(f"<table>{rows}</table>"), seconds=0.3))
    assert isinstance(info.value, ReportgenError)
    assert info.value.exit_code == 2
    (line,) = info.value.lines()
    assert line.startswith("PDF rendering took longer than 0.3 s and was stopped")


def test_a_dead_helper_means_rendering_here() -> None:
    helper = started()
    helper.proc.kill()
    helper.proc.wait()
    assert helper.render(request(page("<p>x</p>"))) is None


def test_a_helper_that_crashes_means_rendering_here() -> None:
    bad = request(page("<p>x</p>"))
    object.__setattr__(bad, "html", None)  # not text: WeasyPrint raises a TypeError
    assert started().render(bad) is None


def test_a_build_killed_takes_its_helper_with_it(tmp_path: Path) -> None:
    """The helper waits on the build's pipe: when the build dies, the helper ends too."""
    script = (
        "import sys, time\n"
        "from reportgen.render_process import PdfHelper\n"
        "h = PdfHelper.start()\n"
        "print(h.proc.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    build = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert build.stdout is not None
    with build.stdout:
        helper_pid = int(build.stdout.readline())
    os.kill(build.pid, signal.SIGKILL)
    build.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _alive(helper_pid):
        time.sleep(0.1)
    assert not _alive(helper_pid)


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
