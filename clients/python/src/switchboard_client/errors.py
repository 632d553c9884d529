"""Typed exceptions for Switchboard errors.

Every terminal ``Status`` frame from the daemon becomes an instance of a
:class:`SwitchboardError` subclass chosen by its code. Client-side failures
(timeouts, a closed connection, undecodable bytes) use the same classes.
"""

from __future__ import annotations

import enum
from typing import Any, Dict, Optional, Type


class StatusCode(enum.IntEnum):
    """Mirror of ``switchboard.v1.Status.Code``."""

    OK = 0
    CANCELLED = 1
    INVALID_ARGUMENT = 2
    DEADLINE_EXCEEDED = 3
    NOT_FOUND = 4
    PERMISSION_DENIED = 5
    RESOURCE_EXHAUSTED = 6
    FAILED_PRECONDITION = 7
    UNAVAILABLE = 8
    INTERNAL = 9
    UNAUTHENTICATED = 10
    OVERLOADED = 11
    PROTOCOL_ERROR = 12
    UPSTREAM_REJECTED = 13


class SwitchboardError(Exception):
    """Base class of every error raised by this package.

    Attributes:
        code: the status code (:class:`StatusCode`).
        reason_code: stable machine-readable reason, e.g. ``provider_5xx``,
            ``unknown_route``, ``budget_violation``; may be empty.
        message: human-readable description.
        retryable: whether the daemon says retrying may succeed.
        retry_after: seconds to wait before retrying, or ``None`` when the daemon
            gave no hint.
        request_id: the request id of the failed call, when known (the daemon's;
            for a client-side failure, the id this client sent).
        correlation_id: the id this client sent with the call, echoed by the daemon.
        status: the raw ``switchboard.v1.Status`` message, when the error came from
            the daemon.
    """

    default_code: StatusCode = StatusCode.INTERNAL

    def __init__(
        self,
        message: str = "",
        *,
        code: Optional[StatusCode] = None,
        reason_code: str = "",
        retryable: bool = False,
        retry_after: Optional[float] = None,
        request_id: str = "",
        status: Any = None,
        correlation_id: str = "",
    ) -> None:
        super().__init__(message)
        self.code: StatusCode = code if code is not None else self.default_code
        self.reason_code: str = reason_code
        self.message: str = message
        self.retryable: bool = retryable
        self.retry_after: Optional[float] = retry_after
        self.request_id: str = request_id
        self.correlation_id: str = correlation_id
        self.status: Any = status

    def __str__(self) -> str:
        text = self.code.name
        if self.reason_code:
            text += f" ({self.reason_code})"
        if self.message:
            text += f": {self.message}"
        if self.request_id:
            text += f" [request_id={self.request_id}]"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code.name}, reason_code={self.reason_code!r}, "
            f"message={self.message!r}, retryable={self.retryable}, retry_after={self.retry_after}, "
            f"request_id={self.request_id!r})"
        )


class Cancelled(SwitchboardError):
    """The call was cancelled (``CANCELLED``)."""

    default_code = StatusCode.CANCELLED


class InvalidArgument(SwitchboardError):
    """The request is malformed (``INVALID_ARGUMENT``)."""

    default_code = StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(SwitchboardError):
    """The call's deadline passed, on the daemon or in the client (``DEADLINE_EXCEEDED``).

    A client-side timeout has ``reason_code == "client_timeout"``.
    """

    default_code = StatusCode.DEADLINE_EXCEEDED


class NotFound(SwitchboardError):
    """Unknown route, provider, model or request id (``NOT_FOUND``)."""

    default_code = StatusCode.NOT_FOUND


class PermissionDenied(SwitchboardError):
    """The peer is not allowed to do this (``PERMISSION_DENIED``)."""

    default_code = StatusCode.PERMISSION_DENIED


class ResourceExhausted(SwitchboardError):
    """A budget cap would be exceeded (``RESOURCE_EXHAUSTED``)."""

    default_code = StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(SwitchboardError):
    """The system is not in a state to run the call (``FAILED_PRECONDITION``)."""

    default_code = StatusCode.FAILED_PRECONDITION


class Unavailable(SwitchboardError):
    """Every candidate failed or none is eligible (``UNAVAILABLE``)."""

    default_code = StatusCode.UNAVAILABLE


class ConnectionClosed(Unavailable):
    """The connection to the daemon closed (or could not be opened) before the call ended."""


class InternalError(SwitchboardError):
    """A bug or unexpected failure in the daemon (``INTERNAL``)."""

    default_code = StatusCode.INTERNAL


class Unauthenticated(SwitchboardError):
    """Missing or invalid credentials (``UNAUTHENTICATED``)."""

    default_code = StatusCode.UNAUTHENTICATED


class Overloaded(SwitchboardError):
    """The daemon sheds load; retry later (``OVERLOADED``)."""

    default_code = StatusCode.OVERLOADED


class ProtocolError(SwitchboardError):
    """A frame could not be understood (``PROTOCOL_ERROR``); the connection is closed."""

    default_code = StatusCode.PROTOCOL_ERROR


class UpstreamRejected(SwitchboardError):
    """The provider rejected the request itself: content policy, invalid request (``UPSTREAM_REJECTED``)."""

    default_code = StatusCode.UPSTREAM_REJECTED


_BY_CODE: Dict[int, Type[SwitchboardError]] = {
    StatusCode.CANCELLED: Cancelled,
    StatusCode.INVALID_ARGUMENT: InvalidArgument,
    StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    StatusCode.NOT_FOUND: NotFound,
    StatusCode.PERMISSION_DENIED: PermissionDenied,
    StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    StatusCode.UNAVAILABLE: Unavailable,
    StatusCode.INTERNAL: InternalError,
    StatusCode.UNAUTHENTICATED: Unauthenticated,
    StatusCode.OVERLOADED: Overloaded,
    StatusCode.PROTOCOL_ERROR: ProtocolError,
    StatusCode.UPSTREAM_REJECTED: UpstreamRejected,
}


def error_class_for(code: int) -> Type[SwitchboardError]:
    """The exception class for a status code (``SwitchboardError`` for unknown codes)."""
    return _BY_CODE.get(code, SwitchboardError)


def error_from_status(status: Any) -> SwitchboardError:
    """Build the typed exception for a ``switchboard.v1.Status`` message."""
    try:
        code = StatusCode(status.code)
    except ValueError:
        code = StatusCode.INTERNAL
        message = f"unknown status code {status.code}: {status.message}"
    else:
        message = status.message
    cls = error_class_for(code)
    return cls(
        message,
        code=code,
        reason_code=status.reason_code,
        retryable=status.retryable,
        retry_after=(status.retry_after_ms / 1000.0) if status.retry_after_ms else None,
        request_id=status.request_id,
        correlation_id=status.correlation_id,
        status=status,
    )


def copy_error(err: SwitchboardError) -> SwitchboardError:
    """A fresh copy of a connection-wide error, so each waiting caller raises its own."""
    return type(err)(
        err.message,
        code=err.code,
        reason_code=err.reason_code,
        retryable=err.retryable,
        retry_after=err.retry_after,
        request_id=err.request_id,
        correlation_id=err.correlation_id,
        status=err.status,
    )
