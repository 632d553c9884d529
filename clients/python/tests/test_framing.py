"""Frame codec and request-building unit tests (no daemon needed)."""

from __future__ import annotations

import datetime as dt
import struct

import pytest

from switchboard_client import (
    FrameDecoder,
    NotFound,
    ProtocolError,
    StatusCode,
    SwitchboardError,
    Unavailable,
    decode_frame,
    encode_frame,
    error_from_status,
)
from switchboard_client import _convert as cv
from switchboard_client._pb.switchboard.v1 import switchboard_pb2 as pb


def test_header_layout() -> None:
    frame = cv.cancel_frame(7, "bye")
    data = encode_frame(frame)
    payload = frame.SerializeToString()
    assert data[:5] == b"\x00" + struct.pack(">I", len(payload))
    assert data[5:] == payload


def test_decoder_handles_split_and_coalesced_frames() -> None:
    frames = [cv.cancel_frame(i, "x" * i) for i in range(1, 40)]
    blob = b"".join(encode_frame(f) for f in frames)
    for chunk in (1, 3, 7, 64, len(blob)):
        dec = FrameDecoder()
        out = []
        for i in range(0, len(blob), chunk):
            out += dec.feed(blob[i : i + chunk])
        assert out == frames
        assert dec.buffered == 0


def test_empty_payload_is_a_frame() -> None:
    assert FrameDecoder().feed(b"\x00\x00\x00\x00\x00") == [pb.Frame()]


def test_bad_flags_rejected() -> None:
    with pytest.raises(ProtocolError) as ei:
        FrameDecoder().feed(b"\x01\x00\x00\x00\x00")
    assert ei.value.code == StatusCode.PROTOCOL_ERROR
    with pytest.raises(ProtocolError):
        decode_frame(b"\x02\x00\x00\x00\x00")


def test_oversized_frame_rejected_before_buffering() -> None:
    with pytest.raises(ProtocolError) as ei:
        FrameDecoder(max_frame_bytes=10).feed(b"\x00" + struct.pack(">I", 11))
    assert ei.value.reason_code == "frame_too_large"


def test_garbage_payload_rejected() -> None:
    with pytest.raises(ProtocolError):
        FrameDecoder().feed(b"\x00\x00\x00\x00\x02\xff\xff")


def test_decode_frame_length_mismatch() -> None:
    with pytest.raises(ProtocolError):
        decode_frame(b"\x00\x00\x00\x00\x05\x08")


def test_build_request_prompt_and_options() -> None:
    req = cv.build_completion_request(
        "hi", route="default", system="be brief", max_tokens=10, temperature=0, tenant="t1",
        tags={"a": "b"}, stop="END", seed=0, max_cost_usd=0.01, require=["tools"],
        key_overrides={"sim-a": "k"}, deadline_ms=500, request_id="r1",
    )  # fmt: skip
    assert req.route == "default"
    assert [(m.role, m.content) for m in req.messages] == [(pb.ROLE_SYSTEM, "be brief"), (pb.ROLE_USER, "hi")]
    assert req.HasField("max_tokens") and req.max_tokens == 10
    assert req.HasField("temperature") and req.temperature == 0.0  # 0 is sent, not dropped
    assert req.HasField("seed") and req.seed == 0
    assert not req.HasField("top_p")
    assert list(req.stop) == ["END"] and req.tags["a"] == "b" and req.tenant == "t1"
    assert req.constraints.HasField("max_cost_usd") and not req.constraints.HasField("latency_sla_ms")
    assert list(req.constraints.required_capabilities) == ["tools"]
    assert req.key_overrides[0].provider == "sim-a" and req.deadline_ms == 500 and req.request_id == "r1"
    assert not req.stream


def test_build_request_messages_tools_and_format() -> None:
    req = cv.build_completion_request(
        [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "tool_calls": [{"id": "c1", "name": "w", "arguments": {"city": "Bern"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "21C"},
            ("user", "thanks"),
        ],
        provider="sim-a",
        model="small",
        tools=[{"name": "w", "description": "weather", "parameters": {"type": "object"}}],
        tool_choice="auto",
        response_format={"type": "json_schema", "name": "x", "schema": {"type": "object"}, "strict": True},
        stream=True,
    )
    assert req.provider == "sim-a" and req.model == "small" and req.stream
    assert [m.role for m in req.messages] == [pb.ROLE_USER, pb.ROLE_ASSISTANT, pb.ROLE_TOOL, pb.ROLE_USER]
    assert req.messages[1].tool_calls[0].arguments_json == '{"city":"Bern"}'
    assert req.messages[2].tool_call_id == "c1"
    assert req.tools[0].parameters_json_schema == '{"type":"object"}'
    assert req.response_format.type == pb.ResponseFormat.TYPE_JSON_SCHEMA and req.response_format.strict


def test_provider_slash_model_is_split() -> None:
    req = cv.build_completion_request("x", model="sim-a/small")
    assert (req.provider, req.model) == ("sim-a", "small")
    req = cv.build_completion_request("x", provider="openrouter", model="meta/llama")
    assert (req.provider, req.model) == ("openrouter", "meta/llama")


def test_bad_role() -> None:
    with pytest.raises(ValueError):
        cv.build_completion_request([{"role": "wizard", "content": "x"}])


def test_status_mapping() -> None:
    for code in StatusCode:
        if code == StatusCode.OK:
            continue
        err = error_from_status(pb.Status(code=code, reason_code="r", message="m", retry_after_ms=250))
        assert isinstance(err, SwitchboardError)
        assert err.code == code and err.retry_after == 0.25
        assert err.code.name in str(err) and "(r)" in str(err)
    assert isinstance(error_from_status(pb.Status(code=pb.Status.NOT_FOUND)), NotFound)
    e = error_from_status(pb.Status(code=pb.Status.UNAVAILABLE))
    assert isinstance(e, Unavailable) and e.retry_after is None


def test_admin_frames_have_presence() -> None:
    f = cv.admin_frame(3, cv.health_request())
    again = decode_frame(encode_frame(f))
    assert again.WhichOneof("body") == "admin_request"
    assert again.admin_request.WhichOneof("kind") == "health"
    c = decode_frame(encode_frame(cv.cancel_frame(4)))
    assert c.WhichOneof("body") == "cancel" and c.call_id == 4
    ld = decode_frame(encode_frame(cv.admin_frame(5, cv.list_decisions_request())))
    assert ld.admin_request.WhichOneof("kind") == "list_decisions"


def test_time_arguments() -> None:
    now = 1_700_000_000.0
    assert cv.to_epoch_ms(None) == 0
    assert cv.to_epoch_ms("1h", now=now) == int((now - 3600) * 1000)
    assert cv.to_epoch_ms("90s", now=now) == int((now - 90) * 1000)
    assert cv.to_epoch_ms(dt.timedelta(minutes=5), now=now) == int((now - 300) * 1000)
    when = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    assert cv.to_epoch_ms(when) == int(when.timestamp() * 1000)
    assert cv.to_epoch_ms(now) == int(now * 1000)
    with pytest.raises(ValueError):
        cv.to_epoch_ms("yesterday")
