"""Python client for Switchboard, the LLM routing sidecar.

Talks to the daemon over its Unix socket with length-prefixed protobuf frames::

    from switchboard_client import Client

    with Client() as sb:  # $SWITCHBOARD_SOCKET or /run/switchboard/switchboard.sock
        r = sb.complete("Say hi", route="default", max_tokens=50)
        print(r.content, r.provider, r.model, r.cost_usd)

See :class:`Client` (threads) and :class:`AsyncClient` (asyncio).
"""

from ._framing import FrameDecoder, decode_frame, encode_frame
from .aio import AsyncClient, AsyncStream
from .client import Call, Client, Stream, default_socket_path, new_request_id
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
from .models import (
    AttemptRecord,
    BudgetState,
    CandidateEvaluation,
    CircuitState,
    Decision,
    Delta,
    Event,
    Explanation,
    Final,
    Health,
    ImagePart,
    KeyInfo,
    ReloadResult,
    Response,
    Restart,
    TextAccumulator,
    ToolCall,
    ToolCallDelta,
    Usage,
    Welcome,
)

__version__ = "0.2.0"

__all__ = [
    "AttemptRecord",
    "BudgetState",
    "CandidateEvaluation",
    "CircuitState",
    "Decision",
    "Explanation",
    "Health",
    "ImagePart",
    "KeyInfo",
    "ReloadResult",
    "Welcome",
    "default_socket_path",
    "new_request_id",
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
