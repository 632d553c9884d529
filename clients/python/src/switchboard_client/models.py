"""Plain data types returned by the client (responses and stream events)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple, Union


@dataclass(frozen=True)
class Usage:
    """Token usage of a completion."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    #: The planner's estimate of input tokens before the call.
    estimated_input_tokens: int = 0


@dataclass(frozen=True)
class ToolCall:
    """A tool call made by the model."""

    id: str
    name: str
    #: The arguments as a JSON object, as the model produced them.
    arguments_json: str

    def arguments(self) -> Any:
        """The arguments parsed from JSON."""
        return json.loads(self.arguments_json) if self.arguments_json else {}


@dataclass(frozen=True)
class Response:
    """The final answer of a completion call (unary or streamed).

    ``cost_usd``, ``baseline_cost_usd`` and ``cost_delta_usd`` are ``None`` when the
    daemon does not know the price: never a guess.
    """

    content: str
    provider: str
    model: str
    request_id: str
    usage: Usage
    cost_usd: Optional[float]
    baseline_cost_usd: Optional[float]
    #: Cost minus the cost of the same usage on the route's first candidate.
    cost_delta_usd: Optional[float]
    #: Number of attempts the daemon made (>= 2 means it retried or failed over).
    attempts: int
    #: ``"stop"``, ``"length"``, ``"tool_calls"``, ``"content_filter"`` or ``None``.
    finish_reason: Optional[str]
    #: One-line summary of the routing decision; ``explain(request_id)`` gives the rest.
    decision_summary: str
    route: str = ""
    latency_ms: int = 0
    tool_calls: Tuple[ToolCall, ...] = ()
    warnings: Tuple[str, ...] = ()
    #: The id this client sent (``request_id=`` of the call), echoed by the daemon;
    #: ``request_id`` is the daemon-issued id of the decision.
    correlation_id: str = ""
    #: The W3C trace id (32 hex digits) the request ran under; ``""`` when untraced.
    trace_id: str = ""
    #: The raw ``switchboard.v1.CompletionResponse`` message.
    raw: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class ToolCallDelta:
    """A streamed fragment of a tool call."""

    index: int
    id: str
    name: str
    arguments_delta: str


@dataclass(frozen=True)
class Delta:
    """A streamed piece of the answer."""

    text: str
    #: The attempt (1-based) that produced it.
    attempt: int = 0
    provider: str = ""
    model: str = ""
    tool_call_deltas: Tuple[ToolCallDelta, ...] = ()


@dataclass(frozen=True)
class Restart:
    """The answer restarts on another provider: discard every ``Delta`` received so far."""

    reason: str
    attempt: int = 0
    failed_provider: str = ""
    failed_model: str = ""
    next_provider: str = ""
    next_model: str = ""


@dataclass(frozen=True)
class Final:
    """The last event of a successful stream; ``response.content`` is the whole answer."""

    response: Response


#: An event yielded by ``Client.stream`` / ``AsyncClient.stream``.
Event = Union[Delta, Restart, Final]


class TextAccumulator:
    """Assembles streamed text, honouring restarts.

    Feed it every event; ``text`` is the answer of the current attempt so far.
    """

    def __init__(self) -> None:
        self._parts: List[str] = []
        self.restarts = 0

    def add(self, event: Event) -> None:
        if isinstance(event, Delta):
            self._parts.append(event.text)
        elif isinstance(event, Restart):
            self._parts.clear()
            self.restarts += 1

    @property
    def text(self) -> str:
        return "".join(self._parts)


# ---------------------------------------------------------------- content parts


@dataclass(frozen=True)
class ImagePart:
    """An image in a user message, for models with the ``vision`` capability.

    ``url`` is ``https://...`` or ``data:image/<png|jpeg|gif|webp>;base64,<data>``;
    ``detail`` is ``"auto"``, ``"low"``, ``"high"`` or ``None`` (the provider's default).
    Routes without a ``vision`` candidate refuse the request (``Unavailable``,
    reason ``capability_missing`` / ``no_eligible_candidate``).
    """

    url: str
    detail: Optional[str] = None

    @classmethod
    def from_bytes(cls, data: bytes, media_type: str = "image/png", detail: Optional[str] = None) -> "ImagePart":
        """An image given inline, as a base64 ``data:`` URL."""
        import base64

        return cls(f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}", detail)


# ---------------------------------------------------------------- admin results


@dataclass(frozen=True)
class Welcome:
    """The daemon's answer to ``Hello``: the protocol version it speaks and its limits."""

    protocol_version: int
    server_version: str
    max_frame_bytes: int
    max_concurrent_calls_per_connection: int
    raw: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class CircuitState:
    """The circuit breaker of one (provider, model, key)."""

    provider: str
    model: str
    key_fingerprint: str
    #: ``"closed"``, ``"open"`` or ``"half_open"``.
    state: str
    consecutive_failures: int
    cooldown_remaining_ms: int
    cooldown_ms: int


@dataclass(frozen=True)
class BudgetState:
    """Spend of one budget scope (``"tenant:acme"``, ``"route:payments"``) in its window."""

    scope: str
    window: str
    spent_usd: float
    reserved_usd: float
    soft_limit_usd: Optional[float]
    hard_limit_usd: Optional[float]


@dataclass(frozen=True)
class Health:
    """The daemon's health (``Client.health()``)."""

    serving: bool
    version: str
    uptime_ms: int
    in_flight: int
    circuits: Tuple[CircuitState, ...]
    budgets: Tuple[BudgetState, ...]
    config_digest: str
    raw: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class CandidateEvaluation:
    """How the planner judged one candidate of the route."""

    provider: str
    model: str
    eligible: bool
    #: Empty when eligible; else a reason code such as ``capability_missing``.
    rejection_reason: str
    score: Optional[float]
    worst_case_cost_usd: Optional[float]
    rank: int
    detail: str


@dataclass(frozen=True)
class AttemptRecord:
    """One attempt of a request on a provider."""

    index: int
    provider: str
    model: str
    #: ``request``, ``store``, ``config``, ``env``, ``dotenv`` or ``none``.
    key_source: str
    key_fingerprint: str
    started_offset_ms: int
    latency_ms: int
    first_token_ms: Optional[int]
    #: ``success``, ``failed`` or ``skipped``.
    outcome: str
    #: ``transient``, ``hard``, ``semantic`` or empty on success.
    failure_class: str
    reason_code: str
    http_status: int
    usage: Usage
    cost_usd: Optional[float]
    message: str
    same_candidate_retry: bool


@dataclass(frozen=True)
class Decision:
    """The recorded decision event of one request (``explain()``, ``decisions()``)."""

    request_id: str
    timestamp_ms: int
    tenant: str
    route: str
    strategy: str
    stream: bool
    #: ``success``, ``failed`` or ``cancelled``.
    outcome: str
    #: The status the call ended with (``StatusCode.OK`` on success).
    status_code: Any
    reason_code: str
    candidates: Tuple[CandidateEvaluation, ...]
    attempts: Tuple[AttemptRecord, ...]
    chosen_provider: str
    chosen_model: str
    baseline_provider: str
    baseline_model: str
    cost_usd: Optional[float]
    baseline_cost_usd: Optional[float]
    cost_delta_usd: Optional[float]
    total_latency_ms: int
    warnings: Tuple[str, ...]
    peer_uid: int
    usage: Usage
    #: The id the client sent with the request, when it sent one.
    correlation_id: str = ""
    #: The W3C trace id of the request's trace; ``""`` when untraced.
    trace_id: str = ""
    raw: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Explanation:
    """``explain()``: the decision event and the text ``switchboard explain`` prints."""

    event: Decision
    text: str


@dataclass(frozen=True)
class KeyInfo:
    """The result of ``set_key()`` / ``rotate_key()`` (a fingerprint, never the key)."""

    provider: str
    key_fingerprint: str
    pool_size: int


@dataclass(frozen=True)
class ReloadResult:
    """The result of ``reload_config()``."""

    applied: bool
    errors: Tuple[str, ...]
    config_digest: str
