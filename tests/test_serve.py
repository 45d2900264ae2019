"""``reportgen serve``: the live preview, over HTTP and in a real browser.

Each test serves a copy of ``config/`` and ``data/sample`` (in ``tmp_path``) on a
free loopback port, edits the copies and waits (polling, bounded) for the
served page to follow. The browser test drives Debian's headless Chromium
through the DevTools protocol over ``--remote-debugging-pipe`` (JSON messages
on file descriptors 3 and 4), so it needs no Python package beyond the
standard library: it opens the page once, edits a commentary file, and waits
until that same page, never reloaded by the test, shows the new sentence.
"""

from __future__ import annotations

import contextlib
import fcntl
import html
import json
import logging
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import pytest

import reportgen.serve
from reportgen.errors import UsageError
from reportgen.render_html import BUILTIN_TEMPLATES
from reportgen.serve import Server, load_inputs, render_note_html

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"
CONFIG_NAME = "ai_etf_monthly.yaml"
SAMPLE = ROOT / "data" / "sample"
GOLDEN = ROOT / "tests" / "golden" / "ai_etf_monthly-2026-03-31.html"
AS_OF = date(2026, 3, 31)
#: Debian's chromium package; the setup script installs it (override: REPORTGEN_CHROMIUM).
CHROMIUM = Path(os.environ.get("REPORTGEN_CHROMIUM", "/usr/bin/chromium"))
POLL = 0.1  # the watcher's interval in these tests (the default is 0.3 s)
PATIENCE = 30.0  # seconds to wait for a rebuild to show (generous: CI machines may be loaded)

T = TypeVar("T")


def headline() -> str:
    """The sample note's headline as of AS_OF (pinned by the golden file)."""
    match = re.search(r"<title>(.*?)</title>", GOLDEN.read_text(encoding="utf-8"))
    assert match is not None
    return html.unescape(match.group(1))


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the sample config (with its commentary) and of the sample dataset."""
    shutil.copytree(CONFIG_DIR, tmp_path / "config")
    shutil.copytree(SAMPLE, tmp_path / "data")
    return tmp_path / "config" / CONFIG_NAME, tmp_path / "data"


@pytest.fixture
def server(project: tuple[Path, Path]) -> Iterator[Server]:
    config, data = project
    with Server(config, data, AS_OF, port=0, poll_interval=POLL) as running:
        running.wait_for_build()
        yield running


def fetch(
    url: str, *, host: str | None = None, method: str = "GET"
) -> tuple[int, str, dict[str, str]]:
    """Status, body and headers of one request (error statuses included)."""
    request = urllib.request.Request(url, method=method)
    if host is not None:
        request.add_unredirected_header("Host", host)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode("utf-8"), dict(response.headers)
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.read().decode("utf-8", "replace"), dict(err.headers)


def page_text(url: str) -> str:
    status, body, _ = fetch(url)
    assert status == 200
    return body


def wait_until(probe: Callable[[], T | None], what: str, timeout: float = PATIENCE) -> T:
    """Call ``probe`` until it returns something other than None (or fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def wait_for_page(server: Server, predicate: Callable[[str], bool], what: str) -> str:
    def probe() -> str | None:
        body = page_text(server.url)
        return body if predicate(body) else None

    return wait_until(probe, what)


def strip_reload_script(page: str) -> str:
    return re.sub(r"<script nonce=\"[^\"]+\">.*?</script>\n", "", page, flags=re.DOTALL)


def add_sentence(commentary: Path, sentence: str) -> None:
    text = commentary.read_text(encoding="utf-8")
    commentary.write_text(text.rstrip("\n") + f"\n\n{sentence}\n", encoding="utf-8")


# --------------------------------------------------------------------------- over HTTP


def test_serves_the_note_and_follows_every_edit(server: Server, project: tuple[Path, Path]) -> None:
    config, data = project
    assert server.url.startswith("http://127.0.0.1:")
    assert server.port != 0

    first = page_text(server.url)
    assert f"<title>{html.escape(headline(), quote=False)}</title>" in first
    # the served copy is report.html plus the reload script, and only the served copy has it
    loaded, dataset, problems = load_inputs(config, data)
    assert loaded is not None and dataset is not None and not problems
    built = render_note_html(loaded, dataset, AS_OF)
    assert "<script" not in built
    assert first.count("<script") == 1
    assert strip_reload_script(first) == built
    status, version, _ = fetch(server.url + "__version")
    assert (status, version) == (200, server.page.version)

    # a commentary file changes: the page follows
    sentence = "Live preview check: this sentence was added by the test 5d41402a."
    add_sentence(config.parent / "commentary" / "context.md", sentence)
    wait_for_page(server, lambda body: sentence in body, "the added sentence")
    assert fetch(server.url + "__version")[1] != version

    # the config breaks: the page lists the problem with file and line; the server lives on
    text = config.read_text(encoding="utf-8")
    assert text.count("fact: theme.aum.total") == 1
    line = text[: text.index("fact: theme.aum.total")].count("\n") + 1
    config.write_text(text.replace("fact: theme.aum.total", "fact: theme.aum.nope"), "utf-8")
    broken = wait_for_page(server, lambda body: "unknown fact id" in body, "the error page")
    shown = html.unescape(broken)
    assert f"{config}:{line}:" in shown
    assert "unknown fact id 'theme.aum.nope'" in shown
    assert broken.count("<script") == 1  # the error page reloads itself too
    assert not server.page.ok
    assert fetch(server.url + "__version")[0] == 200

    # fixed: the note is back, with the sentence
    config.write_text(text, encoding="utf-8")
    back = wait_for_page(server, lambda body: "unknown fact id" not in body, "the fixed note")
    assert sentence in back and html.escape(headline(), quote=False) in back
    assert server.page.ok


def test_dataset_and_template_changes_rebuild(server: Server, project: tuple[Path, Path]) -> None:
    config, data = project
    # a bad row in the dataset: the page names the file and line
    prices = data / "prices.csv"
    good = prices.read_bytes()
    bad_line = good.count(b"\n") + 1
    prices.write_bytes(good + b"2026-03-31,NWAI,1.5\n")
    broken = wait_for_page(server, lambda body: "prices.csv" in body, "the dataset error")
    assert f"{prices}:{bad_line}: expected 4 fields" in html.unescape(broken)
    prices.write_bytes(good)
    wait_for_page(server, lambda body: "prices.csv:" not in body, "the repaired dataset")

    # a template folder named in the config, then a stylesheet added to it
    text = config.read_text(encoding="utf-8")
    (config.parent / "mytemplates").mkdir()
    before = server.builds
    config.write_text(
        text.replace("page_size: A4", "page_size: A4\ntemplates: mytemplates"), encoding="utf-8"
    )
    wait_until(lambda: True if server.builds > before else None, "the config with templates")
    assert server.page.ok, server.page.problems
    css = (BUILTIN_TEMPLATES / "note.css").read_text(encoding="utf-8")
    (config.parent / "mytemplates" / "note.css").write_text(
        css + "\n.rg-live-check { color: inherit; }\n", encoding="utf-8"
    )
    wait_for_page(server, lambda body: ".rg-live-check" in body, "the user stylesheet")


def test_serves_only_the_page_and_its_version(server: Server, project: tuple[Path, Path]) -> None:
    _config, _ = project
    for path in (
        "config/" + CONFIG_NAME,
        CONFIG_NAME,
        "commentary/context.md",
        "data/prices.csv",
        "../" + CONFIG_NAME,
        "%2e%2e/config/" + CONFIG_NAME,
        "__version/x",
        "index.html",
        "favicon.ico",
    ):
        status, body, _ = fetch(server.url + path)
        assert status == 404, path
        assert "theme" not in body
    status, body, headers = fetch(server.url)
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert "script-src 'nonce-" in headers["Content-Security-Policy"]
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    # a page elsewhere cannot read the note through a rebound host name
    status, body, _ = fetch(server.url, host=f"attacker.example:{server.port}")
    assert status == 403 and "theme" not in body
    assert fetch(server.url, host=f"localhost:{server.port}")[0] == 200
    assert fetch(server.url, method="POST")[0] == 501
    assert fetch(server.url, method="HEAD")[0] == 200


def test_unexpected_error_shows_escaped_traceback(
    project: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config, data = project

    def broken(*args: Any) -> str:
        raise RuntimeError("boom <script>alert(1)</script>")

    monkeypatch.setattr(reportgen.serve, "render_note_html", broken)
    server = Server(config, data, AS_OF, port=0)
    try:
        with caplog.at_level(logging.ERROR, logger="reportgen.serve"):
            page = server.rebuild()
    finally:
        server.stop()
    assert not page.ok
    assert "Traceback (most recent call last)" in page.html
    assert "RuntimeError: boom &lt;script&gt;alert(1)&lt;/script&gt;" in page.html
    assert "<script>alert" not in page.html
    assert any("unexpected error" in r.getMessage() and r.exc_info for r in caplog.records)


def test_a_port_in_use_is_a_usage_error(project: tuple[Path, Path]) -> None:
    config, data = project
    first = Server(config, data, AS_OF, port=0)  # bound, not started: nothing is built
    try:
        with pytest.raises(UsageError, match=rf"cannot serve on 127\.0\.0\.1:{first.port}: "):
            Server(config, data, AS_OF, port=first.port)
        assert first.builds == 0
    finally:
        first.stop()


def test_serve_prints_the_address_and_stops_cleanly_on_ctrl_c(
    project: tuple[Path, Path],
) -> None:
    config, data = project
    code = (
        "import sys; from datetime import date; from pathlib import Path; "
        "from reportgen.serve import serve; "
        "serve(Path(sys.argv[1]), Path(sys.argv[2]), date(2026, 3, 31), 0)"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code, str(config), str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            match = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
            assert match, first
            url = match.group(0)
            wait_until(
                lambda: True if headline() in html.unescape(page_text(url)) else None, "the note"
            )
            proc.send_signal(signal.SIGINT)
            _out, err = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "Stopped." in err


# --------------------------------------------------------------------------- in a browser

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--mute-audio",
    "--remote-debugging-pipe",
)


class Chromium:
    """Headless Chromium driven through the DevTools protocol on a pipe (fds 3 and 4)."""

    def __init__(self, executable: Path, profile: Path, log: Path) -> None:
        to_browser_r, self._send_fd = os.pipe()
        self._recv_fd, from_browser_w = os.pipe()
        # the child's ends, moved above 9 so bash can put them on 3 and 4 without a clash
        child_in = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
        child_out = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
        os.close(to_browser_r)
        os.close(from_browser_w)
        script = f'exec "$@" 3<&{child_in} 4>&{child_out} {child_in}<&- {child_out}>&-'
        self._log = log.open("wb")
        try:
            self.proc = subprocess.Popen(
                [
                    "bash",
                    "-c",
                    script,
                    "bash",
                    str(executable),
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={profile}",
                    "about:blank",
                ],
                pass_fds=(child_in, child_out),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=self._log,
                start_new_session=True,  # its helper processes form our own group
            )
        finally:
            os.close(child_in)
            os.close(child_out)
        self.log_path = log
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float = 15.0,
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        try:
            os.write(self._send_fd, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise RuntimeError(f"Chromium is not running; its log:\n{self._log_tail()}") from None
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply["result"]
                return result
            self.events.append(reply)

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer from Chromium; its log: {self.log_path}")
            ready, _, _ = select.select([self._recv_fd], [], [], left)
            if ready:
                chunk = os.read(self._recv_fd, 1 << 16)
                if not chunk:
                    tail = self._log_tail()
                    raise RuntimeError(f"Chromium closed the DevTools pipe; its log:\n{tail}")
                self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        return message

    def _log_tail(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-2000:]

    def evaluate(self, session: str, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session
        )
        return result["result"].get("value")

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError, TimeoutError):
            self.call("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        os.close(self._send_fd)
        os.close(self._recv_fd)
        self._log.close()


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium; missing, the test fails (never skips) saying how to install it."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"the live-reload browser test needs headless Chromium at {CHROMIUM}, found none: "
            "run 'bash scripts/setup.sh --dev' (it installs the Debian package chromium), "
            "or set REPORTGEN_CHROMIUM to a Chromium executable"
        )
    return CHROMIUM


def test_the_open_page_reloads_itself_in_a_real_browser(
    chromium: Path, server: Server, project: tuple[Path, Path], tmp_path: Path
) -> None:
    config, _ = project
    browser = Chromium(chromium, tmp_path / "chromium-profile", tmp_path / "chromium.log")
    try:
        target = browser.call("Target.createTarget", {"url": server.url})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        browser.call("Runtime.enable", session=session)
        browser.call("Log.enable", session=session)

        def body_text() -> str:
            text = browser.evaluate(session, "document.body ? document.body.innerText : ''")
            return text if isinstance(text, str) else ""

        title = headline()
        wait_until(lambda: True if title in body_text() else None, "the note in the browser")
        # a mark on this very document: a reload by the page itself clears it
        browser.evaluate(session, "window.__testMark = 'before'; true")

        sentence = "Browser check: the open page picked up this sentence 8f14e45f."
        add_sentence(config.parent / "commentary" / "context.md", sentence)
        wait_until(lambda: True if sentence in body_text() else None, "the sentence in the page")

        assert title in body_text()
        assert browser.evaluate(session, "location.href") == server.url
        assert browser.evaluate(session, "typeof window.__testMark") == "undefined"
        navigation = "performance.getEntriesByType('navigation')[0].type"
        assert browser.evaluate(session, navigation) == "reload"
        targets = browser.call("Target.getTargets")["targetInfos"]
        assert [t["targetId"] for t in targets if t["type"] == "page"].count(target) == 1
        # the inline reload script runs under the page's Content-Security-Policy
        blocked = [
            e
            for e in browser.events
            if "Content Security Policy" in json.dumps(e.get("params", {}))
        ]
        assert not blocked, blocked
    finally:
        browser.close()
