"""Conversions between Python values and the protobuf messages (shared by both clients)."""

from __future__ import annotations

import datetime as _dt
import json
import re
import time
from typing import Any, Mapping, Optional, Sequence, Union

from ._pb.switchboard.v1 import switchboard_pb2 as pb
from .errors import ProtocolError, error_from_status
from .errors import StatusCode
from .models import (
    AttemptRecord,
    BudgetState,
    CandidateEvaluation,
    CircuitState,
    Decision,
    Delta,
    Explanation,
    Final,
    Health,
    ImagePart,
    KeyInfo,
    ReloadResult,
    Response,
    Restart,
    ToolCall,
    ToolCallDelta,
    Usage,
    Welcome,
)

#: A message: ``{"role": "user", "content": "..."}`` (also ``tool_calls``,
#: ``tool_call_id``, ``name``), a ``(role, content)`` pair or a ``switchboard.v1.Message``.
#: ``content`` may also be a list of parts, as in the OpenAI API: strings,
#: ``{"type": "text", "text": ...}``, ``{"type": "image_url", "image_url": {"url": ..., "detail": ...}}``
#: (or ``"image_url": "<url>"``) and :class:`ImagePart` objects.
MessageLike = Union[Mapping[str, Any], Sequence[str], "pb.Message"]
#: A prompt string (one user message) or a list of messages.
MessagesArg = Union[str, Sequence[MessageLike]]
#: ``{"name", "description", "parameters": dict | JSON string}`` or a ``switchboard.v1.Tool``.
ToolLike = Union[Mapping[str, Any], "pb.Tool"]
#: ``"text"``, ``"json"``/``"json_object"``, a dict
#: ``{"type": "json_schema", "name": ..., "schema": dict | str, "strict": bool}``
#: or a ``switchboard.v1.ResponseFormat``.
ResponseFormatLike = Union[str, Mapping[str, Any], "pb.ResponseFormat"]
#: ``datetime``, ``timedelta`` (that long ago), ``"90s"``/``"15m"``/``"1h"``/``"2d"``
#: (that long ago) or a number of seconds since the Unix epoch.
TimeLike = Union[_dt.datetime, _dt.timedelta, str, int, float]

_ROLES = {
    "system": pb.ROLE_SYSTEM,
    "developer": pb.ROLE_SYSTEM,
    "user": pb.ROLE_USER,
    "assistant": pb.ROLE_ASSISTANT,
    "tool": pb.ROLE_TOOL,
}

_FINISH = {
    pb.FINISH_REASON_STOP: "stop",
    pb.FINISH_REASON_LENGTH: "length",
    pb.FINISH_REASON_TOOL_CALLS: "tool_calls",
    pb.FINISH_REASON_CONTENT_FILTER: "content_filter",
}


def _role(value: Any) -> Any:  # a switchboard.v1.Role value
    if isinstance(value, int):
        return value
    try:
        return _ROLES[str(value).lower()]
    except KeyError:
        raise ValueError(f"unknown message role {value!r}; use one of {sorted(_ROLES)}") from None


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _fill_message(msg: "pb.Message", item: MessageLike) -> None:
    if isinstance(item, pb.Message):
        msg.CopyFrom(item)
        return
    if isinstance(item, Mapping):
        msg.role = _role(item.get("role", "user"))
        content = item.get("content")
        if isinstance(content, str):
            msg.content = content
        elif content is not None:
            _fill_parts(msg, content)
        for tc in item.get("tool_calls") or ():
            if isinstance(tc, pb.ToolCall):
                msg.tool_calls.add().CopyFrom(tc)
                continue
            fn = tc.get("function") or {}
            msg.tool_calls.add(
                id=tc.get("id", ""),
                name=tc.get("name", fn.get("name", "")),
                arguments_json=_json_text(tc.get("arguments", fn.get("arguments", {}))),
            )
        if item.get("tool_call_id"):
            msg.tool_call_id = item["tool_call_id"]
        if item.get("name"):
            msg.name = item["name"]
        return
    if isinstance(item, (tuple, list)) and len(item) == 2:
        msg.role = _role(item[0])
        if isinstance(item[1], str):
            msg.content = item[1]
        else:
            _fill_parts(msg, item[1])
        return
    raise TypeError(f"cannot use {type(item).__name__} as a message")


def _fill_parts(msg: "pb.Message", parts: Any) -> None:
    """Content given as a list of parts (OpenAI style) -> ``Message.parts``."""
    if isinstance(parts, (ImagePart, pb.ContentPart, Mapping)):
        parts = [parts]
    try:
        items = list(parts)
    except TypeError:
        raise TypeError(f"message content must be a string or a list of parts, not {type(parts).__name__}") from None
    for i, part in enumerate(items):
        if isinstance(part, str):
            msg.parts.add(text=part)
        elif isinstance(part, ImagePart):
            p = msg.parts.add()
            p.image.url = part.url
            p.image.detail = part.detail or ""
        elif isinstance(part, pb.ContentPart):
            msg.parts.add().CopyFrom(part)
        elif isinstance(part, Mapping):
            kind = part.get("type", "text" if "text" in part else "")
            if kind == "text":
                msg.parts.add(text=str(part.get("text", "")))
            elif kind in ("image_url", "image"):
                ref = part.get("image_url", part.get("url"))
                if isinstance(ref, Mapping):
                    url, detail = ref.get("url", ""), ref.get("detail") or ""
                else:
                    url, detail = ref or "", part.get("detail") or ""
                if not url:
                    raise ValueError(f"content part {i}: an image part needs a url")
                p = msg.parts.add()
                p.image.url = str(url)
                p.image.detail = str(detail)
            else:
                raise ValueError(f"content part {i}: unknown type {kind!r} (text or image_url)")
        else:
            raise TypeError(f"content part {i}: cannot use {type(part).__name__} as a content part")


def _fill_response_format(rf: "pb.ResponseFormat", value: ResponseFormatLike) -> None:
    if isinstance(value, pb.ResponseFormat):
        rf.CopyFrom(value)
        return
    if isinstance(value, str):
        value = {"type": value}
    kind = str(value.get("type", "text")).lower()
    if kind == "text":
        rf.type = pb.ResponseFormat.TYPE_TEXT
    elif kind in ("json", "json_object"):
        rf.type = pb.ResponseFormat.TYPE_JSON_OBJECT
    elif kind == "json_schema":
        rf.type = pb.ResponseFormat.TYPE_JSON_SCHEMA
        rf.schema_name = value.get("name", value.get("schema_name", ""))
        schema = value.get("schema", value.get("json_schema"))
        if schema is not None:
            rf.json_schema = _json_text(schema)
        rf.strict = bool(value.get("strict", False))
    else:
        raise ValueError(f"unknown response_format type {kind!r}")


def build_completion_request(
    messages: Optional[MessagesArg] = None,
    *,
    route: Optional[str] = None,
    provider: Optional[str] = None,
    model: Optional[str] = None,
    system: Optional[str] = None,
    max_tokens: Optional[int] = None,
    temperature: Optional[float] = None,
    top_p: Optional[float] = None,
    stop: Optional[Union[str, Sequence[str]]] = None,
    seed: Optional[int] = None,
    tools: Optional[Sequence[ToolLike]] = None,
    tool_choice: Optional[str] = None,
    response_format: Optional[ResponseFormatLike] = None,
    max_cost_usd: Optional[float] = None,
    latency_sla_ms: Optional[int] = None,
    require: Optional[Sequence[str]] = None,
    tenant: Optional[str] = None,
    tags: Optional[Mapping[str, str]] = None,
    key_overrides: Optional[Mapping[str, str]] = None,
    deadline_ms: Optional[int] = None,
    request_id: Optional[str] = None,
    traceparent: Optional[str] = None,
    tracestate: Optional[str] = None,
    stream: bool = False,
) -> "pb.CompletionRequest":
    """Build a ``switchboard.v1.CompletionRequest``; see ``Client.complete`` for the arguments."""
    req = pb.CompletionRequest()
    if route:
        req.route = route
    if model and not provider and "/" in model and not route:
        # "provider/model", as the config's catalog keys are written.
        provider, model = model.split("/", 1)
    if provider:
        req.provider = provider
    if model:
        req.model = model
    if system is not None:
        req.messages.add(role=pb.ROLE_SYSTEM, content=system)
    if messages is None:
        pass
    elif isinstance(messages, str):
        req.messages.add(role=pb.ROLE_USER, content=messages)
    else:
        for item in messages:
            _fill_message(req.messages.add(), item)
    for tool in tools or ():
        if isinstance(tool, pb.Tool):
            req.tools.add().CopyFrom(tool)
            continue
        fn = tool.get("function", tool)  # accept OpenAI-style {"type": "function", "function": {...}}
        params = fn.get("parameters", fn.get("parameters_json_schema"))
        req.tools.add(
            name=fn["name"],
            description=fn.get("description", ""),
            parameters_json_schema=_json_text(params) if params is not None else "",
        )
    if tool_choice:
        req.tool_choice = tool_choice
    if response_format is not None:
        _fill_response_format(req.response_format, response_format)
    if max_tokens is not None:
        req.max_tokens = int(max_tokens)
    if temperature is not None:
        req.temperature = float(temperature)
    if top_p is not None:
        req.top_p = float(top_p)
    if stop is not None:
        req.stop.extend([stop] if isinstance(stop, str) else list(stop))
    if seed is not None:
        req.seed = int(seed)
    req.stream = bool(stream)
    if max_cost_usd is not None:
        req.constraints.max_cost_usd = float(max_cost_usd)
    if latency_sla_ms is not None:
        req.constraints.latency_sla_ms = int(latency_sla_ms)
    if require:
        req.constraints.required_capabilities.extend(require)
    if tenant:
        req.tenant = tenant
    if tags:
        for k, v in tags.items():
            req.tags[str(k)] = str(v)
    for prov, key in (key_overrides or {}).items():
        req.key_overrides.add(provider=prov, api_key=key)
    if deadline_ms:
        req.deadline_ms = int(deadline_ms)
    if request_id:
        req.request_id = request_id
    if traceparent:
        req.traceparent = traceparent
    if tracestate:
        req.tracestate = tracestate
    return req


def _opt(msg: Any, name: str) -> Optional[float]:
    return getattr(msg, name) if msg.HasField(name) else None


def usage_from_pb(u: "pb.Usage") -> Usage:
    return Usage(
        input_tokens=u.input_tokens,
        output_tokens=u.output_tokens,
        cached_input_tokens=u.cached_input_tokens,
        cache_write_tokens=u.cache_write_tokens,
        estimated_input_tokens=u.estimated_input_tokens,
    )


def response_from_pb(r: "pb.CompletionResponse") -> Response:
    """Convert a ``CompletionResponse`` message into a :class:`Response`."""
    return Response(
        content=r.content,
        provider=r.provider,
        model=r.model,
        request_id=r.request_id,
        correlation_id=r.correlation_id,
        trace_id=r.trace_id,
        usage=usage_from_pb(r.usage),
        cost_usd=_opt(r, "cost_usd"),
        baseline_cost_usd=_opt(r, "baseline_cost_usd"),
        cost_delta_usd=_opt(r, "cost_delta_usd"),
        attempts=r.attempts,
        finish_reason=_FINISH.get(r.finish_reason),
        decision_summary=r.decision_summary,
        route=r.route,
        latency_ms=r.latency_ms,
        tool_calls=tuple(ToolCall(t.id, t.name, t.arguments_json) for t in r.tool_calls),
        warnings=tuple(r.warnings),
        raw=r,
    )


def delta_from_pb(c: "pb.CompletionChunk") -> Delta:
    return Delta(
        text=c.delta,
        attempt=c.attempt,
        provider=c.provider,
        model=c.model,
        tool_call_deltas=tuple(
            ToolCallDelta(d.index, d.id, d.name, d.arguments_delta) for d in c.tool_call_deltas
        ),
    )


def restart_from_pb(r: "pb.StreamRestart") -> Restart:
    return Restart(
        reason=r.reason_code,
        attempt=r.attempt,
        failed_provider=r.failed_provider,
        failed_model=r.failed_model,
        next_provider=r.next_provider,
        next_model=r.next_model,
    )


def completion_result(frame: "pb.Frame") -> Response:
    """The outcome of a terminal frame of a completion call: a Response, or raise."""
    kind = frame.WhichOneof("body")
    if kind == "completion_response":
        return response_from_pb(frame.completion_response)
    if kind == "status":
        raise error_from_status(frame.status)
    raise ProtocolError(f"unexpected {kind or 'empty'} frame ends a completion call", reason_code="unexpected_frame")


def stream_event(frame: "pb.Frame") -> Union[Delta, Restart, Final]:
    """The event a frame of a streamed call carries (``Final`` ends the stream).

    Raises the typed error of a terminal ``Status``, or ``ProtocolError`` for a
    frame that has no place in a stream. Shared by the sync and async streams.
    """
    kind = frame.WhichOneof("body")
    if kind == "completion_chunk":
        return delta_from_pb(frame.completion_chunk)
    if kind == "stream_restart":
        return restart_from_pb(frame.stream_restart)
    if kind == "completion_response":
        return Final(response_from_pb(frame.completion_response))
    if kind == "status":
        raise error_from_status(frame.status)
    raise ProtocolError(f"unexpected {kind or 'empty'} frame in a stream", reason_code="unexpected_frame")


def admin_result(frame: "pb.Frame", kind: str) -> Any:
    """The ``AdminResponse.<kind>`` message of a terminal admin frame, or raise."""
    body = frame.WhichOneof("body")
    if body == "status":
        raise error_from_status(frame.status)
    if body != "admin_response":
        raise ProtocolError(f"unexpected {body or 'empty'} frame ends an admin call", reason_code="unexpected_frame")
    got = frame.admin_response.WhichOneof("kind")
    if got != kind:
        raise ProtocolError(f"admin call for {kind} answered with {got}", reason_code="unexpected_frame")
    return getattr(frame.admin_response, kind)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def to_epoch_ms(value: Optional[TimeLike], *, now: Optional[float] = None) -> int:
    """Convert a time argument of ``decisions()`` to milliseconds since the epoch (0 = unset)."""
    if value is None:
        return 0
    now = time.time() if now is None else now
    if isinstance(value, _dt.datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, _dt.timedelta):
        return int((now - value.total_seconds()) * 1000)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if not m:
            raise ValueError(f"cannot parse {value!r} as a duration like '90s', '15m', '1h', '2d'")
        return int((now - float(m.group(1)) * _UNIT_S[m.group(2)]) * 1000)
    return int(float(value) * 1000)


def health_request() -> "pb.AdminRequest":
    req = pb.AdminRequest()
    req.health.SetInParent()
    return req


def explain_request(request_id: str) -> "pb.AdminRequest":
    req = pb.AdminRequest()
    req.explain.SetInParent()
    req.explain.request_id = request_id
    return req


def list_decisions_request(
    *,
    since: Optional[TimeLike] = None,
    until: Optional[TimeLike] = None,
    route: Optional[str] = None,
    tenant: Optional[str] = None,
    outcome: Optional[str] = None,
    provider: Optional[str] = None,
    limit: Optional[int] = None,
) -> "pb.AdminRequest":
    req = pb.AdminRequest()
    ld = req.list_decisions
    ld.SetInParent()
    ld.since_ms = to_epoch_ms(since)
    ld.until_ms = to_epoch_ms(until)
    ld.route = route or ""
    ld.tenant = tenant or ""
    ld.outcome = outcome or ""
    ld.provider = provider or ""
    ld.limit = int(limit or 0)
    return req


def set_key_request(provider: str, api_key: str) -> "pb.AdminRequest":
    req = pb.AdminRequest()
    req.set_key.SetInParent()
    req.set_key.provider = provider
    req.set_key.api_key = api_key
    return req


def rotate_key_request(provider: str, api_key: str = "") -> "pb.AdminRequest":
    req = pb.AdminRequest()
    req.rotate_key.SetInParent()
    req.rotate_key.provider = provider
    req.rotate_key.api_key = api_key
    return req


def reload_config_request(path: str = "") -> "pb.AdminRequest":
    req = pb.AdminRequest()
    req.reload_config.SetInParent()
    req.reload_config.path = path
    return req


def completion_frame(call_id: int, req: "pb.CompletionRequest") -> "pb.Frame":
    frame = pb.Frame(call_id=call_id)
    frame.completion_request.SetInParent()
    frame.completion_request.CopyFrom(req)
    return frame


def admin_frame(call_id: int, req: "pb.AdminRequest") -> "pb.Frame":
    frame = pb.Frame(call_id=call_id)
    frame.admin_request.SetInParent()
    frame.admin_request.CopyFrom(req)
    return frame


def cancel_frame(call_id: int, reason: str = "") -> "pb.Frame":
    frame = pb.Frame(call_id=call_id)
    frame.cancel.SetInParent()
    frame.cancel.reason = reason
    return frame


def hello_frame(client_name: str, protocol_version: int = 1) -> "pb.Frame":
    frame = pb.Frame(call_id=0)
    frame.hello.SetInParent()
    frame.hello.protocol_version = protocol_version
    frame.hello.client_name = client_name
    return frame


# ---------------------------------------------------------------- admin results


def welcome_from_pb(w: "pb.Welcome") -> Welcome:
    return Welcome(
        protocol_version=w.protocol_version,
        server_version=w.server_version,
        max_frame_bytes=w.max_frame_bytes,
        max_concurrent_calls_per_connection=w.max_concurrent_calls_per_connection,
        raw=w,
    )


def health_from_pb(h: "pb.HealthResponse") -> Health:
    return Health(
        serving=h.serving,
        version=h.version,
        uptime_ms=h.uptime_ms,
        in_flight=h.in_flight,
        circuits=tuple(
            CircuitState(
                provider=c.provider,
                model=c.model,
                key_fingerprint=c.key_fingerprint,
                state=c.state,
                consecutive_failures=c.consecutive_failures,
                cooldown_remaining_ms=c.cooldown_remaining_ms,
                cooldown_ms=c.cooldown_ms,
            )
            for c in h.circuits
        ),
        budgets=tuple(
            BudgetState(
                scope=b.scope,
                window=b.window,
                spent_usd=b.spent_usd,
                reserved_usd=b.reserved_usd,
                soft_limit_usd=_opt(b, "soft_limit_usd"),
                hard_limit_usd=_opt(b, "hard_limit_usd"),
            )
            for b in h.budgets
        ),
        config_digest=h.config_digest,
        raw=h,
    )


def _status_code(value: int) -> Any:
    try:
        return StatusCode(value)
    except ValueError:
        return value


def decision_from_pb(e: "pb.DecisionEvent") -> Decision:
    return Decision(
        request_id=e.request_id,
        correlation_id=e.correlation_id,
        trace_id=e.trace_id,
        timestamp_ms=e.timestamp_ms,
        tenant=e.tenant,
        route=e.route,
        strategy=e.strategy,
        stream=e.stream,
        outcome=e.outcome,
        status_code=_status_code(e.status_code),
        reason_code=e.reason_code,
        candidates=tuple(
            CandidateEvaluation(
                provider=c.provider,
                model=c.model,
                eligible=c.eligible,
                rejection_reason=c.rejection_reason,
                score=_opt(c, "score"),
                worst_case_cost_usd=_opt(c, "worst_case_cost_usd"),
                rank=c.rank,
                detail=c.detail,
            )
            for c in e.candidates
        ),
        attempts=tuple(
            AttemptRecord(
                index=a.index,
                provider=a.provider,
                model=a.model,
                key_source=a.key_source,
                key_fingerprint=a.key_fingerprint,
                started_offset_ms=a.started_offset_ms,
                latency_ms=a.latency_ms,
                first_token_ms=a.first_token_ms if a.HasField("first_token_ms") else None,
                outcome=a.outcome,
                failure_class=a.failure_class,
                reason_code=a.reason_code,
                http_status=a.http_status,
                usage=usage_from_pb(a.usage),
                cost_usd=_opt(a, "cost_usd"),
                message=a.message,
                same_candidate_retry=a.same_candidate_retry,
            )
            for a in e.attempts
        ),
        chosen_provider=e.chosen_provider,
        chosen_model=e.chosen_model,
        baseline_provider=e.baseline_provider,
        baseline_model=e.baseline_model,
        cost_usd=_opt(e, "cost_usd"),
        baseline_cost_usd=_opt(e, "baseline_cost_usd"),
        cost_delta_usd=_opt(e, "cost_delta_usd"),
        total_latency_ms=e.total_latency_ms,
        warnings=tuple(e.warnings),
        peer_uid=e.peer_uid,
        usage=usage_from_pb(e.usage),
        raw=e,
    )


def explanation_from_pb(x: "pb.ExplainResponse") -> Explanation:
    return Explanation(event=decision_from_pb(x.event), text=x.text)


def key_info_from_pb(k: Any) -> KeyInfo:
    fp = k.key_fingerprint if hasattr(k, "key_fingerprint") else k.active_key_fingerprint
    return KeyInfo(provider=k.provider, key_fingerprint=fp, pool_size=k.pool_size)


def reload_from_pb(r: "pb.ReloadConfigResponse") -> ReloadResult:
    return ReloadResult(applied=r.applied, errors=tuple(r.errors), config_digest=r.config_digest)
