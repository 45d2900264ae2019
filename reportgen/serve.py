"""``reportgen serve``: a live preview of a note while it is written.

The note is built as HTML only (load -> facts -> document -> HTML, the stages of
:func:`reportgen.build.build` without the PDF and nothing written to disk) and
served on the loopback interface. A background thread polls the modification
times of every input (the config, its commentary files, the template folders and
the dataset's files) every ``POLL_SECONDS`` and rebuilds on any change; the
served copy of the page carries a tiny inline script that polls ``/__version``
and reloads the page when a new build is ready. ``report.html`` built by
``reportgen build`` never contains that script: it is added to the response only.

A build that fails does not stop the server: the page then lists the problems
(``PATH:LINE: ...`` lines of a :class:`ReportgenError`, or the traceback of an
unexpected error, which is also logged), escaped, and still reloads itself, so
fixing the file brings the note back.

What is served: ``/`` (the note) and ``/__version`` (the build's version), nothing
else; no file is ever read from disk on a request, and a request whose ``Host``
is not the server's own address is refused (so a web page cannot read the note
through DNS rebinding). The server binds to 127.0.0.1 only.

Polling ``os.stat`` needs no dependency and behaves the same on every file
system (network drives and containers included, where inotify-based watchers
miss changes); with a few dozen files it costs nothing measurable.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import secrets
import sys
import threading
import time
import traceback
import webbrowser
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from reportgen.build import template_dirs
from reportgen.config import LoadedConfig, load_config
from reportgen.dataset import CSV_FILES, SOURCES_FILE, Dataset, load_dataset
from reportgen.errors import InputError, Problem, ReportgenError, UsageError
from reportgen.paths import resolve_inside

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
DEFAULT_PORT = 8765
#: Seconds between two looks at the inputs' modification times.
POLL_SECONDS = 0.3
#: Milliseconds between two requests of the page to ``/__version``.
RELOAD_POLL_MS = 300
VERSION_PATH = "/__version"
#: Margin between the clock and file modification times (coarse on some file systems).
CLOCK_SLACK_NS = 2_000_000_000

Stamp = tuple[int, int, int] | None


# --------------------------------------------------------------------------- building


def load_inputs(
    config_path: Path, data_dir: Path
) -> tuple[LoadedConfig | None, Dataset | None, list[Problem]]:
    """The config and the dataset, each None when it has problems (all reported together)."""
    problems: list[Problem] = []
    config = dataset = None
    try:
        config = load_config(config_path)
    except InputError as exc:
        problems += exc.problems
    try:
        dataset = load_dataset(data_dir)
    except InputError as exc:
        problems += exc.problems
    return config, dataset, problems


def render_note_html(
    config: LoadedConfig, dataset: Dataset, as_of: date, subject: str | None = None
) -> str:
    """The note's HTML exactly as ``reportgen build`` writes ``report.html`` (no PDF);
    for a one-fund report, ``subject``'s."""
    from reportgen.build import compose_for
    from reportgen.render_html import render_html

    document = compose_for(config, dataset, as_of, subject)
    return render_html(document, template_dirs=template_dirs(config))


@dataclass(frozen=True)
class Page:
    """One build's outcome: the note, or the problems that stopped it."""

    version: str
    html: str
    ok: bool
    #: the error lines shown on the page (empty when the build worked)
    problems: tuple[str, ...] = ()


def error_page(
    title: str,
    lines: Iterable[str],
    details: str = "",
    intro: str = "Fix the problem and save the file: this page reloads by itself.",
) -> str:
    """A small page listing ``lines`` (and a traceback in ``details``), all escaped."""
    items = "\n".join(f"<li><code>{html.escape(line)}</code></li>" for line in lines)
    pre = f"<pre>{html.escape(details)}</pre>" if details else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)} - reportgen serve</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; }}
body {{ padding: 0 1.5rem; color: #222; }}
h1 {{ font-size: 1.3rem; color: #9b1c1c; }}
li {{ margin: .4rem 0; }}
code, pre {{ font-family: ui-monospace, monospace; font-size: .85rem; white-space: pre-wrap; }}
pre {{ background: #f6f6f6; padding: 1rem; overflow-x: auto; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(intro)}</p>
<ul class="problems">
{items}
</ul>
{pre}
</body>
</html>
"""


def reload_script(version: str, nonce: str) -> str:
    """The inline script of the served page: poll ``/__version``, reload when it changes."""
    return (
        f'<script nonce="{nonce}">\n'
        "(function () {\n"
        f"  var version = {json.dumps(version)};\n"
        "  function poll() {\n"
        f'    fetch("{VERSION_PATH}", {{cache: "no-store"}})\n'
        "      .then(function (r) { return r.ok ? r.text() : version; })\n"
        "      .then(function (v) {\n"
        "        if (v.trim() !== version) { location.reload(); }\n"
        f"        else {{ setTimeout(poll, {RELOAD_POLL_MS}); }}\n"
        "      }, function () { setTimeout(poll, 1000); });\n"
        "  }\n"
        f"  setTimeout(poll, {RELOAD_POLL_MS});\n"
        "})();\n"
        "</script>\n"
    )


def inject(page_html: str, script: str) -> str:
    """``page_html`` with ``script`` just before its last ``</body>`` (or at the end)."""
    at = page_html.lower().rfind("</body")
    if at < 0:
        return page_html + script
    return page_html[:at] + script + page_html[at:]


# --------------------------------------------------------------------------- watching


def _stamp(path: Path) -> Stamp:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _tree(folder: Path) -> set[Path]:
    """A folder, its subfolders and files (folders too: adding a file changes their time)."""
    found = {folder}
    with contextlib.suppress(OSError, RuntimeError):
        found.update(folder.rglob("*"))
    return found


def watched_paths(config_path: Path, data_dir: Path, config: LoadedConfig | None) -> set[Path]:
    """Every input of a build: config, commentary files, template folders, dataset files."""
    from reportgen.render_html import BUILTIN_TEMPLATES

    paths = {config_path, data_dir / SOURCES_FILE}
    paths.update(data_dir / f"{stem}.{ext}" for stem in CSV_FILES for ext in ("csv", "parquet"))
    folders = [BUILTIN_TEMPLATES]
    if config is not None:
        for section in config.model.sections:
            for block in section.blocks:
                if block.paragraph_file is not None:
                    # a path the build refuses (outside the folder, a symlink loop) is not read
                    with contextlib.suppress(ValueError, OSError, RuntimeError):
                        paths.add(resolve_inside(config.path.parent, block.paragraph_file))
        with contextlib.suppress(InputError):
            folders += template_dirs(config)
    for folder in folders:
        paths |= _tree(folder)
    return paths


# --------------------------------------------------------------------------- the server


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    timeout = 10  # seconds a client may take to send its request

    def version_string(self) -> str:
        return "reportgen-serve"

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, *, body: bool) -> None:
        owner = self.server.owner
        host = self.headers.get("Host")
        if host is not None and host.lower() not in owner.allowed_hosts:
            self._send(HTTPStatus.FORBIDDEN, "text/plain", b"unknown host\n", body=body)
            return
        path = self.path.split("?", 1)[0]
        page = owner.page
        if path == VERSION_PATH:
            self._send(HTTPStatus.OK, "text/plain", page.version.encode(), body=body)
        elif path == "/":
            nonce = secrets.token_urlsafe(16)
            text = inject(page.html, reload_script(page.version, nonce))
            csp = (
                "default-src 'none'; img-src data:; font-src data:; style-src 'unsafe-inline'; "
                f"script-src 'nonce-{nonce}'; connect-src 'self'; base-uri 'none'; "
                "form-action 'none'; frame-ancestors 'none'"
            )
            self._send(HTTPStatus.OK, "text/html", text.encode("utf-8"), body=body, csp=csp)
        else:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n", body=body)

    def _send(
        self,
        status: HTTPStatus,
        kind: str,
        content: bytes,
        *,
        body: bool,
        csp: str | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if csp is not None:
            self.send_header("Content-Security-Policy", csp)
        self.end_headers()
        if body:
            self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, owner: Server) -> None:
        self.owner = owner
        super().__init__((HOST, port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a browser closing a connection mid-response is routine, not worth a traceback
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        log.exception("error while answering %s", client_address)


class Server:
    """The preview server: start it (in threads), read ``url``, stop it.

    ``Server(...)`` binds the port at once (``port=0`` picks a free one, then read
    ``port``) and raises :class:`UsageError` if it cannot. ``start()`` runs the
    watcher (which makes the first build) and the HTTP server in background
    threads; ``serve_forever()`` runs the HTTP server in the calling thread until
    ``stop()`` or Ctrl-C; ``stop()`` ends both and closes the socket. Also a
    context manager (``with Server(...) as server:`` starts and stops it).
    """

    def __init__(
        self,
        config: Path,
        data_dir: Path,
        as_of: date,
        port: int = DEFAULT_PORT,
        *,
        poll_interval: float = POLL_SECONDS,
        subject: str | None = None,
    ) -> None:
        self.config_path = Path(config)
        self.subject = subject
        self.data_dir = Path(data_dir)
        self.as_of = as_of
        self.poll_interval = poll_interval
        self._instance = secrets.token_hex(4)
        self._builds = 0
        self._page = Page(
            f"{self._instance}-0",
            error_page(
                "Building the note ...",
                [f"{self.config_path} with {self.data_dir}"],
                intro="This page shows the note by itself as soon as it is built.",
            ),
            ok=False,
        )
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        # what a build reads whatever the config says; the rest is known after a build
        self._watched: set[Path] = watched_paths(self.config_path, self.data_dir, None)
        self._threads: list[threading.Thread] = []
        self._serving = False
        try:
            self._httpd = _HTTPServer(port, self)
        except (OSError, OverflowError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise UsageError(
                f"cannot serve on {HOST}:{port}: {reason}"
                + (" (use --port to pick another, or --port 0 for any free one)" if port else "")
            ) from None
        self.port: int = self._httpd.server_address[1]
        self.url = f"http://{HOST}:{self.port}/"
        self.allowed_hosts = frozenset({f"{HOST}:{self.port}", f"localhost:{self.port}"})

    # -- state ---------------------------------------------------------------------
    @property
    def page(self) -> Page:
        """The page now served (the note, or the problems of the last build)."""
        with self._changed:
            return self._page

    @property
    def builds(self) -> int:
        """How many builds have finished (worked or failed)."""
        with self._changed:
            return self._builds

    def wait_for_build(self, after: int = 0, timeout: float = 30.0) -> Page:
        """Wait until more than ``after`` builds have finished; the page then served."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._builds > after, timeout):
                raise TimeoutError(f"no build finished within {timeout} s")
            return self._page

    # -- building ------------------------------------------------------------------
    def rebuild(self) -> Page:
        """Build once and serve the outcome (what the watcher calls on a change)."""
        start = time.perf_counter()
        problems: tuple[str, ...] = ()
        config: LoadedConfig | None = None
        try:
            config, dataset, found = load_inputs(self.config_path, self.data_dir)
            if config is None or dataset is None:
                raise InputError(found)
            note = render_note_html(config, dataset, self.as_of, self.subject)
        except ReportgenError as exc:
            problems = tuple(exc.lines())
            note = error_page("The note could not be built", problems)
            log.warning("build failed:\n%s", "\n".join(problems))
        except Exception as exc:  # a bug in reportgen: show it, keep serving
            details = traceback.format_exc()
            problems = (f"unexpected error: {type(exc).__name__}: {exc}",)
            note = error_page("Unexpected error (a bug in reportgen)", problems, details)
            log.exception("build failed with an unexpected error")
        else:
            log.info("built %s in %.1f s", self.config_path, time.perf_counter() - start)
        self._watched = watched_paths(self.config_path, self.data_dir, config)
        with self._changed:
            self._builds += 1
            self._page = Page(f"{self._instance}-{self._builds}", note, not problems, problems)
            self._changed.notify_all()
            return self._page

    def _watch(self) -> None:
        stamps: dict[Path, Stamp] | None = None
        while not self._stopping.is_set():
            before = {path: _stamp(path) for path in self._watched}
            if before != stamps:
                started = time.time_ns()
                self.rebuild()
                # Stamps from before the build, so a change made during it triggers another
                # build. Files first watched now (the commentary a new config names) were
                # read by the build before they could be stamped: one changed lately may
                # have changed after it was read, so it is built again to be sure.
                stamps = {}
                for path in self._watched:
                    if path in before:
                        stamps[path] = before[path]
                    else:
                        now = _stamp(path)
                        recent = now is not None and now[0] >= started - CLOCK_SLACK_NS
                        stamps[path] = None if recent else now
            self._stopping.wait(self.poll_interval)

    # -- running -------------------------------------------------------------------
    def _start_watcher(self) -> None:
        thread = threading.Thread(target=self._watch, name="reportgen-serve-watch", daemon=True)
        self._threads.append(thread)
        thread.start()

    def start(self) -> None:
        """Start watching and serving in background threads; return at once."""
        self._start_watcher()
        self._serving = True
        thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="reportgen-serve-http",
            daemon=True,
        )
        self._threads.append(thread)
        thread.start()

    def serve_forever(self) -> None:
        """Watch in the background and serve in this thread until ``stop()`` or Ctrl-C."""
        self._start_watcher()
        self._serving = True
        try:
            self._httpd.serve_forever(poll_interval=0.1)
        finally:
            self._serving = False

    def stop(self) -> None:
        """Stop serving and watching, wait for both threads, close the socket."""
        self._stopping.set()
        if self._serving:
            self._httpd.shutdown()
            self._serving = False
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()
        self._threads.clear()
        self._httpd.server_close()

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    config: Path,
    data_dir: Path,
    as_of: date,
    port: int,
    *,
    open_browser: bool = False,
    ready: Callable[[int], None] | None = None,
    subject: str | None = None,
) -> None:
    """Serve a live preview of ``config`` until Ctrl-C (see the module docstring).

    Prints the address on stdout; build outcomes go to stderr through the
    ``reportgen.serve`` logger. ``ready(port)`` is called once the port is bound.
    """
    server = Server(config, data_dir, as_of, port, subject=subject)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    added = not log.handlers
    if added:
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    try:
        print(f"Serving {config} at {server.url} (press Ctrl-C to stop)", flush=True)
        if ready is not None:
            ready(server.port)
        if open_browser:
            webbrowser.open(server.url)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            server.stop()
        if added:
            log.removeHandler(handler)
            log.propagate = True
            log.setLevel(logging.NOTSET)
        print("Stopped.", file=sys.stderr, flush=True)


__all__ = [
    "DEFAULT_PORT",
    "HOST",
    "Page",
    "Server",
    "error_page",
    "inject",
    "load_inputs",
    "render_note_html",
    "serve",
    "watched_paths",
]
