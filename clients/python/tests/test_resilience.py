"""The client across daemon restarts, its defaults, request ids on errors, typed
admin results and image content parts, against the real switchboardd."""

from __future__ import annotations

import asyncio
import signal
import threading
import time

import pytest

from switchboard_client import (
    AsyncClient,
    Client,
    ConnectionClosed,
    Decision,
    DeadlineExceeded,
    Explanation,
    FailedPrecondition,
    Health,
    ImagePart,
    NotFound,
    StatusCode,
    Unavailable,
    Welcome,
)
from switchboard_client import _convert as cv
from switchboard_client._framing import FrameDecoder, encode_frame

# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201f5cba7a50000000049454e44ae426082"
)


def test_client_survives_daemon_restart(own_daemon) -> None:
    c = Client(own_daemon.socket, timeout=30, reconnect_timeout=20)
    try:
        assert c.complete("before", route="default").content
        in_flight = c.submit("slow", route="slow")  # ~3 s on sim-slow
        time.sleep(0.2)
        own_daemon.stop(signal.SIGKILL)  # a crash: nothing drains
        with pytest.raises(ConnectionClosed) as ei:
            in_flight.result(timeout=10)
        err = ei.value
        assert isinstance(err, Unavailable) and err.code == StatusCode.UNAVAILABLE
        assert err.retryable is True
        assert err.request_id == in_flight.request_id != ""
        own_daemon.start()
        # Same Client object: the next calls reconnect by themselves.
        r = c.complete("after", route="default")
        assert r.content and r.request_id
        assert c.reconnects == 1
        assert c.health().serving
        s = c.stream("stream after restart", route="default").collect()
        assert s.content
        # A graceful restart (SIGTERM drains) works the same.
        own_daemon.stop(signal.SIGTERM)
        own_daemon.start()
        assert c.complete("after the second restart", route="default").content
        assert c.reconnects == 2
    finally:
        c.close()


def test_call_made_while_the_daemon_is_down_waits_for_it(own_daemon) -> None:
    c = Client(own_daemon.socket, timeout=30, reconnect_timeout=20)
    try:
        own_daemon.stop()
        restarter = threading.Timer(0.7, own_daemon.start)
        restarter.start()
        t0 = time.monotonic()
        r = c.complete("while down", route="default")  # reconnects with back-off
        restarter.join()
        assert r.content
        assert time.monotonic() - t0 >= 0.5
    finally:
        c.close()


def test_daemon_gone_for_good_fails_retryable_after_reconnect_timeout(own_daemon) -> None:
    c = Client(own_daemon.socket, timeout=5, reconnect_timeout=0.5)
    try:
        own_daemon.stop()
        t0 = time.monotonic()
        with pytest.raises(ConnectionClosed) as ei:
            c.complete("nobody home", route="default")
        assert ei.value.reason_code == "connect_failed"
        assert ei.value.retryable
        assert "is switchboardd running?" in ei.value.message
        assert 0.4 < time.monotonic() - t0 < 5
    finally:
        c.close()


def test_closed_client_does_not_reconnect(own_daemon) -> None:
    c = Client(own_daemon.socket)
    c.close()
    with pytest.raises(ConnectionClosed) as ei:
        c.complete("x", route="default")
    assert ei.value.reason_code == "client_closed"


def test_async_client_survives_daemon_restart(own_daemon) -> None:
    async def main() -> None:
        async with AsyncClient(own_daemon.socket, timeout=30, reconnect_timeout=20) as sb:
            assert (await sb.complete("before", route="default")).content
            task = asyncio.ensure_future(sb.complete("slow", route="slow"))
            await asyncio.sleep(0.2)
            own_daemon.stop(signal.SIGKILL)
            with pytest.raises(ConnectionClosed) as ei:
                await task
            assert ei.value.retryable and ei.value.request_id
            own_daemon.start()
            assert (await sb.complete("after", route="default")).content
            assert sb.reconnects == 1
            assert (await sb.health()).serving

    asyncio.run(main())


def test_socket_path_defaults_to_SWITCHBOARD_SOCKET(daemon: str, monkeypatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_SOCKET", daemon)
    with Client() as c:
        assert c.socket_path == daemon
        assert c.complete("Hi", route="default").content

    async def main() -> None:
        async with AsyncClient() as sb:
            assert sb.socket_path == daemon
            assert (await sb.complete("Hi", route="default")).content

    asyncio.run(main())


def test_client_timeout_carries_the_request_id_of_the_decision(client: Client) -> None:
    with pytest.raises(DeadlineExceeded) as ei:
        client.complete("slow", route="slow", timeout=0.3)
    rid = ei.value.request_id
    assert rid, "a client-side timeout must say which request it was"
    assert rid in str(ei.value)
    # The daemon records the (cancelled) call under that id.
    deadline = time.monotonic() + 10
    while True:
        try:
            e = client.explain(rid)
            break
        except NotFound:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    # explain finds it by the id the client sent (kept as the correlation id).
    assert rid in (e.event.request_id, e.event.correlation_id)
    assert e.event.outcome == "cancelled"


def test_stream_timeout_and_daemon_errors_carry_request_ids(client: Client) -> None:
    with pytest.raises(DeadlineExceeded) as ei:
        client.stream("slow", route="slow", timeout=0.3).collect()
    assert ei.value.request_id
    with pytest.raises(NotFound) as ei2:
        client.complete("Hi", route="no-such-route")
    assert ei2.value.request_id
    with pytest.raises(Unavailable) as ei3:
        client.complete("Hi", route="doomed", request_id="corr-doomed-1")
    assert ei3.value.correlation_id == "corr-doomed-1"
    assert ei3.value.request_id and ei3.value.request_id != "corr-doomed-1"


def test_typed_admin_results(client: Client) -> None:
    r = client.complete("typed", route="failover", tenant="typed")
    h = client.health()
    assert isinstance(h, Health) and h.serving and h.version
    assert all(isinstance(c.state, str) and c.provider for c in h.circuits)
    x = client.explain(r.request_id)
    assert isinstance(x, Explanation) and isinstance(x.event, Decision)
    assert x.event.status_code == StatusCode.OK
    assert [a.outcome for a in x.event.attempts][-1] == "success"
    assert x.event.attempts[0].failure_class == "transient"
    assert x.event.candidates[0].provider == "sim-bad"
    assert x.event.cost_usd is not None and x.event.cost_usd > 0
    assert x.event.attempts[-1].usage.output_tokens > 0
    ds = client.decisions(since="1h", route="failover", limit=10)
    assert ds and all(isinstance(d, Decision) and d.route == "failover" for d in ds)
    w = client.hello()
    assert isinstance(w, Welcome) and w.protocol_version == 1 and w.max_frame_bytes > 0
    assert client.welcome is not None and client.welcome.protocol_version == 1


def test_image_parts_are_served_by_a_vision_candidate(client: Client) -> None:
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in these images?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
                ImagePart.from_bytes(PNG, "image/png"),
            ],
        }
    ]
    r = client.complete(messages, route="vision")
    assert r.provider == "sim-v" and r.content
    e = client.explain(r.request_id).event
    rejected = {c.provider: c.rejection_reason for c in e.candidates if not c.eligible}
    assert rejected == {"sim-a": "capability_missing"}
    # The streamed form too.
    assert client.stream(messages, route="vision").collect().provider == "sim-v"


def test_image_parts_are_refused_by_a_route_without_vision(client: Client) -> None:
    with pytest.raises(Unavailable) as ei:
        client.complete([{"role": "user", "content": [{"type": "text", "text": "look"},
                                                      ImagePart("https://example.com/a.png")]}], route="default")
    err = ei.value
    assert err.reason_code == "capability_missing"
    assert "vision" in err.message
    assert err.request_id


def test_bad_image_parts_are_invalid_arguments(client: Client) -> None:
    from switchboard_client import InvalidArgument

    for bad in (
        ImagePart("ftp://example.com/a.png"),
        ImagePart("data:text/plain;base64,aGk="),
        ImagePart("data:image/png;base64,***"),
        ImagePart("https://example.com/a.png", detail="ultra"),
    ):
        with pytest.raises(InvalidArgument):
            client.complete([{"role": "user", "content": ["look", bad]}], route="vision")
    with pytest.raises(InvalidArgument):  # images only in user messages
        client.complete([{"role": "assistant", "content": [ImagePart("https://example.com/a.png")]},
                         {"role": "user", "content": "and?"}], route="vision")
    with pytest.raises((TypeError, ValueError)):
        client.complete([{"role": "user", "content": [{"type": "audio", "data": "x"}]}], route="vision")


def test_protocol_version_mismatch_gets_a_clear_status(daemon: str) -> None:
    import socket

    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    raw.settimeout(10)
    raw.connect(daemon)
    try:
        raw.sendall(encode_frame(cv.hello_frame("future-client", protocol_version=99)))
        dec, frames = FrameDecoder(), []
        while True:
            data = raw.recv(65536)
            if not data:
                break  # the daemon closes the connection after refusing
            frames += dec.feed(data)
        assert len(frames) == 1 and frames[0].call_id == 0
        st = frames[0].status
        assert st.code == StatusCode.FAILED_PRECONDITION
        assert st.reason_code == "unsupported_protocol_version"
        assert "99" in st.message and "1" in st.message
    finally:
        raw.close()


def test_client_handshake_refused_raises_failed_precondition(daemon: str, monkeypatch) -> None:
    real = cv.hello_frame
    monkeypatch.setattr(cv, "hello_frame", lambda name, protocol_version=1: real(name, protocol_version=2))
    with pytest.raises(FailedPrecondition) as ei:
        Client(daemon)
    assert ei.value.reason_code == "unsupported_protocol_version"
