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
