"""A wall-clock limit on one slow step (a PDF render), with a clear error when it is exceeded.

Usage::

    from reportgen.render_limits import PDF_RENDER_SECONDS, time_limit

    with time_limit(PDF_RENDER_SECONDS, "PDF rendering"):
        pdf = render_pdf_result(html, ...)

If the block runs longer than ``seconds``, it is interrupted and
:class:`TimeLimitExceeded` is raised: a :class:`~reportgen.errors.ReportgenError`
(exit status 2, no traceback, the output folder untouched) whose message reads
"PDF rendering took longer than 60 s and was stopped; ...".

How it works, and where it does not:

- The limit is a ``SIGALRM`` timer (``signal.setitimer(ITIMER_REAL)``) whose handler
  raises in the main thread. Python runs signal handlers in the main thread only,
  and only the main thread may install them, so **off the main thread** (a worker
  thread of a batch, a server's request thread) and on platforms without
  ``setitimer`` (Windows) the block runs **with no limit**: ``time_limit`` then does
  nothing, and its ``limited`` attribute is False. It also does nothing when
  ``SIGALRM`` already has a handler installed outside Python (one it could not
  restore).
- The handler raises at the next Python bytecode. WeasyPrint lays pages out in
  Python, so a slow render is stopped promptly; a single long call into C (one
  enormous text layout in Pango) is stopped only when it returns to Python.
- An alarm that arrives while a garbage-collector callback (a function or a callable
  object), a ``__del__`` finaliser or a ``weakref.finalize`` callback runs is put off
  until it returns: Python drops exceptions raised there.
- Code that catches every exception (WeasyPrint logs and skips an image that fails
  to load) can swallow the interruption. ``time_limit`` remembers that the time
  ran out and raises on leaving the block all the same; so does it when the
  interruption surfaced as some other exception.
- An earlier ``SIGALRM`` handler and a running ``ITIMER_REAL`` timer (an enclosing
  ``time_limit``, say) are put back on exit, the time spent deducted; an enclosing
  timer that runs out first is handed to its own handler, so limits nest.
"""

from __future__ import annotations

import gc
import math
import signal
import sys
import threading
import time
import weakref
from types import FrameType, TracebackType
from typing import Any

from reportgen.errors import ReportgenError

#: The longest a single PDF render of a note may take, in seconds.
PDF_RENDER_SECONDS = 60.0

#: Re-arm delay used when the alarm arrives while the limit is still being set up.
_SOON = 0.001


class TimeLimitExceeded(ReportgenError):
    """A step ran longer than its wall-clock limit and was stopped."""

    def __init__(self, what: str, seconds: float) -> None:
        self.what = what
        self.seconds = seconds
        super().__init__(
            f"{what} took longer than {seconds:g} s and was stopped; "
            "a note this slow usually holds an oversized table, image or block of text"
        )


def _replaceable(exc: BaseException) -> bool:
    """An exception the time-out explains; KeyboardInterrupt and SystemExit keep their way."""
    return isinstance(exc, Exception) and not isinstance(exc, TimeLimitExceeded)


def _runs_where_raising_is_lost(frame: FrameType | None, stop: FrameType | None) -> bool:
    """Whether the alarm interrupted code Python calls from C and whose exceptions it drops.

    An exception raised in a garbage-collector callback (hypothesis and dask install
    them) or a finaliser, or in anything they call, is printed as "Exception ignored
    in ..." and goes no further, so the block would run on to its end. The frames from
    the interrupted one up to ``stop`` (the one holding the ``with``) are searched, and
    the alarm is put off until that code returns.
    """
    callbacks = {_code_of(callback) for callback in gc.callbacks} | {_FINALIZE}
    while frame is not None and frame is not stop:
        code = frame.f_code
        if code.co_name == "__del__" or code in callbacks:
            return True
        frame = frame.f_back
    return False


def _code_of(callback: object) -> object:
    """The code a gc callback runs: a function's, or a callable object's ``__call__``."""
    code = getattr(callback, "__code__", None)
    if code is None:
        method = next(
            (vars(k)["__call__"] for k in type(callback).__mro__ if "__call__" in vars(k)), None
        )
        code = getattr(method, "__code__", None)
    return code


#: ``weakref.finalize`` runs its callbacks from this method, called by the collector.
_FINALIZE = weakref.finalize.__call__.__code__


def _can_limit() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


class time_limit:  # lower case: used like a function, ``with time_limit(60, "PDF rendering")``
    """Context manager: interrupt the block after ``seconds`` of wall-clock time.

    ``seconds`` must be a positive, finite number; None means no limit. See the module
    docstring for where no limit can be enforced (``limited`` tells).
    """

    def __init__(self, seconds: float | None, what: str) -> None:
        if seconds is not None and (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not math.isfinite(seconds)
            or seconds <= 0
        ):
            raise ValueError(f"a time limit must be a positive number of seconds, not {seconds!r}")
        self.seconds = None if seconds is None else float(seconds)
        self.what = what
        #: True while a limit is in force (main thread, setitimer available).
        self.limited = False
        #: True once the time ran out (also when the interruption was swallowed).
        self.fired = False
        self._done = False
        self._forwarded = False
        self._outer_first = False
        self._deadline = 0.0
        self._started = 0.0
        self._previous_handler: Any = None
        self._previous_timer = (0.0, 0.0)
        self._caller: FrameType | None = None

    def __enter__(self) -> time_limit:
        if self.seconds is None or not _can_limit():
            return self
        previous = signal.getsignal(signal.SIGALRM)
        if previous is None:  # installed outside Python: it could not be put back
            return self
        self._previous_handler = previous
        self._caller = sys._getframe(1)
        self._previous_timer = signal.setitimer(signal.ITIMER_REAL, 0)  # pause any outer timer
        self._started = time.monotonic()
        self._deadline = self._started + self.seconds
        outer = self._previous_timer[0]
        self._outer_first = 0 < outer < self.seconds
        signal.signal(signal.SIGALRM, self._on_alarm)
        self.limited = True
        signal.setitimer(signal.ITIMER_REAL, outer if self._outer_first else self.seconds)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.limited:
            return None
        self._done = True  # from here on the handler only takes note
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._previous_handler)
        self._restore_outer_timer()
        self.limited = False
        self._caller = None  # no reference cycle through the frame
        if self.fired and (exc is None or _replaceable(exc)):
            # the interruption was swallowed, or surfaced as another exception
            raise TimeLimitExceeded(self.what, self.seconds or 0.0) from exc
        return None

    def _restore_outer_timer(self) -> None:
        remaining, interval = self._previous_timer
        if remaining <= 0:
            return
        if self._forwarded:  # the outer timer already went off during the block
            if interval > 0:
                signal.setitimer(signal.ITIMER_REAL, interval, interval)
            return
        left = remaining - (time.monotonic() - self._started)
        signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), interval)

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        code = frame.f_code if frame is not None else None
        outer_due = self._outer_first and not self._forwarded
        if self._done or code is _EXIT_CODE:
            # leaving the block: __exit__ restores the outer timer, or raises for us
            if not outer_due:
                self.fired = True
            return
        if code is _ENTER_CODE:  # not set up yet: go off again right after
            signal.setitimer(signal.ITIMER_REAL, _SOON)
            return
        if outer_due:
            self._forwarded = True
            left = self._deadline - time.monotonic()
            signal.setitimer(signal.ITIMER_REAL, max(left, _SOON))  # ours keeps running
            self._forward(signum, frame)
            return
        if _runs_where_raising_is_lost(frame, self._caller):
            signal.setitimer(signal.ITIMER_REAL, _SOON)  # raise once back in ordinary code
            return
        self.fired = True
        raise TimeLimitExceeded(self.what, self.seconds or 0.0)

    def _forward(self, signum: int, frame: FrameType | None) -> None:
        """The enclosing timer went off: do what its handler would have done."""
        handler = self._previous_handler
        if callable(handler):
            handler(signum, frame)
        elif handler == signal.SIG_DFL:  # the default action: end the process
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGALRM)


_ENTER_CODE = time_limit.__enter__.__code__
_EXIT_CODE = time_limit.__exit__.__code__
