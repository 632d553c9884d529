"""Every golden frame in proto/testdata decodes to exactly its .txtpb (no daemon needed)."""

from __future__ import annotations

import pathlib
import struct

import pytest
from google.protobuf import text_format

from switchboard_client import FrameDecoder, decode_frame, encode_frame
from switchboard_client._convert import response_from_pb as response_from_pb_for_tests
from switchboard_client._pb.switchboard.v1 import switchboard_pb2 as pb

from .conftest import TESTDATA

FRAMES = sorted(TESTDATA.glob("*.frame"))
EXPECTED = {
    "hello", "welcome", "completion_request_unary", "completion_request_stream", "completion_chunk",
    "stream_restart", "completion_response", "completion_response_unknown_cost", "status_unavailable",
    "cancel", "admin_health_request", "admin_health_response",
}  # fmt: skip


def test_golden_set_is_complete() -> None:
    names = {p.stem for p in FRAMES}
    assert EXPECTED <= names, f"missing golden frames: {sorted(EXPECTED - names)}"
    for p in FRAMES:
        assert p.with_suffix(".txtpb").exists(), f"{p.name} has no .txtpb"


@pytest.mark.parametrize("path", FRAMES, ids=[p.stem for p in FRAMES])
def test_golden_frame_decodes(path: pathlib.Path) -> None:
    data = path.read_bytes()
    assert data[0] == 0, "flags byte must be 0"
    (length,) = struct.unpack(">I", data[1:5])
    assert length == len(data) - 5
    frame = decode_frame(data)
    expected = text_format.Parse(path.with_suffix(".txtpb").read_text(encoding="utf-8"), pb.Frame())
    assert frame == expected
    # The incremental decoder agrees, fed one byte at a time.
    dec = FrameDecoder()
    got = []
    for i in range(len(data)):
        got += dec.feed(data[i : i + 1])
    assert got == [expected] and dec.buffered == 0
    # Re-encoding gives a frame that decodes to the same message.
    assert decode_frame(encode_frame(frame)) == expected


def _load(name: str) -> pb.Frame:
    return decode_frame((TESTDATA / f"{name}.frame").read_bytes())


def test_golden_optional_fields() -> None:
    req = _load("completion_request_unary").completion_request
    for f in ("max_tokens", "temperature", "top_p", "seed"):
        assert req.HasField(f), f
    assert req.seed == -42 and req.max_tokens == 256
    assert req.constraints.HasField("max_cost_usd") and req.constraints.HasField("latency_sla_ms")
    assert req.messages[1].content.startswith("What is the weather in Zürich?")
    assert "😀" in req.messages[1].content
    assert req.tags["team"] == "payments"

    stream_req = _load("completion_request_stream").completion_request
    assert stream_req.stream
    assert stream_req.HasField("temperature") and stream_req.temperature == 0.0
    assert not stream_req.HasField("top_p")


def test_golden_response_costs() -> None:
    r = response_from_pb_for_tests(_load("completion_response").completion_response)
    assert r.cost_usd == pytest.approx(0.00012)
    assert r.baseline_cost_usd == pytest.approx(0.00096)
    assert r.cost_delta_usd == pytest.approx(-0.00084)
    assert r.finish_reason == "stop" and r.attempts == 2
    assert r.content == "It is 21°C in Zürich."
    assert r.tool_calls[0].arguments() == {"city": "Bern"}

    unknown = response_from_pb_for_tests(_load("completion_response_unknown_cost").completion_response)
    assert unknown.cost_usd is None and unknown.baseline_cost_usd is None and unknown.cost_delta_usd is None
    assert unknown.finish_reason == "length"


def test_golden_status_maps_to_exception() -> None:
    from switchboard_client import StatusCode, Unavailable, error_from_status

    err = error_from_status(_load("status_unavailable").status)
    assert isinstance(err, Unavailable)
    assert err.code == StatusCode.UNAVAILABLE
    assert err.reason_code == "provider_5xx"
    assert err.retryable is True
    assert err.retry_after == pytest.approx(1.5)
    assert err.request_id == "req-golden-0004"


def test_golden_stream_events() -> None:
    from switchboard_client import Delta, Final, Restart, TextAccumulator
    from switchboard_client._convert import delta_from_pb, restart_from_pb

    d = delta_from_pb(_load("completion_chunk").completion_chunk)
    r = restart_from_pb(_load("stream_restart").stream_restart)
    assert isinstance(d, Delta) and d.text == "Once upon a time" and d.tool_call_deltas[0].name == "lookup"
    assert isinstance(r, Restart) and r.reason == "stream_cut" and r.next_provider == "sim-a"
    acc = TextAccumulator()
    acc.add(d)
    acc.add(r)
    acc.add(Delta("fresh"))
    acc.add(Final(response_from_pb_for_tests(_load("completion_response").completion_response)))
    assert acc.text == "fresh" and acc.restarts == 1


def test_golden_admin() -> None:
    assert _load("admin_health_request").admin_request.WhichOneof("kind") == "health"
    health = _load("admin_health_response").admin_response.health
    assert health.serving and health.circuits[0].state == "open"
    assert health.budgets[0].HasField("hard_limit_usd") and not health.budgets[0].HasField("soft_limit_usd")
    assert _load("cancel").cancel.reason == "client timeout"
    assert _load("hello").call_id == 0 and _load("hello").hello.protocol_version == 1
