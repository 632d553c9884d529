"""The reconnect back-off shared by :class:`Client` and :class:`AsyncClient`."""

import random

from .errors import ConnectionClosed, DeadlineExceeded, SwitchboardError

FIRST_DELAY = 0.05
MAX_DELAY = 1.0


class Backoff:
    """Jittered exponential waits between reconnect attempts, until a deadline."""

    def __init__(self, socket_path: str, timeout: float, now: float) -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self.deadline = now + max(0.0, timeout)
        self.delay = FIRST_DELAY

    def next_wait(self, exc: SwitchboardError, now: float, closing: bool) -> float:
        """Seconds to wait before the next attempt after ``exc``; raises when giving up.

        Not there yet (no socket, refused, draining, slow handshake) is retried; a
        refusal that retrying cannot fix (permission, version) is raised as it is.
        """
        if not (exc.retryable or isinstance(exc, (ConnectionClosed, DeadlineExceeded))):
            raise exc
        remaining = self.deadline - now
        if remaining <= 0 or closing:
            raise ConnectionClosed(
                f"cannot reconnect to {self.socket_path} within {self.timeout:g}s: {exc.message}",
                reason_code="connect_failed",
                retryable=True,
            ) from exc
        wait = min(remaining, self.delay * random.uniform(0.5, 1.0))
        self.delay = min(self.delay * 2, MAX_DELAY)
        return wait
