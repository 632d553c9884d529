"""Synchronous (thread-based) Switchboard client."""

from __future__ import annotations

import os
import queue
import secrets
import socket
import threading
import time
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Union

from . import _convert as cv
from ._framing import DEFAULT_MAX_FRAME_BYTES, FrameDecoder, encode_frame, ends_call
from ._reconnect import Backoff
from ._pb.switchboard.v1 import switchboard_pb2 as pb
from .errors import (
    Cancelled,
    ConnectionClosed,
    DeadlineExceeded,
    ProtocolError,
    SwitchboardError,
    copy_error,
    error_from_status,
)
from .models import (
    Decision,
    Event,
    Explanation,
    Final,
    Health,
    KeyInfo,
    ReloadResult,
    Response,
    TextAccumulator,
    Welcome,
)

__all__ = ["Client", "Call", "Stream", "default_socket_path", "new_request_id"]

_UNSET: Any = object()
_Item = Union["pb.Frame", SwitchboardError]


class _Timeout(Exception):
    """Internal: the caller's deadline passed while waiting for a frame."""


DEFAULT_SOCKET = "/run/switchboard/switchboard.sock"


def default_socket_path() -> str:
    """``$SWITCHBOARD_SOCKET``, else ``/run/switchboard/switchboard.sock``."""
    return os.environ.get("SWITCHBOARD_SOCKET") or DEFAULT_SOCKET


def new_request_id() -> str:
    """A fresh correlation id (16 hex digits), sent as ``CompletionRequest.request_id``."""
    return secrets.token_hex(8)


class _CallState:
    __slots__ = ("call_id", "queue", "done", "abandoned", "conn", "request_id")

    def __init__(self, call_id: int, conn: "_Connection", request_id: str = "") -> None:
        self.call_id = call_id
        self.queue: "queue.SimpleQueue[_Item]" = queue.SimpleQueue()
        self.done = False  # the consumer has seen the terminal frame (or an error)
        self.abandoned = False  # the consumer gave up; frames are dropped
        self.conn = conn  # the connection the call runs on
        self.request_id = request_id


class _Connection:
    """One socket to the daemon and its reader thread. When it dies, every call on it
    fails with a retryable :class:`ConnectionClosed`; the :class:`Client` then opens a
    new one for the next call."""

    def __init__(self, path: str, connect_timeout: float, max_frame_bytes: int) -> None:
        self.path = path
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(connect_timeout)
        try:
            sock.connect(path)
        except OSError as exc:
            sock.close()
            raise ConnectionClosed(
                f"cannot connect to {path}: {exc.strerror or exc} (is switchboardd running? "
                f"set SWITCHBOARD_SOCKET or pass the socket path)",
                reason_code="connect_failed",
                retryable=True,
            ) from exc
        sock.settimeout(None)
        self.sock = sock
        self.decoder = FrameDecoder(max_frame_bytes)
        self.send_lock = threading.Lock()
        self.lock = threading.Lock()
        self.calls: Dict[int, _CallState] = {}
        self.closed = False
        self.closing = False
        self.fatal: Optional[SwitchboardError] = None
        self.close_error: Optional[SwitchboardError] = None
        self.reader = threading.Thread(target=self._read_loop, name="switchboard-client-reader", daemon=True)
        self.reader.start()

    @property
    def usable(self) -> bool:
        return not (self.closed or self.closing)

    def close(self) -> None:
        with self.lock:
            if self.closing:
                return
            self.closing = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if self.reader is not threading.current_thread():
            self.reader.join(timeout=5)
        self.sock.close()

    def _read_loop(self) -> None:
        err: Optional[SwitchboardError] = None
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                for frame in self.decoder.feed(data):
                    self._dispatch(frame)
        except ProtocolError as exc:
            err = exc
        except OSError as exc:
            if not self.closing:
                err = ConnectionClosed(
                    f"connection to {self.path} failed: {exc}", reason_code="connection_lost", retryable=True
                )
        finally:
            self._shutdown(err)

    def _dispatch(self, frame: "pb.Frame") -> None:
        cid = frame.call_id
        kind = frame.WhichOneof("body")
        with self.lock:
            call = self.calls.get(cid)
            if cid == 0 and kind == "status" and call is None:
                # Connection-fatal status: the daemon closes the connection next.
                self.fatal = error_from_status(frame.status)
                return
            if call is None:
                return  # a call we gave up on, or a connection-level frame nobody waits for
            if ends_call(frame):
                del self.calls[cid]
        if not call.abandoned:
            call.queue.put(frame)

    def _shutdown(self, err: Optional[SwitchboardError]) -> None:
        with self.lock:
            self.closed = True
            if err is None:
                if self.fatal is not None:
                    err = self.fatal
                elif self.closing:
                    err = ConnectionClosed("the client closed the connection", reason_code="client_closed")
                else:
                    err = ConnectionClosed(
                        "the daemon closed the connection", reason_code="connection_closed", retryable=True
                    )
            self.close_error = err
            calls = list(self.calls.values())
            self.calls.clear()
        for call in calls:
            call.queue.put(copy_error(err))

    def send(self, frame: "pb.Frame") -> None:
        data = encode_frame(frame)
        try:
            with self.send_lock:
                self.sock.sendall(data)
        except OSError as exc:
            raise ConnectionClosed(
                f"cannot send to {self.path}: {exc}", reason_code="connection_lost", retryable=True
            ) from exc

    def register(self, state: _CallState) -> None:
        with self.lock:
            if self.closed or self.closing:
                raise copy_error(self.close_error) if self.close_error else ConnectionClosed(
                    "the connection is closed", reason_code="connection_closed", retryable=True
                )
            self.calls[state.call_id] = state

    def unregister(self, call_id: int) -> None:
        with self.lock:
            self.calls.pop(call_id, None)

    def is_open(self, call_id: int) -> bool:
        with self.lock:
            return call_id in self.calls


class Client:
    """A connection to the Switchboard daemon over its Unix socket.

    One connection multiplexes any number of concurrent calls: a reader thread
    demultiplexes the daemon's frames by ``call_id``. A ``Client`` is safe to share
    between threads.

    When the daemon restarts, calls in flight on the old connection fail with
    :class:`ConnectionClosed` (an :class:`Unavailable`, ``retryable=True``); the
    next call reconnects by itself, retrying with exponential back-off for up to
    ``reconnect_timeout`` seconds. A client never needs to be recreated.

    Example::

        with Client() as sb:   # $SWITCHBOARD_SOCKET or /run/switchboard/switchboard.sock
            r = sb.complete("Say hi", route="default", max_tokens=50)
            print(r.content, r.provider, r.model, r.cost_usd)

    Args:
        socket_path: path of the daemon's Unix socket (default: ``$SWITCHBOARD_SOCKET``,
            else ``/run/switchboard/switchboard.sock``).
        timeout: default per-call timeout in seconds (``None`` = wait as long as
            the daemon takes; the route's own deadline still applies there).
        connect_timeout: seconds to wait for one connection attempt (and its handshake).
        reconnect_timeout: how long a call waits for the daemon to come back after
            the connection was lost (0 = one attempt).
        handshake: send ``Hello`` on every connection and check the daemon's
            protocol version (:attr:`welcome` holds its answer).
        max_frame_bytes: largest frame accepted from the daemon.

    Raises:
        ConnectionClosed: the socket cannot be connected.
        FailedPrecondition: the daemon does not speak this client's protocol version.
    """

    def __init__(
        self,
        socket_path: Optional[Union[str, "os.PathLike[str]"]] = None,
        *,
        timeout: Optional[float] = None,
        connect_timeout: float = 5.0,
        reconnect_timeout: float = 10.0,
        handshake: bool = True,
        client_name: str = "switchboard-python",
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    ) -> None:
        self.socket_path = os.fspath(socket_path) if socket_path is not None else default_socket_path()
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.reconnect_timeout = reconnect_timeout
        self.handshake = handshake
        self.client_name = client_name
        self._max_frame_bytes = max_frame_bytes
        #: The daemon's ``Welcome`` on the current connection (when ``handshake``).
        self.welcome: Optional[Welcome] = None
        #: How many times the client has reconnected.
        self.reconnects = 0
        self._lock = threading.Lock()  # guards _next_id
        self._connect_lock = threading.Lock()  # one (re)connect at a time
        self._next_id = 1
        self._closing = False
        self._conn: _Connection = self._connect_once()

    # ------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the connection. Calls still in flight fail with :class:`ConnectionClosed`;
        a closed client does not reconnect."""
        self._closing = True
        self._conn.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closing

    @property
    def connected(self) -> bool:
        """True while the current connection is open (it may still die at any time)."""
        return self._conn.usable

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("connected" if self.connected else "disconnected")
        return f"<switchboard_client.Client {self.socket_path!r} {state}>"

    # ------------------------------------------------------------ plumbing

    def _connect_once(self) -> _Connection:
        conn = _Connection(self.socket_path, self.connect_timeout, self._max_frame_bytes)
        if self.handshake:
            try:
                self.welcome = self._handshake(conn)
            except BaseException:
                conn.close()
                raise
        return conn

    def _handshake(self, conn: _Connection) -> Welcome:
        state = _CallState(0, conn)
        conn.register(state)
        try:
            conn.send(cv.hello_frame(self.client_name))
            frame = self._unary(state, time.monotonic() + self.connect_timeout)
        finally:
            conn.unregister(0)
        kind = frame.WhichOneof("body")
        if kind == "status":
            raise error_from_status(frame.status)
        if kind != "welcome":
            raise ProtocolError(f"Hello answered with {kind}", reason_code="unexpected_frame")
        return cv.welcome_from_pb(frame.welcome)

    def _connection(self) -> _Connection:
        """The open connection; reconnects (with back-off) when the last one died."""
        conn = self._conn
        if conn.usable:
            return conn
        if self._closing:
            raise ConnectionClosed("the client is closed", reason_code="client_closed")
        with self._connect_lock:
            if self._conn.usable:
                return self._conn
            backoff = Backoff(self.socket_path, self.reconnect_timeout, time.monotonic())
            while True:
                try:
                    self._conn = self._connect_once()
                    self.reconnects += 1
                    return self._conn
                except SwitchboardError as exc:
                    time.sleep(backoff.next_wait(exc, time.monotonic(), self._closing))

    def _send(self, frame: "pb.Frame") -> None:
        self._connection().send(frame)

    def _open(self, build: Any, call_id: Optional[int] = None, request_id: str = "") -> _CallState:
        """Register a new call and send its first frame (``build(call_id) -> Frame``)."""
        conn = self._connection()
        if call_id is None:
            with self._lock:
                call_id = self._next_id
                self._next_id += 1
        state = _CallState(call_id, conn, request_id)
        conn.register(state)
        try:
            conn.send(build(call_id))
        except BaseException:
            conn.unregister(call_id)
            raise
        return state

    def _recv(self, state: _CallState, deadline: Optional[float]) -> "pb.Frame":
        """The call's next frame; raises its error, or _Timeout when the deadline passes."""
        if deadline is None:
            item = state.queue.get()
        else:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Timeout()
            try:
                item = state.queue.get(timeout=remaining)
            except queue.Empty:
                raise _Timeout() from None
        if isinstance(item, BaseException):
            state.done = True
            if state.request_id and not item.request_id:
                item.request_id = state.request_id
            raise item
        if ends_call(item):
            state.done = True
        return item

    def _abandon(self, state: _CallState, reason: str) -> None:
        """Stop waiting for a call: send Cancel (best effort) and drop its remaining frames."""
        if state.done or state.abandoned:
            return
        state.abandoned = True
        if state.conn.is_open(state.call_id):
            try:
                state.conn.send(cv.cancel_frame(state.call_id, reason))
            except SwitchboardError:
                pass

    def _cancel(self, state: _CallState, reason: str) -> None:
        if state.conn.is_open(state.call_id):
            state.conn.send(cv.cancel_frame(state.call_id, reason))

    def _deadline(self, timeout: Optional[float]) -> Optional[float]:
        if timeout is _UNSET:
            timeout = self.timeout
        return None if timeout is None else time.monotonic() + timeout

    def _unary(self, state: _CallState, deadline: Optional[float]) -> "pb.Frame":
        """Wait for the terminal frame of a call, cancelling it on timeout or interrupt."""
        try:
            while True:
                frame = self._recv(state, deadline)
                if state.done:
                    return frame
        except _Timeout:
            self._abandon(state, "client timeout")
            raise DeadlineExceeded(
                "the call did not finish within the client's timeout",
                reason_code="client_timeout",
                request_id=state.request_id,
            ) from None
        except SwitchboardError:
            raise
        except BaseException:  # KeyboardInterrupt and friends
            self._abandon(state, "interrupted")
            raise

    # ------------------------------------------------------------ completions

    def submit(
        self,
        messages: Optional[cv.MessagesArg] = None,
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
        tools: Optional[Sequence[cv.ToolLike]] = None,
        tool_choice: Optional[str] = None,
        response_format: Optional[cv.ResponseFormatLike] = None,
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
    ) -> "Call":
        """Start a unary completion and return at once; see :meth:`complete` for the arguments.

        The returned :class:`Call` gives the result (``call.result(timeout)``) and can
        be cancelled (``call.cancel()``) from any thread.
        """
        req = cv.build_completion_request(
            messages, route=route, provider=provider, model=model, system=system, max_tokens=max_tokens,
            temperature=temperature, top_p=top_p, stop=stop, seed=seed, tools=tools, tool_choice=tool_choice,
            response_format=response_format, max_cost_usd=max_cost_usd, latency_sla_ms=latency_sla_ms,
            require=require, tenant=tenant, tags=tags, key_overrides=key_overrides, deadline_ms=deadline_ms,
            request_id=request_id or new_request_id(), traceparent=traceparent, tracestate=tracestate, stream=False,
        )  # fmt: skip
        state = self._open(lambda cid: cv.completion_frame(cid, req), request_id=req.request_id)
        return Call(self, state)

    def complete(
        self,
        messages: Optional[cv.MessagesArg] = None,
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
        tools: Optional[Sequence[cv.ToolLike]] = None,
        tool_choice: Optional[str] = None,
        response_format: Optional[cv.ResponseFormatLike] = None,
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
        timeout: Optional[float] = _UNSET,
    ) -> Response:
        """Run a completion and return its final answer.

        Args:
            messages: a prompt string (one user message) or a list of messages:
                ``{"role": "user"|"system"|"assistant"|"tool", "content": ...}`` dicts,
                ``(role, content)`` pairs or ``switchboard.v1.Message`` objects.
            route: the route (policy) from the daemon's config.
            provider: an explicit provider instead of a route.
            model: the model; ``"provider/model"`` when no provider and no route is given.
            system: a system message placed before ``messages``.
            max_tokens, temperature, top_p, stop, seed: sampling options
                (``None`` = unset; ``temperature=0`` is sent as 0).
            tools: tools the model may call (``{"name", "description", "parameters"}``).
            tool_choice: ``"auto"``, ``"none"``, ``"required"`` or a tool name.
            response_format: ``"text"``, ``"json"`` or ``{"type": "json_schema", ...}``.
            max_cost_usd, latency_sla_ms, require: per-request hard caps
                (``require`` lists capabilities: tools, vision, json_schema, streaming, prefill).
            tenant: budget scope (default: derived from the peer's uid by the daemon).
            tags: free-form labels recorded with the decision.
            key_overrides: ``{provider: api_key}`` used for this request only.
            deadline_ms: the daemon-side deadline of the whole call (0/None = the route's).
            request_id: a correlation id; when absent the client generates one
                (:func:`new_request_id`), so every error, a client-side timeout
                included, carries the id under which the daemon records the decision.
            traceparent, tracestate: W3C Trace Context of the caller's span; the
                daemon's spans join that trace and the decision records its trace id
                (``Response.trace_id``). A malformed value is ignored by the daemon.
            timeout: client-side timeout in seconds (default: the client's ``timeout``).
                When it passes the call is cancelled and :class:`DeadlineExceeded` is
                raised with ``reason_code == "client_timeout"``.

        Returns:
            The :class:`Response`.

        Raises:
            SwitchboardError: a subclass per status code, e.g. :class:`Unavailable`,
                :class:`NotFound`, :class:`ResourceExhausted`, :class:`DeadlineExceeded`;
                its ``request_id`` is always set. :class:`ConnectionClosed` (retryable)
                when the daemon went away during the call.
        """
        call = self.submit(
            messages, route=route, provider=provider, model=model, system=system, max_tokens=max_tokens,
            temperature=temperature, top_p=top_p, stop=stop, seed=seed, tools=tools, tool_choice=tool_choice,
            response_format=response_format, max_cost_usd=max_cost_usd, latency_sla_ms=latency_sla_ms,
            require=require, tenant=tenant, tags=tags, key_overrides=key_overrides, deadline_ms=deadline_ms,
            request_id=request_id, traceparent=traceparent, tracestate=tracestate,
        )  # fmt: skip
        return call.result(timeout)

    def stream(
        self,
        messages: Optional[cv.MessagesArg] = None,
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
        tools: Optional[Sequence[cv.ToolLike]] = None,
        tool_choice: Optional[str] = None,
        response_format: Optional[cv.ResponseFormatLike] = None,
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
        timeout: Optional[float] = _UNSET,
    ) -> "Stream":
        """Run a streaming completion; same arguments as :meth:`complete`.

        Returns a :class:`Stream`: iterate it for :class:`Delta`, :class:`Restart` and
        finally :class:`Final` events, or call ``.collect()`` for the final
        :class:`Response`. ``timeout`` bounds the whole stream. Errors are raised from
        the iteration. Use it as a context manager to cancel the call when leaving
        early::

            with sb.stream("Tell me a story", route="default") as s:
                for ev in s:
                    if isinstance(ev, Delta):
                        print(ev.text, end="", flush=True)
        """
        req = cv.build_completion_request(
            messages, route=route, provider=provider, model=model, system=system, max_tokens=max_tokens,
            temperature=temperature, top_p=top_p, stop=stop, seed=seed, tools=tools, tool_choice=tool_choice,
            response_format=response_format, max_cost_usd=max_cost_usd, latency_sla_ms=latency_sla_ms,
            require=require, tenant=tenant, tags=tags, key_overrides=key_overrides, deadline_ms=deadline_ms,
            request_id=request_id or new_request_id(), traceparent=traceparent, tracestate=tracestate, stream=True,
        )  # fmt: skip
        deadline = self._deadline(timeout)
        state = self._open(lambda cid: cv.completion_frame(cid, req), request_id=req.request_id)
        return Stream(self, state, deadline)

    # ------------------------------------------------------------ admin

    def _admin(self, req: "pb.AdminRequest", kind: str, timeout: Optional[float]) -> Any:
        deadline = self._deadline(timeout)
        state = self._open(lambda cid: cv.admin_frame(cid, req))
        return cv.admin_result(self._unary(state, deadline), kind)

    def hello(self, client_name: Optional[str] = None, *, timeout: Optional[float] = 5.0) -> Welcome:
        """Send ``Hello`` and return the daemon's :class:`Welcome` (protocol version, limits)."""
        deadline = self._deadline(timeout)
        state = self._open(lambda _cid: cv.hello_frame(client_name or self.client_name), call_id=0)
        frame = self._unary(state, deadline)
        kind = frame.WhichOneof("body")
        if kind == "status":
            raise error_from_status(frame.status)
        if kind != "welcome":
            raise ProtocolError(f"Hello answered with {kind}", reason_code="unexpected_frame")
        return cv.welcome_from_pb(frame.welcome)

    def health(self, *, timeout: Optional[float] = _UNSET) -> Health:
        """The daemon's :class:`Health`: ``serving``, version, in-flight calls, circuits and budgets."""
        return cv.health_from_pb(self._admin(cv.health_request(), "health", timeout))

    def explain(self, request_id: str, *, timeout: Optional[float] = _UNSET) -> Explanation:
        """The :class:`Decision` of one request (``.event``) and its human-readable explanation (``.text``).

        Raises:
            NotFound: no decision with that request id.
        """
        return cv.explanation_from_pb(self._admin(cv.explain_request(request_id), "explain", timeout))

    def decisions(
        self,
        *,
        since: Optional[cv.TimeLike] = None,
        until: Optional[cv.TimeLike] = None,
        route: Optional[str] = None,
        tenant: Optional[str] = None,
        outcome: Optional[str] = None,
        provider: Optional[str] = None,
        limit: Optional[int] = None,
        timeout: Optional[float] = _UNSET,
    ) -> List[Decision]:
        """Recorded decision events (:class:`Decision`), newest first, filtered.

        Args:
            since, until: a ``datetime``, a ``timedelta`` or ``"15m"``/``"1h"``/``"2d"``
                (that long ago), or seconds since the epoch.
            route, tenant, provider: exact matches.
            outcome: ``"success"``, ``"failed"`` or ``"cancelled"``.
            limit: maximum number of events (0/None = the daemon's default).
        """
        req = cv.list_decisions_request(
            since=since, until=until, route=route, tenant=tenant, outcome=outcome, provider=provider, limit=limit
        )
        return [cv.decision_from_pb(e) for e in self._admin(req, "list_decisions", timeout).events]

    def set_key(self, provider: str, api_key: str, *, timeout: Optional[float] = _UNSET) -> KeyInfo:
        """Store an API key for ``provider`` in the daemon's memory (takes effect at once)."""
        return cv.key_info_from_pb(self._admin(cv.set_key_request(provider, api_key), "set_key", timeout))

    def rotate_key(self, provider: str, api_key: str = "", *, timeout: Optional[float] = _UNSET) -> KeyInfo:
        """Rotate ``provider``'s key: to ``api_key``, or to the next key of its pool when empty."""
        return cv.key_info_from_pb(self._admin(cv.rotate_key_request(provider, api_key), "rotate_key", timeout))

    def reload_config(self, path: str = "", *, timeout: Optional[float] = _UNSET) -> ReloadResult:
        """Ask the daemon to reload its config (``path`` or the file it was started with)."""
        return cv.reload_from_pb(self._admin(cv.reload_config_request(path), "reload_config", timeout))


class Call:
    """A unary completion in flight (from :meth:`Client.submit`)."""

    def __init__(self, client: Client, state: _CallState) -> None:
        self._client = client
        self._state = state
        self._lock = threading.Lock()
        self._response: Optional[Response] = None
        self._error: Optional[BaseException] = None

    @property
    def call_id(self) -> int:
        """The call id on the connection."""
        return self._state.call_id

    @property
    def request_id(self) -> str:
        """The request id the call was sent with (the daemon records its decision under it)."""
        return self._state.request_id

    def done(self) -> bool:
        """True once the result is known."""
        return self._response is not None or self._error is not None

    def cancel(self, reason: str = "cancelled by client") -> None:
        """Ask the daemon to cancel the call; ``result()`` then raises :class:`Cancelled`
        (unless the answer was already on its way)."""
        if self.done() or self._state.done:
            return
        self._client._cancel(self._state, reason)

    def result(self, timeout: Optional[float] = _UNSET) -> Response:
        """Wait for the answer. On timeout the call is cancelled and
        :class:`DeadlineExceeded` (``reason_code="client_timeout"``) is raised."""
        with self._lock:
            if self._response is not None:
                return self._response
            if self._error is not None:
                raise self._error
            deadline = self._client._deadline(timeout)
            try:
                frame = self._client._unary(self._state, deadline)
                self._response = cv.completion_result(frame)
                return self._response
            except SwitchboardError as exc:
                if not exc.request_id:
                    exc.request_id = self._state.request_id
                self._error = exc
                raise
            except BaseException:
                self._error = Cancelled("interrupted while waiting", reason_code="interrupted")
                raise


class Stream(Iterator[Event]):
    """A streaming completion in flight (from :meth:`Client.stream`).

    Iterating yields :class:`Delta`, :class:`Restart` and, last, :class:`Final`.
    After a :class:`Restart`, discard the text received so far; :attr:`text` does
    that for you. Errors (a terminal ``Status``) are raised from the iteration.
    """

    def __init__(self, client: Client, state: _CallState, deadline: Optional[float]) -> None:
        self._client = client
        self._state = state
        self._deadline = deadline
        self._acc = TextAccumulator()
        self._finished = False
        #: The final response, once the stream has ended successfully.
        self.response: Optional[Response] = None

    @property
    def call_id(self) -> int:
        return self._state.call_id

    @property
    def request_id(self) -> str:
        """The request id the call was sent with (the daemon records its decision under it)."""
        return self._state.request_id

    @property
    def text(self) -> str:
        """The answer so far, from the current attempt (reset by every restart)."""
        return self._acc.text

    @property
    def restarts(self) -> int:
        """How many times the stream restarted on another provider."""
        return self._acc.restarts

    def __iter__(self) -> "Stream":
        return self

    def __next__(self) -> Event:
        if self._finished:
            raise StopIteration
        try:
            frame = self._client._recv(self._state, self._deadline)
        except _Timeout:
            self._finished = True
            self._client._abandon(self._state, "client timeout")
            raise DeadlineExceeded(
                "the stream did not finish within the client's timeout",
                reason_code="client_timeout",
                request_id=self._state.request_id,
            ) from None
        except SwitchboardError:
            self._finished = True
            raise
        except BaseException:
            self._finished = True
            self._client._abandon(self._state, "interrupted")
            raise
        try:
            event: Event = cv.stream_event(frame)
        except SwitchboardError as e:
            self._finished = True
            if not e.request_id:
                e.request_id = self._state.request_id
            if isinstance(e, ProtocolError):
                self._client._abandon(self._state, "protocol error")
            raise
        if isinstance(event, Final):
            self._finished = True
            self.response = event.response
        self._acc.add(event)
        return event

    def collect(self) -> Response:
        """Consume the rest of the stream and return the final :class:`Response`.

        Its ``content`` is the whole answer of the provider that finished it.
        """
        for _ in self:
            pass
        if self.response is None:
            raise ProtocolError("the stream ended without a final response", reason_code="unexpected_frame")
        return self.response

    def cancel(self, reason: str = "cancelled by client") -> None:
        """Ask the daemon to cancel; the iteration then ends with :class:`Cancelled`."""
        if self._finished or self._state.done:
            return
        self._client._cancel(self._state, reason)

    def close(self) -> None:
        """Stop consuming: cancel the call if it is still running and drop its frames."""
        if not self._finished:
            self._finished = True
            self._client._abandon(self._state, "stream closed by client")

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        # Best effort without blocking: never wait for the send lock here (this may run
        # from the garbage collector in a thread that is holding it).
        try:
            if self._finished or self._state.done or self._state.abandoned:
                return
            self._state.abandoned = True
            conn = self._state.conn
            if not conn.usable or not conn.send_lock.acquire(blocking=False):
                return
            try:
                conn.sock.sendall(encode_frame(cv.cancel_frame(self._state.call_id, "stream dropped")))
            finally:
                conn.send_lock.release()
        except Exception:
            pass
