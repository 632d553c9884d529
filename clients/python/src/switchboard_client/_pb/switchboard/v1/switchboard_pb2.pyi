from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
FINISH_REASON_CONTENT_FILTER: FinishReason
FINISH_REASON_LENGTH: FinishReason
FINISH_REASON_STOP: FinishReason
FINISH_REASON_TOOL_CALLS: FinishReason
FINISH_REASON_UNSPECIFIED: FinishReason
ROLE_ASSISTANT: Role
ROLE_SYSTEM: Role
ROLE_TOOL: Role
ROLE_UNSPECIFIED: Role
ROLE_USER: Role

class AdminRequest(_message.Message):
    __slots__ = ["clear_key", "explain", "health", "list_decisions", "reload_config", "rotate_key", "set_key"]
    CLEAR_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    LIST_DECISIONS_FIELD_NUMBER: _ClassVar[int]
    RELOAD_CONFIG_FIELD_NUMBER: _ClassVar[int]
    ROTATE_KEY_FIELD_NUMBER: _ClassVar[int]
    SET_KEY_FIELD_NUMBER: _ClassVar[int]
    clear_key: ClearKeyRequest
    explain: ExplainRequest
    health: HealthRequest
    list_decisions: ListDecisionsRequest
    reload_config: ReloadConfigRequest
    rotate_key: RotateKeyRequest
    set_key: SetKeyRequest
    def __init__(self, health: _Optional[_Union[HealthRequest, _Mapping]] = ..., explain: _Optional[_Union[ExplainRequest, _Mapping]] = ..., list_decisions: _Optional[_Union[ListDecisionsRequest, _Mapping]] = ..., set_key: _Optional[_Union[SetKeyRequest, _Mapping]] = ..., rotate_key: _Optional[_Union[RotateKeyRequest, _Mapping]] = ..., reload_config: _Optional[_Union[ReloadConfigRequest, _Mapping]] = ..., clear_key: _Optional[_Union[ClearKeyRequest, _Mapping]] = ...) -> None: ...

class AdminResponse(_message.Message):
    __slots__ = ["clear_key", "explain", "health", "list_decisions", "reload_config", "rotate_key", "set_key"]
    CLEAR_KEY_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    LIST_DECISIONS_FIELD_NUMBER: _ClassVar[int]
    RELOAD_CONFIG_FIELD_NUMBER: _ClassVar[int]
    ROTATE_KEY_FIELD_NUMBER: _ClassVar[int]
    SET_KEY_FIELD_NUMBER: _ClassVar[int]
    clear_key: ClearKeyResponse
    explain: ExplainResponse
    health: HealthResponse
    list_decisions: ListDecisionsResponse
    reload_config: ReloadConfigResponse
    rotate_key: RotateKeyResponse
    set_key: SetKeyResponse
    def __init__(self, health: _Optional[_Union[HealthResponse, _Mapping]] = ..., explain: _Optional[_Union[ExplainResponse, _Mapping]] = ..., list_decisions: _Optional[_Union[ListDecisionsResponse, _Mapping]] = ..., set_key: _Optional[_Union[SetKeyResponse, _Mapping]] = ..., rotate_key: _Optional[_Union[RotateKeyResponse, _Mapping]] = ..., reload_config: _Optional[_Union[ReloadConfigResponse, _Mapping]] = ..., clear_key: _Optional[_Union[ClearKeyResponse, _Mapping]] = ...) -> None: ...

class AttemptRecord(_message.Message):
    __slots__ = ["charged_scopes", "cost_micro_usd", "cost_usd", "failure_class", "first_token_ms", "hedge", "hedge_lost", "hedge_of", "http_status", "index", "key_fingerprint", "key_source", "latency_ms", "message", "model", "outcome", "overage_micro_usd", "provider", "reason_code", "reserved_micro_usd", "same_candidate_retry", "started_offset_ms", "timeout_fired", "timeout_limit_ms", "usage"]
    CHARGED_SCOPES_FIELD_NUMBER: _ClassVar[int]
    COST_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    FAILURE_CLASS_FIELD_NUMBER: _ClassVar[int]
    FIRST_TOKEN_MS_FIELD_NUMBER: _ClassVar[int]
    HEDGE_FIELD_NUMBER: _ClassVar[int]
    HEDGE_LOST_FIELD_NUMBER: _ClassVar[int]
    HEDGE_OF_FIELD_NUMBER: _ClassVar[int]
    HTTP_STATUS_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    KEY_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    KEY_SOURCE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    OVERAGE_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    RESERVED_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    SAME_CANDIDATE_RETRY_FIELD_NUMBER: _ClassVar[int]
    STARTED_OFFSET_MS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIRED_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_LIMIT_MS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    charged_scopes: _containers.RepeatedScalarFieldContainer[str]
    cost_micro_usd: int
    cost_usd: float
    failure_class: str
    first_token_ms: int
    hedge: bool
    hedge_lost: bool
    hedge_of: int
    http_status: int
    index: int
    key_fingerprint: str
    key_source: str
    latency_ms: int
    message: str
    model: str
    outcome: str
    overage_micro_usd: int
    provider: str
    reason_code: str
    reserved_micro_usd: int
    same_candidate_retry: bool
    started_offset_ms: int
    timeout_fired: str
    timeout_limit_ms: int
    usage: Usage
    def __init__(self, index: _Optional[int] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., key_source: _Optional[str] = ..., key_fingerprint: _Optional[str] = ..., started_offset_ms: _Optional[int] = ..., latency_ms: _Optional[int] = ..., first_token_ms: _Optional[int] = ..., outcome: _Optional[str] = ..., failure_class: _Optional[str] = ..., reason_code: _Optional[str] = ..., http_status: _Optional[int] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., cost_usd: _Optional[float] = ..., message: _Optional[str] = ..., same_candidate_retry: bool = ..., cost_micro_usd: _Optional[int] = ..., reserved_micro_usd: _Optional[int] = ..., overage_micro_usd: _Optional[int] = ..., charged_scopes: _Optional[_Iterable[str]] = ..., timeout_fired: _Optional[str] = ..., timeout_limit_ms: _Optional[int] = ..., hedge: bool = ..., hedge_lost: bool = ..., hedge_of: _Optional[int] = ...) -> None: ...

class BudgetCap(_message.Message):
    __slots__ = ["hard_micro_usd", "headroom_micro_usd", "period", "reserved_micro_usd", "scope", "soft_micro_usd", "spent_micro_usd", "window"]
    HARD_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    HEADROOM_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    RESERVED_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SOFT_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    SPENT_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    hard_micro_usd: int
    headroom_micro_usd: int
    period: str
    reserved_micro_usd: int
    scope: str
    soft_micro_usd: int
    spent_micro_usd: int
    window: str
    def __init__(self, scope: _Optional[str] = ..., window: _Optional[str] = ..., period: _Optional[str] = ..., soft_micro_usd: _Optional[int] = ..., hard_micro_usd: _Optional[int] = ..., spent_micro_usd: _Optional[int] = ..., reserved_micro_usd: _Optional[int] = ..., headroom_micro_usd: _Optional[int] = ...) -> None: ...

class BudgetState(_message.Message):
    __slots__ = ["hard_limit_micro_usd", "hard_limit_usd", "period", "reserved_micro_usd", "reserved_usd", "scope", "soft_limit_micro_usd", "soft_limit_usd", "spent_micro_usd", "spent_usd", "window"]
    HARD_LIMIT_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    HARD_LIMIT_USD_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    RESERVED_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    RESERVED_USD_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SOFT_LIMIT_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    SOFT_LIMIT_USD_FIELD_NUMBER: _ClassVar[int]
    SPENT_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    SPENT_USD_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    hard_limit_micro_usd: int
    hard_limit_usd: float
    period: str
    reserved_micro_usd: int
    reserved_usd: float
    scope: str
    soft_limit_micro_usd: int
    soft_limit_usd: float
    spent_micro_usd: int
    spent_usd: float
    window: str
    def __init__(self, scope: _Optional[str] = ..., window: _Optional[str] = ..., spent_usd: _Optional[float] = ..., reserved_usd: _Optional[float] = ..., soft_limit_usd: _Optional[float] = ..., hard_limit_usd: _Optional[float] = ..., spent_micro_usd: _Optional[int] = ..., reserved_micro_usd: _Optional[int] = ..., soft_limit_micro_usd: _Optional[int] = ..., hard_limit_micro_usd: _Optional[int] = ..., period: _Optional[str] = ...) -> None: ...

class Cancel(_message.Message):
    __slots__ = ["reason"]
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class CandidateEvaluation(_message.Message):
    __slots__ = ["detail", "eligible", "model", "provider", "rank", "rejection_reason", "score", "worst_case_cost_usd", "worst_case_micro_usd"]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    ELIGIBLE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    REJECTION_REASON_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    WORST_CASE_COST_USD_FIELD_NUMBER: _ClassVar[int]
    WORST_CASE_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    detail: str
    eligible: bool
    model: str
    provider: str
    rank: int
    rejection_reason: str
    score: float
    worst_case_cost_usd: float
    worst_case_micro_usd: int
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., eligible: bool = ..., rejection_reason: _Optional[str] = ..., score: _Optional[float] = ..., worst_case_cost_usd: _Optional[float] = ..., rank: _Optional[int] = ..., detail: _Optional[str] = ..., worst_case_micro_usd: _Optional[int] = ...) -> None: ...

class CircuitState(_message.Message):
    __slots__ = ["consecutive_failures", "cooldown_ms", "cooldown_remaining_ms", "key_fingerprint", "model", "provider", "state"]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_MS_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_REMAINING_MS_FIELD_NUMBER: _ClassVar[int]
    KEY_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    consecutive_failures: int
    cooldown_ms: int
    cooldown_remaining_ms: int
    key_fingerprint: str
    model: str
    provider: str
    state: str
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., key_fingerprint: _Optional[str] = ..., state: _Optional[str] = ..., consecutive_failures: _Optional[int] = ..., cooldown_remaining_ms: _Optional[int] = ..., cooldown_ms: _Optional[int] = ...) -> None: ...

class ClearKeyRequest(_message.Message):
    __slots__ = ["provider"]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    provider: str
    def __init__(self, provider: _Optional[str] = ...) -> None: ...

class ClearKeyResponse(_message.Message):
    __slots__ = ["active_key_fingerprint", "key_source", "pool_size", "provider"]
    ACTIVE_KEY_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    KEY_SOURCE_FIELD_NUMBER: _ClassVar[int]
    POOL_SIZE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    active_key_fingerprint: str
    key_source: str
    pool_size: int
    provider: str
    def __init__(self, provider: _Optional[str] = ..., active_key_fingerprint: _Optional[str] = ..., pool_size: _Optional[int] = ..., key_source: _Optional[str] = ...) -> None: ...

class CompletionChunk(_message.Message):
    __slots__ = ["attempt", "delta", "model", "provider", "tool_call_deltas"]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALL_DELTAS_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    delta: str
    model: str
    provider: str
    tool_call_deltas: _containers.RepeatedCompositeFieldContainer[ToolCallDelta]
    def __init__(self, delta: _Optional[str] = ..., tool_call_deltas: _Optional[_Iterable[_Union[ToolCallDelta, _Mapping]]] = ..., attempt: _Optional[int] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ...) -> None: ...

class CompletionRequest(_message.Message):
    __slots__ = ["constraints", "deadline_ms", "key_overrides", "max_tokens", "messages", "model", "provider", "request_id", "response_format", "route", "seed", "stop", "stream", "tags", "temperature", "tenant", "tool_choice", "tools", "top_p", "traceparent", "tracestate"]
    class TagsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    KEY_OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CHOICE_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    TRACEPARENT_FIELD_NUMBER: _ClassVar[int]
    TRACESTATE_FIELD_NUMBER: _ClassVar[int]
    constraints: Constraints
    deadline_ms: int
    key_overrides: _containers.RepeatedCompositeFieldContainer[KeyOverride]
    max_tokens: int
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    model: str
    provider: str
    request_id: str
    response_format: ResponseFormat
    route: str
    seed: int
    stop: _containers.RepeatedScalarFieldContainer[str]
    stream: bool
    tags: _containers.ScalarMap[str, str]
    temperature: float
    tenant: str
    tool_choice: str
    tools: _containers.RepeatedCompositeFieldContainer[Tool]
    top_p: float
    traceparent: str
    tracestate: str
    def __init__(self, route: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., tools: _Optional[_Iterable[_Union[Tool, _Mapping]]] = ..., tool_choice: _Optional[str] = ..., response_format: _Optional[_Union[ResponseFormat, _Mapping]] = ..., max_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., top_p: _Optional[float] = ..., stop: _Optional[_Iterable[str]] = ..., seed: _Optional[int] = ..., stream: bool = ..., constraints: _Optional[_Union[Constraints, _Mapping]] = ..., tenant: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., key_overrides: _Optional[_Iterable[_Union[KeyOverride, _Mapping]]] = ..., deadline_ms: _Optional[int] = ..., request_id: _Optional[str] = ..., traceparent: _Optional[str] = ..., tracestate: _Optional[str] = ...) -> None: ...

class CompletionResponse(_message.Message):
    __slots__ = ["attempts", "baseline_cost_micro_usd", "baseline_cost_usd", "content", "correlation_id", "cost_delta_micro_usd", "cost_delta_usd", "cost_micro_usd", "cost_usd", "decision_summary", "finish_reason", "latency_ms", "model", "provider", "request_id", "route", "state_backend", "tool_calls", "total_spend_micro_usd", "trace_id", "usage", "warnings"]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    BASELINE_COST_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    BASELINE_COST_USD_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    COST_DELTA_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    COST_DELTA_USD_FIELD_NUMBER: _ClassVar[int]
    COST_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    DECISION_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    STATE_BACKEND_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SPEND_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    attempts: int
    baseline_cost_micro_usd: int
    baseline_cost_usd: float
    content: str
    correlation_id: str
    cost_delta_micro_usd: int
    cost_delta_usd: float
    cost_micro_usd: int
    cost_usd: float
    decision_summary: str
    finish_reason: FinishReason
    latency_ms: int
    model: str
    provider: str
    request_id: str
    route: str
    state_backend: str
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCall]
    total_spend_micro_usd: int
    trace_id: str
    usage: Usage
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., content: _Optional[str] = ..., tool_calls: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ..., finish_reason: _Optional[_Union[FinishReason, str]] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., cost_usd: _Optional[float] = ..., baseline_cost_usd: _Optional[float] = ..., cost_delta_usd: _Optional[float] = ..., attempts: _Optional[int] = ..., decision_summary: _Optional[str] = ..., route: _Optional[str] = ..., latency_ms: _Optional[int] = ..., warnings: _Optional[_Iterable[str]] = ..., cost_micro_usd: _Optional[int] = ..., baseline_cost_micro_usd: _Optional[int] = ..., cost_delta_micro_usd: _Optional[int] = ..., total_spend_micro_usd: _Optional[int] = ..., correlation_id: _Optional[str] = ..., state_backend: _Optional[str] = ..., trace_id: _Optional[str] = ...) -> None: ...

class Constraints(_message.Message):
    __slots__ = ["latency_sla_ms", "max_cost_micro_usd", "max_cost_usd", "required_capabilities"]
    LATENCY_SLA_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_COST_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    MAX_COST_USD_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    latency_sla_ms: int
    max_cost_micro_usd: int
    max_cost_usd: float
    required_capabilities: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, max_cost_usd: _Optional[float] = ..., latency_sla_ms: _Optional[int] = ..., required_capabilities: _Optional[_Iterable[str]] = ..., max_cost_micro_usd: _Optional[int] = ...) -> None: ...

class ContentPart(_message.Message):
    __slots__ = ["image", "text"]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    image: ImageUrl
    text: str
    def __init__(self, text: _Optional[str] = ..., image: _Optional[_Union[ImageUrl, _Mapping]] = ...) -> None: ...

class DecisionEvent(_message.Message):
    __slots__ = ["attempts", "baseline_cost_micro_usd", "baseline_cost_usd", "baseline_model", "baseline_provider", "budget_scopes", "candidates", "caps", "chosen_model", "chosen_provider", "correlation_id", "cost_delta_micro_usd", "cost_delta_usd", "cost_micro_usd", "cost_usd", "hedge", "outcome", "overage_micro_usd", "peer_uid", "reason_code", "request_id", "route", "state_backend", "status_code", "strategy", "stream", "sub_tenant", "tags", "tenant", "tier", "timestamp_ms", "total_latency_ms", "total_spend_micro_usd", "trace_id", "usage", "warnings"]
    class TagsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    BASELINE_COST_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    BASELINE_COST_USD_FIELD_NUMBER: _ClassVar[int]
    BASELINE_MODEL_FIELD_NUMBER: _ClassVar[int]
    BASELINE_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    BUDGET_SCOPES_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    CAPS_FIELD_NUMBER: _ClassVar[int]
    CHOSEN_MODEL_FIELD_NUMBER: _ClassVar[int]
    CHOSEN_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    COST_DELTA_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    COST_DELTA_USD_FIELD_NUMBER: _ClassVar[int]
    COST_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    HEDGE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    OVERAGE_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    PEER_UID_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    STATE_BACKEND_FIELD_NUMBER: _ClassVar[int]
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    SUB_TENANT_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SPEND_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    attempts: _containers.RepeatedCompositeFieldContainer[AttemptRecord]
    baseline_cost_micro_usd: int
    baseline_cost_usd: float
    baseline_model: str
    baseline_provider: str
    budget_scopes: _containers.RepeatedScalarFieldContainer[str]
    candidates: _containers.RepeatedCompositeFieldContainer[CandidateEvaluation]
    caps: _containers.RepeatedCompositeFieldContainer[BudgetCap]
    chosen_model: str
    chosen_provider: str
    correlation_id: str
    cost_delta_micro_usd: int
    cost_delta_usd: float
    cost_micro_usd: int
    cost_usd: float
    hedge: HedgeSummary
    outcome: str
    overage_micro_usd: int
    peer_uid: int
    reason_code: str
    request_id: str
    route: str
    state_backend: str
    status_code: Status.Code
    strategy: str
    stream: bool
    sub_tenant: str
    tags: _containers.ScalarMap[str, str]
    tenant: str
    tier: TierDecision
    timestamp_ms: int
    total_latency_ms: int
    total_spend_micro_usd: int
    trace_id: str
    usage: Usage
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., timestamp_ms: _Optional[int] = ..., tenant: _Optional[str] = ..., route: _Optional[str] = ..., strategy: _Optional[str] = ..., stream: bool = ..., outcome: _Optional[str] = ..., status_code: _Optional[_Union[Status.Code, str]] = ..., reason_code: _Optional[str] = ..., candidates: _Optional[_Iterable[_Union[CandidateEvaluation, _Mapping]]] = ..., attempts: _Optional[_Iterable[_Union[AttemptRecord, _Mapping]]] = ..., chosen_provider: _Optional[str] = ..., chosen_model: _Optional[str] = ..., baseline_provider: _Optional[str] = ..., baseline_model: _Optional[str] = ..., cost_usd: _Optional[float] = ..., baseline_cost_usd: _Optional[float] = ..., cost_delta_usd: _Optional[float] = ..., total_latency_ms: _Optional[int] = ..., warnings: _Optional[_Iterable[str]] = ..., peer_uid: _Optional[int] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., cost_micro_usd: _Optional[int] = ..., baseline_cost_micro_usd: _Optional[int] = ..., cost_delta_micro_usd: _Optional[int] = ..., total_spend_micro_usd: _Optional[int] = ..., correlation_id: _Optional[str] = ..., sub_tenant: _Optional[str] = ..., budget_scopes: _Optional[_Iterable[str]] = ..., caps: _Optional[_Iterable[_Union[BudgetCap, _Mapping]]] = ..., overage_micro_usd: _Optional[int] = ..., tier: _Optional[_Union[TierDecision, _Mapping]] = ..., tags: _Optional[_Mapping[str, str]] = ..., state_backend: _Optional[str] = ..., hedge: _Optional[_Union[HedgeSummary, _Mapping]] = ..., trace_id: _Optional[str] = ...) -> None: ...

class ExplainRequest(_message.Message):
    __slots__ = ["request_id"]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class ExplainResponse(_message.Message):
    __slots__ = ["event", "event_json", "text"]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    EVENT_JSON_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    event: DecisionEvent
    event_json: str
    text: str
    def __init__(self, event: _Optional[_Union[DecisionEvent, _Mapping]] = ..., text: _Optional[str] = ..., event_json: _Optional[str] = ...) -> None: ...

class Frame(_message.Message):
    __slots__ = ["admin_request", "admin_response", "call_id", "cancel", "completion_chunk", "completion_request", "completion_response", "hello", "status", "stream_restart", "welcome"]
    ADMIN_REQUEST_FIELD_NUMBER: _ClassVar[int]
    ADMIN_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_CHUNK_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_REQUEST_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    HELLO_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STREAM_RESTART_FIELD_NUMBER: _ClassVar[int]
    WELCOME_FIELD_NUMBER: _ClassVar[int]
    admin_request: AdminRequest
    admin_response: AdminResponse
    call_id: int
    cancel: Cancel
    completion_chunk: CompletionChunk
    completion_request: CompletionRequest
    completion_response: CompletionResponse
    hello: Hello
    status: Status
    stream_restart: StreamRestart
    welcome: Welcome
    def __init__(self, call_id: _Optional[int] = ..., hello: _Optional[_Union[Hello, _Mapping]] = ..., welcome: _Optional[_Union[Welcome, _Mapping]] = ..., completion_request: _Optional[_Union[CompletionRequest, _Mapping]] = ..., completion_chunk: _Optional[_Union[CompletionChunk, _Mapping]] = ..., stream_restart: _Optional[_Union[StreamRestart, _Mapping]] = ..., completion_response: _Optional[_Union[CompletionResponse, _Mapping]] = ..., status: _Optional[_Union[Status, _Mapping]] = ..., cancel: _Optional[_Union[Cancel, _Mapping]] = ..., admin_request: _Optional[_Union[AdminRequest, _Mapping]] = ..., admin_response: _Optional[_Union[AdminResponse, _Mapping]] = ...) -> None: ...

class HealthRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class HealthResponse(_message.Message):
    __slots__ = ["budgets", "circuits", "config_digest", "in_flight", "serving", "uptime_ms", "version"]
    BUDGETS_FIELD_NUMBER: _ClassVar[int]
    CIRCUITS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_DIGEST_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    SERVING_FIELD_NUMBER: _ClassVar[int]
    UPTIME_MS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    budgets: _containers.RepeatedCompositeFieldContainer[BudgetState]
    circuits: _containers.RepeatedCompositeFieldContainer[CircuitState]
    config_digest: str
    in_flight: int
    serving: bool
    uptime_ms: int
    version: str
    def __init__(self, serving: bool = ..., version: _Optional[str] = ..., uptime_ms: _Optional[int] = ..., in_flight: _Optional[int] = ..., circuits: _Optional[_Iterable[_Union[CircuitState, _Mapping]]] = ..., budgets: _Optional[_Iterable[_Union[BudgetState, _Mapping]]] = ..., config_digest: _Optional[str] = ...) -> None: ...

class HedgeSummary(_message.Message):
    __slots__ = ["delay_ms", "extra_cost_micro_usd", "refused", "started", "winner_attempt", "winner_is_hedge"]
    DELAY_MS_FIELD_NUMBER: _ClassVar[int]
    EXTRA_COST_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    WINNER_ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    WINNER_IS_HEDGE_FIELD_NUMBER: _ClassVar[int]
    delay_ms: int
    extra_cost_micro_usd: int
    refused: _containers.RepeatedScalarFieldContainer[str]
    started: int
    winner_attempt: int
    winner_is_hedge: bool
    def __init__(self, delay_ms: _Optional[int] = ..., started: _Optional[int] = ..., winner_attempt: _Optional[int] = ..., winner_is_hedge: bool = ..., extra_cost_micro_usd: _Optional[int] = ..., refused: _Optional[_Iterable[str]] = ...) -> None: ...

class Hello(_message.Message):
    __slots__ = ["client_name", "protocol_version"]
    CLIENT_NAME_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    client_name: str
    protocol_version: int
    def __init__(self, protocol_version: _Optional[int] = ..., client_name: _Optional[str] = ...) -> None: ...

class ImageUrl(_message.Message):
    __slots__ = ["detail", "url"]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    detail: str
    url: str
    def __init__(self, url: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class KeyOverride(_message.Message):
    __slots__ = ["api_key", "provider"]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    provider: str
    def __init__(self, provider: _Optional[str] = ..., api_key: _Optional[str] = ...) -> None: ...

class ListDecisionsRequest(_message.Message):
    __slots__ = ["as_json", "correlation_id", "limit", "outcome", "provider", "route", "since_ms", "tags", "tenant", "until_ms"]
    class TagsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    AS_JSON_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    as_json: bool
    correlation_id: str
    limit: int
    outcome: str
    provider: str
    route: str
    since_ms: int
    tags: _containers.ScalarMap[str, str]
    tenant: str
    until_ms: int
    def __init__(self, since_ms: _Optional[int] = ..., until_ms: _Optional[int] = ..., route: _Optional[str] = ..., tenant: _Optional[str] = ..., outcome: _Optional[str] = ..., provider: _Optional[str] = ..., limit: _Optional[int] = ..., correlation_id: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., as_json: bool = ...) -> None: ...

class ListDecisionsResponse(_message.Message):
    __slots__ = ["events", "events_json"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_JSON_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[DecisionEvent]
    events_json: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, events: _Optional[_Iterable[_Union[DecisionEvent, _Mapping]]] = ..., events_json: _Optional[_Iterable[str]] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ["content", "name", "parts", "role", "tool_call_id", "tool_calls"]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALL_ID_FIELD_NUMBER: _ClassVar[int]
    content: str
    name: str
    parts: _containers.RepeatedCompositeFieldContainer[ContentPart]
    role: Role
    tool_call_id: str
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCall]
    def __init__(self, role: _Optional[_Union[Role, str]] = ..., content: _Optional[str] = ..., tool_calls: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ..., tool_call_id: _Optional[str] = ..., name: _Optional[str] = ..., parts: _Optional[_Iterable[_Union[ContentPart, _Mapping]]] = ...) -> None: ...

class ReloadConfigRequest(_message.Message):
    __slots__ = ["path"]
    PATH_FIELD_NUMBER: _ClassVar[int]
    path: str
    def __init__(self, path: _Optional[str] = ...) -> None: ...

class ReloadConfigResponse(_message.Message):
    __slots__ = ["applied", "config_digest", "errors"]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    CONFIG_DIGEST_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    applied: bool
    config_digest: str
    errors: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, applied: bool = ..., errors: _Optional[_Iterable[str]] = ..., config_digest: _Optional[str] = ...) -> None: ...

class ResponseFormat(_message.Message):
    __slots__ = ["json_schema", "schema_name", "strict", "type"]
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_NAME_FIELD_NUMBER: _ClassVar[int]
    STRICT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TYPE_JSON_OBJECT: ResponseFormat.Type
    TYPE_JSON_SCHEMA: ResponseFormat.Type
    TYPE_TEXT: ResponseFormat.Type
    json_schema: str
    schema_name: str
    strict: bool
    type: ResponseFormat.Type
    def __init__(self, type: _Optional[_Union[ResponseFormat.Type, str]] = ..., schema_name: _Optional[str] = ..., json_schema: _Optional[str] = ..., strict: bool = ...) -> None: ...

class RotateKeyRequest(_message.Message):
    __slots__ = ["api_key", "provider"]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    provider: str
    def __init__(self, provider: _Optional[str] = ..., api_key: _Optional[str] = ...) -> None: ...

class RotateKeyResponse(_message.Message):
    __slots__ = ["active_key_fingerprint", "pool_size", "provider"]
    ACTIVE_KEY_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    POOL_SIZE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    active_key_fingerprint: str
    pool_size: int
    provider: str
    def __init__(self, provider: _Optional[str] = ..., active_key_fingerprint: _Optional[str] = ..., pool_size: _Optional[int] = ...) -> None: ...

class SetKeyRequest(_message.Message):
    __slots__ = ["api_key", "provider"]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    provider: str
    def __init__(self, provider: _Optional[str] = ..., api_key: _Optional[str] = ...) -> None: ...

class SetKeyResponse(_message.Message):
    __slots__ = ["key_fingerprint", "pool_size", "provider"]
    KEY_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    POOL_SIZE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    key_fingerprint: str
    pool_size: int
    provider: str
    def __init__(self, provider: _Optional[str] = ..., key_fingerprint: _Optional[str] = ..., pool_size: _Optional[int] = ...) -> None: ...

class Status(_message.Message):
    __slots__ = ["code", "correlation_id", "message", "reason_code", "request_id", "retry_after_ms", "retryable", "state_backend"]
    class Code(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    CANCELLED: Status.Code
    CODE_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_EXCEEDED: Status.Code
    FAILED_PRECONDITION: Status.Code
    INTERNAL: Status.Code
    INVALID_ARGUMENT: Status.Code
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NOT_FOUND: Status.Code
    OK: Status.Code
    OVERLOADED: Status.Code
    PERMISSION_DENIED: Status.Code
    PROTOCOL_ERROR: Status.Code
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_EXHAUSTED: Status.Code
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    STATE_BACKEND_FIELD_NUMBER: _ClassVar[int]
    UNAUTHENTICATED: Status.Code
    UNAVAILABLE: Status.Code
    UPSTREAM_REJECTED: Status.Code
    code: Status.Code
    correlation_id: str
    message: str
    reason_code: str
    request_id: str
    retry_after_ms: int
    retryable: bool
    state_backend: str
    def __init__(self, code: _Optional[_Union[Status.Code, str]] = ..., reason_code: _Optional[str] = ..., message: _Optional[str] = ..., retryable: bool = ..., retry_after_ms: _Optional[int] = ..., request_id: _Optional[str] = ..., correlation_id: _Optional[str] = ..., state_backend: _Optional[str] = ...) -> None: ...

class StreamRestart(_message.Message):
    __slots__ = ["attempt", "failed_model", "failed_provider", "next_model", "next_provider", "reason_code"]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    FAILED_MODEL_FIELD_NUMBER: _ClassVar[int]
    FAILED_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    NEXT_MODEL_FIELD_NUMBER: _ClassVar[int]
    NEXT_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    failed_model: str
    failed_provider: str
    next_model: str
    next_provider: str
    reason_code: str
    def __init__(self, attempt: _Optional[int] = ..., reason_code: _Optional[str] = ..., failed_provider: _Optional[str] = ..., failed_model: _Optional[str] = ..., next_provider: _Optional[str] = ..., next_model: _Optional[str] = ...) -> None: ...

class TierDecision(_message.Message):
    __slots__ = ["excluded", "reason_code", "router_attempts", "router_cost_micro_usd", "router_latency_ms", "router_reason", "router_tier", "rule", "rule_detail", "source", "tier"]
    EXCLUDED_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    ROUTER_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    ROUTER_COST_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    ROUTER_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    ROUTER_REASON_FIELD_NUMBER: _ClassVar[int]
    ROUTER_TIER_FIELD_NUMBER: _ClassVar[int]
    RULE_DETAIL_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    excluded: _containers.RepeatedScalarFieldContainer[str]
    reason_code: str
    router_attempts: _containers.RepeatedCompositeFieldContainer[AttemptRecord]
    router_cost_micro_usd: int
    router_latency_ms: int
    router_reason: str
    router_tier: str
    rule: str
    rule_detail: str
    source: str
    tier: str
    def __init__(self, tier: _Optional[str] = ..., source: _Optional[str] = ..., reason_code: _Optional[str] = ..., rule: _Optional[str] = ..., rule_detail: _Optional[str] = ..., router_tier: _Optional[str] = ..., router_reason: _Optional[str] = ..., router_attempts: _Optional[_Iterable[_Union[AttemptRecord, _Mapping]]] = ..., router_latency_ms: _Optional[int] = ..., router_cost_micro_usd: _Optional[int] = ..., excluded: _Optional[_Iterable[str]] = ...) -> None: ...

class Tool(_message.Message):
    __slots__ = ["description", "name", "parameters_json_schema"]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    description: str
    name: str
    parameters_json_schema: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., parameters_json_schema: _Optional[str] = ...) -> None: ...

class ToolCall(_message.Message):
    __slots__ = ["arguments_json", "id", "name"]
    ARGUMENTS_JSON_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    arguments_json: str
    id: str
    name: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., arguments_json: _Optional[str] = ...) -> None: ...

class ToolCallDelta(_message.Message):
    __slots__ = ["arguments_delta", "id", "index", "name"]
    ARGUMENTS_DELTA_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    arguments_delta: str
    id: str
    index: int
    name: str
    def __init__(self, index: _Optional[int] = ..., id: _Optional[str] = ..., name: _Optional[str] = ..., arguments_delta: _Optional[str] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ["cache_write_tokens", "cached_input_tokens", "estimated_input_tokens", "input_tokens", "output_tokens"]
    CACHED_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHE_WRITE_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    cache_write_tokens: int
    cached_input_tokens: int
    estimated_input_tokens: int
    input_tokens: int
    output_tokens: int
    def __init__(self, input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cached_input_tokens: _Optional[int] = ..., cache_write_tokens: _Optional[int] = ..., estimated_input_tokens: _Optional[int] = ...) -> None: ...

class Welcome(_message.Message):
    __slots__ = ["max_concurrent_calls_per_connection", "max_frame_bytes", "protocol_version", "server_version"]
    MAX_CONCURRENT_CALLS_PER_CONNECTION_FIELD_NUMBER: _ClassVar[int]
    MAX_FRAME_BYTES_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    max_concurrent_calls_per_connection: int
    max_frame_bytes: int
    protocol_version: int
    server_version: str
    def __init__(self, protocol_version: _Optional[int] = ..., server_version: _Optional[str] = ..., max_frame_bytes: _Optional[int] = ..., max_concurrent_calls_per_connection: _Optional[int] = ...) -> None: ...

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class FinishReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
