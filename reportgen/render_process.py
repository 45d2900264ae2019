"""Render a build's PDF in a helper process, started when the build starts.

Why: importing WeasyPrint costs about 0.4 s (cffi parses Pango's C declarations), and a
cold build spends its first second reading data, computing facts and drawing charts,
none of which needs WeasyPrint. A helper started first imports it on the second core
meanwhile, then renders the finished HTML with the same code, options and time limit,
so its PDF is byte for byte the one an in-process render writes.

Protocol: the build writes one pickled :class:`Request` to the helper's stdin and reads
one pickled reply from a pipe of its own (the helper's stdout goes to stderr, so nothing
a library prints can corrupt the reply): ``("ok", PdfResult)``, or ``("error", lines,
exit_code)`` for a problem the user must see (a time-out, a refused URL), or
``("crash", text)``.

The helper only ever saves time: if it cannot start, crashes or dies, :meth:`PdfHelper.
render` returns None and the build renders in its own process. If the build dies, the
helper reads the end of its stdin (or fails writing its reply) and exits.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reportgen.errors import ReportgenError
from reportgen.pdf_types import EmbeddedFile, PdfOptions, PdfResult


@dataclass(frozen=True)
class Request:
    """The arguments of one :func:`reportgen.render_pdf.render_pdf_result` call."""

    html: str
    title: str
    author: str
    subject: str
    keywords: tuple[str, ...]
    created: datetime | None
    options: PdfOptions
    attachments: tuple[EmbeddedFile, ...] = field(default=())
    #: the wall-clock limit of the render, in seconds
    seconds: float = 60.0


class RenderError(ReportgenError):
    """A problem the helper met that the user must see, with its lines and exit status."""

    def __init__(self, lines: list[str], exit_code: int) -> None:
        self._lines = lines
        self.exit_code = exit_code
        super().__init__("\n".join(lines))

    def lines(self) -> list[str]:
        return list(self._lines)


class PdfHelper:
    """A helper process waiting for one render (see the module docstring)."""

    def __init__(self, proc: subprocess.Popen[bytes], reply_fd: int) -> None:
        self.proc = proc
        self._reply_fd = reply_fd

    @classmethod
    def start(cls) -> PdfHelper | None:
        """Start a helper (None if it cannot be started: the build renders itself)."""
        read_fd, write_fd = os.pipe()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "reportgen.render_process", str(write_fd)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                pass_fds=(write_fd,),
                close_fds=True,
            )
        except OSError:
            os.close(read_fd)
            return None
        finally:
            os.close(write_fd)
        return cls(proc, read_fd)

    def render(self, request: Request) -> PdfResult | None:
        """The helper's render of ``request``; None when the helper failed (render here).

        A problem for the user (the render took too long, the HTML fetched a refused
        URL) is raised as :class:`RenderError`, as the render in process would raise it.
        """
        try:
            assert self.proc.stdin is not None
            pickle.dump(request, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.proc.stdin.close()
            with os.fdopen(self._reply_fd, "rb", closefd=True) as reply_file:
                self._reply_fd = -1
                reply = pickle.load(reply_file)
        except (OSError, EOFError, pickle.UnpicklingError, ValueError, AttributeError):
            return None
        finally:
            self.close()
        if reply[0] == "ok" and isinstance(reply[1], PdfResult):
            return reply[1]
        if reply[0] == "error":
            raise RenderError(list(reply[1]), int(reply[2]))
        return None

    def close(self) -> None:
        """Stop the helper (if still running) and release its pipes."""
        if self._reply_fd >= 0:
            os.close(self._reply_fd)
            self._reply_fd = -1
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        if self.proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


def render_here(request: Request) -> PdfResult:
    """Render a request in this process, under its time limit (the helper does this, and
    the build itself when there is no helper)."""
    from reportgen.render_limits import time_limit
    from reportgen.render_pdf import render_pdf_result

    with time_limit(request.seconds, "PDF rendering"):
        return render_pdf_result(
            request.html,
            title=request.title,
            author=request.author,
            subject=request.subject,
            keywords=request.keywords,
            created=request.created,
            options=request.options,
            attachments=request.attachments,
        )


def _serve(reply_fd: int) -> int:
    """The helper: import WeasyPrint, wait for one request, render it, reply."""
    os.dup2(2, 1)  # whatever a library prints goes to stderr, never into the reply
    import reportgen.render_pdf  # noqa: F401 - the point: WeasyPrint imported while the build works

    try:
        request = pickle.load(sys.stdin.buffer)
    except (EOFError, pickle.UnpicklingError):
        return 0  # the build ended (or was killed) before it needed a PDF
    reply: tuple[Any, ...]
    try:
        reply = ("ok", render_here(request))
    except ReportgenError as exc:
        reply = ("error", exc.lines(), exc.exit_code)
    except Exception as exc:  # reported to the build, which renders in process instead
        reply = ("crash", f"{type(exc).__name__}: {exc}")
    try:
        with os.fdopen(reply_fd, "wb") as out:
            pickle.dump(reply, out, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError:
        return 1  # the build is gone
    return 0


if __name__ == "__main__":
    sys.exit(_serve(int(sys.argv[1])))
