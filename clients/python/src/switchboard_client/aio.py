"""asyncio Switchboard client, with the same API as :class:`switchboard_client.Client`."""

from __future__ import annotations

import asyncio
import os
from typing import Any, AsyncIterator, Dict, List, Mapping, Optional, Sequence, Union

from . import _convert as cv
from ._framing import DEFAULT_MAX_FRAME_BYTES, FrameDecoder, encode_frame, ends_call
from ._reconnect import Backoff
from ._pb.switchboard.v1 import switchboard_pb2 as pb
from .errors import ConnectionClosed, DeadlineExceeded, ProtocolError, SwitchboardError, copy_error, error_from_status
from .client import default_socket_path, new_request_id
from .models import Decision, Event, Explanation, Final, Health, KeyInfo, ReloadResult, Response, TextAccumulator, Welcome

__all__ = ["AsyncClient", "AsyncStream"]

_UNSET: Any = object()


class _Timeout(Exception):
    pass


class _CallState:
    __slots__ = ("call_id", "queue", "done", "abandoned", "request_id")

    def __init__(self, call_id: int, request_id: str = "") -> None:
        self.call_id = call_id
        self.request_id = request_id
        self.queue: "asyncio.Queue[Union[pb.Frame, SwitchboardError]]" = asyncio.Queue()
        self.done = False
        self.abandoned = False


class AsyncClient:
    """asyncio connection to the Switchboard daemon; one connection multiplexes
    concurrent calls (a reader task demultiplexes by ``call_id``).

    The connection opens on first use, or explicitly with ``await client.connect()``
    or ``async with AsyncClient(path) as client``. Use a client from one event loop.

    Example::

        async with AsyncClient("/run/switchboard/switchboard.sock") as sb:
            r = await sb.complete("Say hi", route="default")
            async for ev in sb.stream("Tell me a story", route="default"):
                ...

    Cancelling the awaiting task (``asyncio.CancelledError``) or a timeout sends a
    ``Cancel`` frame for the call.

    After the daemon restarts, calls in flight fail with :class:`ConnectionClosed`
    (retryable) and the next call reconnects with back-off, as :class:`Client` does.
    ``socket_path`` defaults to ``$SWITCHBOARD_SOCKET``.
    """

    def __init__(
        self,
        socket_path: Optional[Union[str, "os.PathLike[str]"]] = None,
        *,
        timeout: Optional[float] = None,
        connect_timeout: float = 5.0,
        reconnect_timeout: float = 10.0,
        handshake: bool = True,
        client_name: str = "switchboard-python-async",
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    ) -> None:
        self.socket_path = os.fspath(socket_path) if socket_path is not None else default_socket_path()
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.reconnect_timeout = reconnect_timeout
        self.handshake = handshake
        self.client_name = client_name
        #: The daemon's ``Welcome`` on the current connection (when ``handshake``).
        self.welcome: Optional[Welcome] = None
        #: How many times the client has reconnected.
        self.reconnects = 0
        self._ever_connected = False
        self._max_frame_bytes = max_frame_bytes
        self._reader: Optional[asyncio.StreamReader] = None
        self._writer: Optional[asyncio.StreamWriter] = None
        self._reader_task: Optional["asyncio.Task[None]"] = None
        self._connect_lock: Optional[asyncio.Lock] = None
        self._drain_lock: Optional[asyncio.Lock] = None
        self._calls: Dict[int, _CallState] = {}
        self._next_id = 1
        self._closed = False
        self._closing = False
        self._fatal: Optional[SwitchboardError] = None
        self._close_error: Optional[SwitchboardError] = None

    # ------------------------------------------------------------ lifecycle

    async def connect(self) -> "AsyncClient":
        """Open the connection (idempotent). After the connection was lost, reconnects
        with exponential back-off for up to ``reconnect_timeout`` seconds."""
        if self._connect_lock is None:
            self._connect_lock = asyncio.Lock()
            self._drain_lock = asyncio.Lock()
        async with self._connect_lock:
            if self._closing:
                raise ConnectionClosed("the client is closed", reason_code="client_closed")
            if self._writer is not None and not self._closed:
                return self
            if not self._ever_connected:
                await self._connect_once()
                self._ever_connected = True
                return self
            loop = asyncio.get_running_loop()
            backoff = Backoff(self.socket_path, self.reconnect_timeout, loop.time())
            while True:
                try:
                    await self._connect_once()
                    self.reconnects += 1
                    return self
                except SwitchboardError as exc:
                    await asyncio.sleep(backoff.next_wait(exc, loop.time(), self._closing))

    async def _connect_once(self) -> None:
        # A fresh connection: forget the dead one (its calls were already failed).
        self._reader = self._writer = None
        self._reader_task = None
        self._calls = {}
        self._closed = False
        self._fatal = None
        self._close_error = None
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_unix_connection(self.socket_path), self.connect_timeout
            )
        except (OSError, asyncio.TimeoutError) as exc:
            self._closed = True
            detail = getattr(exc, "strerror", None) or type(exc).__name__
            raise ConnectionClosed(
                f"cannot connect to {self.socket_path}: {detail} (is switchboardd running? "
                f"set SWITCHBOARD_SOCKET or pass the socket path)",
                reason_code="connect_failed",
                retryable=True,
            ) from exc
        self._reader_task = asyncio.get_running_loop().create_task(self._read_loop())
        if not self.handshake:
            return
        state = _CallState(0)
        self._calls[0] = state
        try:
            self._write(cv.hello_frame(self.client_name))
            frame = await self._unary(state, asyncio.get_running_loop().time() + self.connect_timeout)
            kind = frame.WhichOneof("body")
            if kind == "status":
                raise error_from_status(frame.status)
            if kind != "welcome":
                raise ProtocolError(f"Hello answered with {kind}", reason_code="unexpected_frame")
            self.welcome = cv.welcome_from_pb(frame.welcome)
        except BaseException:
            self._calls.pop(0, None)
            if self._writer is not None:
                self._writer.close()
            self._closed = True
            raise

    async def close(self) -> None:
        """Close the connection; calls in flight fail with :class:`ConnectionClosed`."""
        if self._closing:
            return
        self._closing = True
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
        if self._reader_task is not None:
            try:
                await asyncio.wait_for(self._reader_task, 5)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._reader_task.cancel()
        self._shutdown(None)

    @property
    def closed(self) -> bool:
        return self._closed or self._closing

    async def __aenter__(self) -> "AsyncClient":
        return await self.connect()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<switchboard_client.AsyncClient {self.socket_path!r} {'closed' if self.closed else 'open'}>"

    # ------------------------------------------------------------ plumbing

    async def _read_loop(self) -> None:
        assert self._reader is not None
        reader, writer = self._reader, self._writer  # this connection's, even after a reconnect
        decoder = FrameDecoder(self._max_frame_bytes)
        err: Optional[SwitchboardError] = None
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                for frame in decoder.feed(data):
                    self._dispatch(frame)
        except ProtocolError as exc:
            err = exc
        except OSError as exc:
            if not self._closing:
                err = ConnectionClosed(
                    f"connection to {self.socket_path} failed: {exc}", reason_code="connection_lost", retryable=True
                )
        finally:
            if self._reader is reader:
                self._shutdown(err)
            if writer is not None:
                writer.close()

    def _dispatch(self, frame: "pb.Frame") -> None:
        cid = frame.call_id
        kind = frame.WhichOneof("body")
        call = self._calls.get(cid)
        if cid == 0 and kind == "status" and call is None:
            self._fatal = error_from_status(frame.status)
            return
        if call is None:
            return
        if ends_call(frame):
            del self._calls[cid]
        if not call.abandoned:
            call.queue.put_nowait(frame)

    def _shutdown(self, err: Optional[SwitchboardError]) -> None:
        if self._closed:
            return
        self._closed = True
        if err is None:
            if self._fatal is not None:
                err = self._fatal
            elif self._closing:
                err = ConnectionClosed("the client closed the connection", reason_code="client_closed")
            else:
                err = ConnectionClosed("the daemon closed the connection", reason_code="connection_closed", retryable=True)
        self._close_error = err
        calls = list(self._calls.values())
        self._calls.clear()
        for call in calls:
            call.queue.put_nowait(copy_error(err))

    def _write(self, frame: "pb.Frame") -> None:
        """Queue a frame on the transport (whole frames never interleave)."""
        if self._writer is None or self._writer.is_closing():
            raise ConnectionClosed("the connection is closed", reason_code="connection_closed", retryable=True)
        self._writer.write(encode_frame(frame))

    async def _send(self, frame: "pb.Frame") -> None:
        self._write(frame)
        assert self._drain_lock is not None and self._writer is not None
        try:
            async with self._drain_lock:
                await self._writer.drain()
        except OSError as exc:
            raise ConnectionClosed(
                f"cannot send to {self.socket_path}: {exc}", reason_code="connection_lost", retryable=True
            ) from exc

    async def _open(self, build: Any, call_id: Optional[int] = None, request_id: str = "") -> _CallState:
        await self.connect()
        if self._closed or self._closing:
            raise copy_error(self._close_error) if self._close_error else ConnectionClosed(
                "the connection is closed", reason_code="connection_closed", retryable=True
            )
        if call_id is None:
            call_id = self._next_id
            self._next_id += 1
        state = _CallState(call_id, request_id)
        self._calls[call_id] = state
        try:
            await self._send(build(call_id))
        except BaseException:
            self._calls.pop(call_id, None)
            raise
        return state

    async def _recv(self, state: _CallState, deadline: Optional[float]) -> "pb.Frame":
        if deadline is None:
            item = await state.queue.get()
        else:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise _Timeout()
            try:
                item = await asyncio.wait_for(state.queue.get(), remaining)
            except asyncio.TimeoutError:
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
        """Send Cancel (without waiting) and drop the call's remaining frames."""
        if state.done or state.abandoned:
            return
        state.abandoned = True
        if state.call_id in self._calls:
            try:
                self._write(cv.cancel_frame(state.call_id, reason))
            except SwitchboardError:
                pass

    def _deadline(self, timeout: Optional[float]) -> Optional[float]:
        if timeout is _UNSET:
            timeout = self.timeout
        return None if timeout is None else asyncio.get_running_loop().time() + timeout

    async def _unary(self, state: _CallState, deadline: Optional[float]) -> "pb.Frame":
        try:
            while True:
                frame = await self._recv(state, deadline)
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
        except BaseException:  # asyncio.CancelledError, KeyboardInterrupt
            self._abandon(state, "cancelled")
            raise

    # ------------------------------------------------------------ completions

    async def complete(
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
        """Run a completion; arguments as :meth:`switchboard_client.Client.complete`.

        Cancelling the awaiting task sends ``Cancel`` to the daemon.
        """
        req = cv.build_completion_request(
            messages, route=route, provider=provider, model=model, system=system, max_tokens=max_tokens,
            temperature=temperature, top_p=top_p, stop=stop, seed=seed, tools=tools, tool_choice=tool_choice,
            response_format=response_format, max_cost_usd=max_cost_usd, latency_sla_ms=latency_sla_ms,
            require=require, tenant=tenant, tags=tags, key_overrides=key_overrides, deadline_ms=deadline_ms,
            request_id=request_id or new_request_id(), traceparent=traceparent, tracestate=tracestate, stream=False,
        )  # fmt: skip
        state = await self._open(lambda cid: cv.completion_frame(cid, req), request_id=req.request_id)
        deadline = self._deadline(timeout)
        try:
            return cv.completion_result(await self._unary(state, deadline))
        except SwitchboardError as exc:
            if not exc.request_id:
                exc.request_id = req.request_id
            raise

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
    ) -> "AsyncStream":
        """Start a streaming completion (not a coroutine): ``async for ev in client.stream(...)``
        or ``await client.stream(...).collect()``. The request is sent on first iteration."""
        req = cv.build_completion_request(
            messages, route=route, provider=provider, model=model, system=system, max_tokens=max_tokens,
            temperature=temperature, top_p=top_p, stop=stop, seed=seed, tools=tools, tool_choice=tool_choice,
            response_format=response_format, max_cost_usd=max_cost_usd, latency_sla_ms=latency_sla_ms,
            require=require, tenant=tenant, tags=tags, key_overrides=key_overrides, deadline_ms=deadline_ms,
            request_id=request_id or new_request_id(), traceparent=traceparent, tracestate=tracestate, stream=True,
        )  # fmt: skip
        return AsyncStream(self, req, timeout)

    # ------------------------------------------------------------ admin

    async def _admin(self, req: "pb.AdminRequest", kind: str, timeout: Optional[float]) -> Any:
        state = await self._open(lambda cid: cv.admin_frame(cid, req))
        return cv.admin_result(await self._unary(state, self._deadline(timeout)), kind)

    async def hello(self, client_name: Optional[str] = None, *, timeout: Optional[float] = 5.0) -> Welcome:
        """Send ``Hello``; returns the daemon's :class:`Welcome`."""
        state = await self._open(lambda _cid: cv.hello_frame(client_name or self.client_name), call_id=0)
        frame = await self._unary(state, self._deadline(timeout))
        kind = frame.WhichOneof("body")
        if kind == "status":
            raise error_from_status(frame.status)
        if kind != "welcome":
            raise ProtocolError(f"Hello answered with {kind}", reason_code="unexpected_frame")
        return cv.welcome_from_pb(frame.welcome)

    async def health(self, *, timeout: Optional[float] = _UNSET) -> Health:
        """The daemon's :class:`Health` (``serving``, circuits, budgets...)."""
        return cv.health_from_pb(await self._admin(cv.health_request(), "health", timeout))

    async def explain(self, request_id: str, *, timeout: Optional[float] = _UNSET) -> Explanation:
        """The :class:`Explanation` (``.event``, ``.text``) of one request."""
        return cv.explanation_from_pb(await self._admin(cv.explain_request(request_id), "explain", timeout))

    async def decisions(
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
        """Recorded :class:`Decision` events; arguments as :meth:`switchboard_client.Client.decisions`."""
        req = cv.list_decisions_request(
            since=since, until=until, route=route, tenant=tenant, outcome=outcome, provider=provider, limit=limit
        )
        return [cv.decision_from_pb(e) for e in (await self._admin(req, "list_decisions", timeout)).events]

    async def set_key(self, provider: str, api_key: str, *, timeout: Optional[float] = _UNSET) -> KeyInfo:
        """Store an API key for ``provider`` in the daemon's memory."""
        return cv.key_info_from_pb(await self._admin(cv.set_key_request(provider, api_key), "set_key", timeout))

    async def rotate_key(self, provider: str, api_key: str = "", *, timeout: Optional[float] = _UNSET) -> KeyInfo:
        """Rotate ``provider``'s key (to ``api_key`` or the next one of its pool)."""
        return cv.key_info_from_pb(await self._admin(cv.rotate_key_request(provider, api_key), "rotate_key", timeout))

    async def reload_config(self, path: str = "", *, timeout: Optional[float] = _UNSET) -> ReloadResult:
        """Ask the daemon to reload its config."""
        return cv.reload_from_pb(await self._admin(cv.reload_config_request(path), "reload_config", timeout))


class AsyncStream(AsyncIterator[Event]):
    """A streaming completion: an async iterator of :class:`Delta`, :class:`Restart`
    and, last, :class:`Final` events. ``await stream.collect()`` returns the final
    :class:`Response`. Use ``async with`` to cancel the call when leaving early."""

    def __init__(self, client: AsyncClient, req: "pb.CompletionRequest", timeout: Optional[float]) -> None:
        self._client = client
        self._req = req
        self._timeout = timeout
        self._state: Optional[_CallState] = None
        self._deadline: Optional[float] = None
        self._acc = TextAccumulator()
        self._finished = False
        #: The final response, once the stream has ended successfully.
        self.response: Optional[Response] = None

    @property
    def text(self) -> str:
        """The answer so far, from the current attempt (reset by every restart)."""
        return self._acc.text

    @property
    def restarts(self) -> int:
        return self._acc.restarts

    async def start(self) -> "AsyncStream":
        """Send the request now (iteration does it implicitly)."""
        if self._state is None:
            self._state = await self._client._open(
                lambda cid: cv.completion_frame(cid, self._req), request_id=self._req.request_id
            )
            self._deadline = self._client._deadline(self._timeout)
        return self

    def __aiter__(self) -> "AsyncStream":
        return self

    async def __anext__(self) -> Event:
        if self._finished:
            raise StopAsyncIteration
        await self.start()
        assert self._state is not None
        try:
            frame = await self._client._recv(self._state, self._deadline)
        except _Timeout:
            self._finished = True
            self._client._abandon(self._state, "client timeout")
            raise DeadlineExceeded(
                "the stream did not finish within the client's timeout",
                reason_code="client_timeout",
                request_id=self._req.request_id,
            ) from None
        except SwitchboardError:
            self._finished = True
            raise
        except BaseException:
            self._finished = True
            self._client._abandon(self._state, "cancelled")
            raise
        try:
            event: Event = cv.stream_event(frame)
        except SwitchboardError as e:
            self._finished = True
            if not e.request_id:
                e.request_id = self._req.request_id
            if isinstance(e, ProtocolError):
                self._client._abandon(self._state, "protocol error")
            raise
        if isinstance(event, Final):
            self._finished = True
            self.response = event.response
        self._acc.add(event)
        return event

    async def collect(self) -> Response:
        """Consume the rest of the stream and return the final :class:`Response`."""
        async for _ in self:
            pass
        if self.response is None:
            raise ProtocolError("the stream ended without a final response", reason_code="unexpected_frame")
        return self.response

    async def cancel(self, reason: str = "cancelled by client") -> None:
        """Ask the daemon to cancel; the iteration then ends with :class:`Cancelled`."""
        if self._state is None or self._finished or self._state.done:
            return
        if self._state.call_id in self._client._calls:
            await self._client._send(cv.cancel_frame(self._state.call_id, reason))

    async def aclose(self) -> None:
        """Stop consuming: cancel the call if it is still running."""
        if not self._finished:
            self._finished = True
            if self._state is not None:
                self._client._abandon(self._state, "stream closed by client")

    async def __aenter__(self) -> "AsyncStream":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
