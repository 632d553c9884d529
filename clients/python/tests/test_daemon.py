"""End-to-end tests of the thread-based Client against the real switchboardd.

Config: clients/testing/switchboard-test.yaml (simulated providers).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from switchboard_client import (
    Cancelled,
    Client,
    DeadlineExceeded,
    Delta,
    Final,
    NotFound,

    Restart,
    StatusCode,
    Unavailable,
    decode_frame,
    encode_frame,
)
from switchboard_client import _convert as cv
from switchboard_client._framing import FrameDecoder


def test_unary_complete(client: Client) -> None:
    r = client.complete("Say hello", route="default", max_tokens=64, temperature=0.2, tenant="tests", tags={"t": "unary"})
    assert r.content
    assert r.provider in ("sim-a", "sim-b")
    assert r.model
    assert r.request_id
    assert r.attempts >= 1
    assert r.route in ("", "default")


def test_unary_with_messages(client: Client) -> None:
    r = client.complete(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        route="default",
        max_tokens=16,
    )
    assert r.content and r.provider


def test_explicit_provider_and_model(client: Client) -> None:
    r = client.complete("Hi", provider="sim-a", model="small", max_tokens=16)
    assert r.content
    assert r.provider == "sim-a"


def test_client_chosen_request_id_is_a_correlation_id(client: Client) -> None:
    # The daemon issues request ids; the client's id is kept as the correlation id.
    r = client.complete("Hi", route="default", request_id="py-req-echo-1")
    assert r.request_id and r.request_id != "py-req-echo-1"
    assert client.explain(r.request_id).event.correlation_id == "py-req-echo-1"


def test_traceparent_is_recorded_as_the_decisions_trace_id(client: Client) -> None:
    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    r = client.complete("Hi", route="default", traceparent=tp, tracestate="vendor=abc")
    assert r.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert client.explain(r.request_id).event.trace_id == r.trace_id
    # A malformed traceparent is ignored by the daemon, not an error.
    bad = client.complete("Hi", route="default", traceparent="00-XYZ")
    assert bad.trace_id != r.trace_id


def test_streaming(client: Client) -> None:
    s = client.stream("Tell me a story", route="default", max_tokens=64)
    events = list(s)
    assert isinstance(events[-1], Final)
    assert all(isinstance(e, (Delta, Restart)) for e in events[:-1])
    deltas = [e for e in events if isinstance(e, Delta)]
    assert deltas, "a streamed answer has at least one delta"
    final = events[-1].response
    assert final.content
    assert s.text == final.content  # deltas since the last restart add up to the final answer
    assert s.response is final


def test_stream_collect(client: Client) -> None:
    with client.stream("Tell me a story", route="default") as s:
        r = s.collect()
    assert r.content and r.provider and r.request_id
    assert s.text == r.content


def test_stream_failover_route(client: Client) -> None:
    s = client.stream("Hi", route="failover")
    r = s.collect()
    assert r.provider == "sim-a"
    assert r.attempts >= 2
    assert s.text == r.content


def test_concurrent_calls_from_threads_share_one_connection(client: Client) -> None:
    def work(i: int) -> str:
        if i % 3 == 0:
            s = client.stream(f"stream {i}", route="default", max_tokens=32)
            r = s.collect()
            assert s.text == r.content
        else:
            r = client.complete(f"call {i}", route="default", max_tokens=32)
        assert r.content
        return r.request_id

    with ThreadPoolExecutor(max_workers=12) as pool:
        ids = list(pool.map(work, range(48)))
    assert len(set(ids)) == len(ids)


def test_failover_route_attempts(client: Client) -> None:
    r = client.complete("Hi", route="failover")
    assert r.attempts >= 2
    assert r.provider == "sim-a"
    assert r.content


def test_doomed_route_raises_unavailable(client: Client) -> None:
    with pytest.raises(Unavailable) as ei:
        client.complete("Hi", route="doomed")
    err = ei.value
    assert err.code == StatusCode.UNAVAILABLE
    assert err.reason_code  # e.g. provider_5xx
    assert err.request_id


def test_doomed_route_stream_raises_unavailable(client: Client) -> None:
    with pytest.raises(Unavailable) as ei:
        client.stream("Hi", route="doomed").collect()
    assert ei.value.reason_code


def test_unknown_route_raises_not_found(client: Client) -> None:
    with pytest.raises(NotFound) as ei:
        client.complete("Hi", route="no-such-route")
    assert ei.value.code == StatusCode.NOT_FOUND
    assert ei.value.reason_code == "unknown_route"


def test_client_timeout_cancels_and_connection_survives(client: Client) -> None:
    t0 = time.monotonic()
    with pytest.raises(DeadlineExceeded) as ei:
        client.complete("slow", route="slow", timeout=0.3)
    assert ei.value.reason_code == "client_timeout"
    assert time.monotonic() - t0 < 2.0
    assert client.complete("Hi", route="default").content  # the connection is still good


def test_stream_timeout(client: Client) -> None:
    with pytest.raises(DeadlineExceeded):
        client.stream("slow", route="slow", timeout=0.3).collect()
    assert client.health().serving


def test_cancel_unary(client: Client) -> None:
    call = client.submit("slow", route="slow")
    time.sleep(0.1)
    t0 = time.monotonic()
    call.cancel()
    with pytest.raises(Cancelled) as ei:
        call.result(timeout=10)
    assert ei.value.code == StatusCode.CANCELLED
    assert time.monotonic() - t0 < 1.5, "the daemon should end a cancelled call promptly"
    assert client.complete("Hi", route="default").content


def test_cancel_stream(client: Client) -> None:
    s = client.stream("slow", route="slow")
    time.sleep(0.1)
    s.cancel()
    with pytest.raises(Cancelled):
        s.collect()


def test_cancel_from_another_thread(client: Client) -> None:
    call = client.submit("slow", route="slow")
    threading.Timer(0.2, call.cancel).start()
    with pytest.raises(Cancelled):
        call.result(timeout=10)


def test_health(client: Client) -> None:
    h = client.health()
    assert h.serving is True


def test_hello_welcome(client: Client) -> None:
    w = client.hello()
    assert w.protocol_version == 1


def test_explain_and_decisions(client: Client) -> None:
    r = client.complete("Explain me", route="failover", tenant="explain-test")
    e = client.explain(r.request_id)
    assert e.event.request_id == r.request_id
    assert e.text
    assert len(e.event.attempts) >= 2
    with pytest.raises(Unavailable):
        client.complete("Hi", route="doomed")
    events = client.decisions(since="1h", limit=500)
    assert any(ev.request_id == r.request_id for ev in events)
    failed = client.decisions(since="1h", route="doomed", outcome="failed", limit=50)
    assert failed and all(ev.route == "doomed" for ev in failed)


def test_explain_unknown_request_id(client: Client) -> None:
    with pytest.raises(NotFound):
        client.explain("no-such-request-id")


def test_connections_are_independent(daemon: str) -> None:
    with Client(daemon) as a, Client(daemon) as b:
        assert a.complete("a", route="default").content
        assert b.complete("b", route="default").content


def test_protocol_error_closes_only_that_connection(daemon: str, client: Client) -> None:
    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    raw.settimeout(10)
    raw.connect(daemon)
    try:
        raw.sendall(b"\x07\x00\x00\x00\x02\x08\x01")  # flags 7: a protocol error
        dec = FrameDecoder()
        frames = []
        while True:
            data = raw.recv(65536)
            if not data:
                break  # the daemon closed the connection
            frames += dec.feed(data)
        statuses = [f.status for f in frames if f.WhichOneof("body") == "status"]
        assert statuses and statuses[0].code == StatusCode.PROTOCOL_ERROR
    finally:
        raw.close()
    assert client.complete("still here", route="default").content


def test_raw_wire_round_trip(daemon: str) -> None:
    """A hand-built frame on a raw socket gets a terminal frame with the same call_id."""
    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    raw.settimeout(10)
    raw.connect(daemon)
    try:
        req = cv.build_completion_request("raw", route="default")
        raw.sendall(encode_frame(cv.completion_frame(4242, req)))
        header = b""
        while len(header) < 5:
            header += raw.recv(5 - len(header))
        flags, n = struct.unpack(">BI", header)
        assert flags == 0
        payload = b""
        while len(payload) < n:
            payload += raw.recv(n - len(payload))
        frame = decode_frame(header + payload)
        assert frame.call_id == 4242
        assert frame.WhichOneof("body") == "completion_response"
    finally:
        raw.close()


def test_closed_client_raises(daemon: str) -> None:
    c = Client(daemon)
    c.close()
    from switchboard_client import ConnectionClosed

    with pytest.raises(ConnectionClosed):
        c.complete("x", route="default")


def test_connect_to_missing_socket_fails_cleanly(tmp_path) -> None:
    from switchboard_client import ConnectionClosed

    with pytest.raises(ConnectionClosed) as ei:
        Client(str(tmp_path / "nope.sock"))
    assert ei.value.reason_code == "connect_failed"


