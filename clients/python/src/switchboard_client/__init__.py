"""Python client for Switchboard, the LLM routing sidecar.

Talks to the daemon over its Unix socket with length-prefixed protobuf frames::

    from switchboard_client import Client

    with Client("/run/switchboard/switchboard.sock") as sb:
        r = sb.complete("Say hi", route="default", max_tokens=50)
        print(r.content, r.provider, r.model, r.cost_usd)

See :class:`Client` (threads) and :class:`AsyncClient` (asyncio).
"""

from ._framing import FrameDecoder, decode_frame, encode_frame
from .aio import AsyncClient, AsyncStream
from .client import Call, Client, Stream
from .errors import (
    Cancelled,
    ConnectionClosed,
    DeadlineExceeded,
    FailedPrecondition,
    InternalError,
    InvalidArgument,
    NotFound,
    Overloaded,
    PermissionDenied,
    ProtocolError,
    ResourceExhausted,
    StatusCode,
    SwitchboardError,
    Unauthenticated,
    Unavailable,
    UpstreamRejected,
    error_from_status,
)
from .models import Delta, Event, Final, Response, Restart, TextAccumulator, ToolCall, ToolCallDelta, Usage

__version__ = "0.1.0"

__all__ = [
    "AsyncClient",
    "AsyncStream",
    "Call",
    "Cancelled",
    "Client",
    "ConnectionClosed",
    "DeadlineExceeded",
    "Delta",
    "Event",
    "FailedPrecondition",
    "Final",
    "FrameDecoder",
    "InternalError",
    "InvalidArgument",
    "NotFound",
    "Overloaded",
    "PermissionDenied",
    "ProtocolError",
    "ResourceExhausted",
    "Response",
    "Restart",
    "StatusCode",
    "Stream",
    "SwitchboardError",
    "TextAccumulator",
    "ToolCall",
    "ToolCallDelta",
    "Unauthenticated",
    "Unavailable",
    "UpstreamRejected",
    "Usage",
    "decode_frame",
    "encode_frame",
    "error_from_status",
]
