"""A heartbeat for long stages on a terminal: when nothing has been printed for a few
seconds, one line says the run is still working and for how long (updated each second,
cleared before the next message). Off when stderr is not a terminal or with ``-q``."""

from __future__ import annotations

import logging
import sys
import threading
import time

QUIET_AFTER_S = 3.0


class _Stream:
    """stderr, noting when it was last written to and clearing the heartbeat line first."""

    def __init__(self, beat: Heartbeat, real) -> None:
        self._beat, self._real = beat, real

    def write(self, text: str) -> int:
        with self._beat.lock:
            self._beat.clear()
            self._beat.last = time.monotonic()
            return self._real.write(text)

    def flush(self) -> None:
        self._real.flush()

    def __getattr__(self, name):
        return getattr(self._real, name)


class Heartbeat:
    """``with Heartbeat(): ...`` shows ``  working ... 12 s`` after :data:`QUIET_AFTER_S` of silence."""

    def __init__(self, quiet_after_s: float = QUIET_AFTER_S) -> None:
        self.quiet_after_s = quiet_after_s
        self.lock = threading.RLock()
        self.last = time.monotonic()
        self.shown = False
        self.real = sys.stderr
        self.enabled = (self.real.isatty()
                        and logging.getLogger("expansion").getEffectiveLevel() <= logging.INFO)
        self._stop = threading.Event()
        self._handlers: list[logging.StreamHandler] = []

    def clear(self) -> None:
        if self.shown:
            self.real.write("\r\033[K")
            self.shown = False

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            with self.lock:
                quiet = time.monotonic() - self.last
                if quiet >= self.quiet_after_s:
                    self.real.write(f"\r  working ... {quiet:.0f} s")
                    self.real.flush()
                    self.shown = True

    def __enter__(self) -> Heartbeat:
        if not self.enabled:
            return self
        stream = _Stream(self, self.real)
        sys.stderr = stream
        for h in logging.getLogger("expansion").handlers:
            if isinstance(h, logging.StreamHandler) and h.stream is self.real:
                h.setStream(stream)
                self._handlers.append(h)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if not self.enabled:
            return
        self._stop.set()
        self._thread.join()
        with self.lock:
            self.clear()
        for h in self._handlers:
            h.setStream(self.real)
        sys.stderr = self.real
