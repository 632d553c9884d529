"""The unmodified openai SDK, given only base_url and an API key, against the sidecar."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.error
import urllib.request

import openai
import pytest

from conftest import TOKEN_A, TOKEN_B

MSG = [{"role": "user", "content": "hello"}]


def test_unary_completion_with_decision_extras(client, sidecar):
    raw = client.chat.completions.with_raw_response.create(model="default", messages=MSG)
    c = raw.parse()
    assert c.object == "chat.completion"
    assert c.choices[0].message.role == "assistant"
    assert c.choices[0].message.content == "fake answer from gpt-fake"
    assert c.choices[0].finish_reason == "stop"
    assert c.usage.prompt_tokens > 0 and c.usage.completion_tokens > 0
    assert c.usage.total_tokens == c.usage.prompt_tokens + c.usage.completion_tokens
    h = raw.headers
    rid = h["x-switchboard-request-id"]
    assert c.id == f"chatcmpl-{rid}"
    assert h["x-switchboard-provider"] == "fake" and h["x-switchboard-model"] == "gpt-fake"
    assert h["x-switchboard-attempts"] == "1"
    assert float(h["x-switchboard-cost-usd"]) > 0
    assert "route=default" in h["x-switchboard-decision"]
    # `switchboard explain` shows the HTTP request's decision, with the token's tenant.
    e = sidecar.explain(rid)
    assert e["request_id"] == rid and e["route"] == "default"
    assert e["tenant"] == "team-a"
    assert e["outcome"] == "success"


def test_streaming_chunks_done_and_usage(client):
    stream = client.chat.completions.create(model="default", messages=MSG, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == "fake answer from gpt-fake"
    assert chunks[0].choices[0].delta.role == "assistant"
    finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert all(ch.object == "chat.completion.chunk" for ch in chunks)
    assert len({ch.id for ch in chunks}) == 1
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0  # include_usage


def test_stream_helper_accumulates(client):
    # The SDK's own higher-level stream API parses our chunks into a final message.
    with client.chat.completions.stream(model="default", messages=MSG) as s:
        for _ in s:
            pass
        final = s.get_final_completion()
    assert final.choices[0].message.content == "fake answer from gpt-fake"


def test_async_client_concurrent(sidecar):
    async def main():
        async with openai.AsyncOpenAI(base_url=sidecar.base_url, api_key=TOKEN_B, max_retries=0) as c:
            rs = await asyncio.gather(*[c.chat.completions.create(model="default", messages=MSG) for _ in range(8)])
            s = await c.chat.completions.create(model="default", messages=MSG, stream=True)
            text = "".join([ch.choices[0].delta.content or "" async for ch in s if ch.choices])
            return rs, text

    rs, text = asyncio.run(main())
    assert all(r.choices[0].message.content == "fake answer from gpt-fake" for r in rs)
    assert len({r.id for r in rs}) == 8
    assert text == "fake answer from gpt-fake"


def test_tools_unary_and_streamed(client):
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "weather",
                                                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    c = client.chat.completions.create(model="default", messages=MSG, tools=tools, tool_choice="auto")
    call = c.choices[0].message.tool_calls[0]
    assert c.choices[0].finish_reason == "tool_calls"
    assert call.type == "function" and call.function.name == "get_weather"
    json.loads(call.function.arguments)
    # Streamed tool call deltas assemble into the same call.
    with client.chat.completions.stream(model="default", messages=MSG, tools=tools) as s:
        for _ in s:
            pass
        final = s.get_final_completion()
    sc = final.choices[0].message.tool_calls[0]
    assert sc.function.name == "get_weather" and sc.function.arguments == call.function.arguments
    # The tool result goes back as a tool message.
    follow = client.chat.completions.create(model="default", tools=tools, messages=MSG + [
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"}])
    assert follow.choices[0].message.content == "fake answer from gpt-fake"


def test_image_parts_and_response_format(client):
    c = client.chat.completions.create(model="default", response_format={"type": "json_object"}, messages=[
        {"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}]}])
    assert c.choices[0].message.content
    c = client.chat.completions.create(model="default", messages=MSG, max_completion_tokens=20, temperature=0.2,
                                       top_p=0.9, stop=["\n\n"], seed=1, user="end-user-1",
                                       response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}})
    assert c.choices[0].message.content


def test_failover_route(client, sidecar):
    raw = client.chat.completions.with_raw_response.create(model="failover", messages=MSG)
    c = raw.parse()
    assert c.choices[0].message.content == "fake answer from gpt-fake"
    assert raw.headers["x-switchboard-attempts"] == "2"
    assert raw.headers["x-switchboard-provider"] == "fake"
    e = sidecar.explain(raw.headers["x-switchboard-request-id"])
    attempts = e["attempts"]
    assert [a["provider"] for a in attempts] == ["sim-bad", "fake"]
    assert attempts[0]["outcome"] == "failed" and attempts[1]["outcome"] == "success"


def test_streamed_failover_before_first_chunk_is_invisible(client):
    text = "".join(ch.choices[0].delta.content or "" for ch in
                   client.chat.completions.create(model="failover", messages=MSG, stream=True) if ch.choices)
    assert text == "fake answer from gpt-fake"


def test_budget_refusal_is_rate_limit_error_not_retried(sidecar):
    with openai.OpenAI(base_url=sidecar.base_url, api_key=TOKEN_A, max_retries=2) as c:
        with pytest.raises(openai.RateLimitError) as ei:
            c.chat.completions.create(model="budget", messages=MSG)
    e = ei.value
    assert e.status_code == 429
    assert e.body["type"] == "insufficient_quota" and e.body["code"] in ("budget_exhausted", "budget_violation")
    assert e.response.headers["x-should-retry"] == "false"
    assert int(e.response.headers["retry-after"]) > 0
    # max_retries=2 but x-should-retry: false, so exactly one decision was recorded.
    rid = e.response.headers["x-switchboard-request-id"]
    assert sidecar.explain(rid)["outcome"] == "failed"


def test_timeout_raises_sdk_timeout(sidecar):
    with openai.OpenAI(base_url=sidecar.base_url, api_key=TOKEN_A, max_retries=0, timeout=0.5) as c:
        with pytest.raises(openai.APITimeoutError):
            c.chat.completions.create(model="slow", messages=MSG)
    # The daemon is fine afterwards.
    with openai.OpenAI(base_url=sidecar.base_url, api_key=TOKEN_A, max_retries=0) as c:
        assert c.chat.completions.create(model="default", messages=MSG).choices[0].message.content


def test_auth_errors(sidecar):
    with openai.OpenAI(base_url=sidecar.base_url, api_key="wrong-token", max_retries=0) as c:
        with pytest.raises(openai.AuthenticationError) as ei:
            c.chat.completions.create(model="default", messages=MSG)
    assert ei.value.body["code"] == "invalid_token"
    assert "wrong-token" not in sidecar.log() and TOKEN_A not in sidecar.log(), "tokens are never logged"


def test_unknown_model_and_bad_request(client):
    with pytest.raises(openai.NotFoundError) as ei:
        client.chat.completions.create(model="no-such-route", messages=MSG)
    assert ei.value.body["code"] == "model_not_found" and ei.value.body["param"] == "model"
    with pytest.raises(openai.BadRequestError) as ei:
        client.chat.completions.create(model="default", messages=[{"role": "user", "content": "x"}], temperature=5)
    assert ei.value.body["param"] == "temperature"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="default", messages=[])


def test_direct_target(client):
    c = client.chat.completions.create(model="fake/gpt-fake", messages=MSG)
    assert c.model == "fake/gpt-fake"


def test_models_list(client):
    ids = {m.id: m for m in client.models.list()}
    assert {"default", "failover", "slow", "budget"} <= set(ids)
    extra = ids["default"].model_extra["switchboard"]
    assert extra["kind"] == "route"
    assert extra["candidates"][0]["target"] == "fake/gpt-fake"
    assert "vision" in extra["capabilities"]
    assert "fake/gpt-fake" in ids, "direct targets are listed when enabled"


def test_mid_stream_failure_without_prefill_ends_with_an_error_event(client, sidecar):
    got = []
    with pytest.raises(openai.APIError) as ei:
        for ch in client.chat.completions.create(model="cut-restart", messages=MSG, stream=True):
            if ch.choices and ch.choices[0].delta.content:
                got.append(ch.choices[0].delta.content)
    assert got, "the failure came after the first chunk"
    text = "".join(got)
    assert "large" not in text and text == "fake", f"nothing from the next candidate is spliced in: {text!r}"
    assert ei.value.body["code"] == "stream_cut"


def test_mid_stream_failure_with_prefill_continues(client):
    raw = client.chat.completions.with_raw_response.create(model="cut-continue", messages=MSG, stream=True)
    chunks = list(raw.parse())
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    # The cutter delivered "fake"; the next candidate continued from it (prefill).
    assert text.startswith("fake") and text.endswith("from gpt-fake")
    last = [ch for ch in chunks if ch.choices and ch.choices[0].finish_reason][-1]
    assert last.model_extra["switchboard"]["attempts"] == 2


def test_langchain_chat_openai(sidecar):
    lc = pytest.importorskip("langchain_openai")
    llm = lc.ChatOpenAI(base_url=sidecar.base_url, api_key=TOKEN_A, model="default", max_retries=0)
    assert llm.invoke("hello").content == "fake answer from gpt-fake"
    assert "".join(c.content for c in llm.stream("hello")) == "fake answer from gpt-fake"


# ---- raw HTTP: what a client that lies, floods or hangs up does -------------------------------

def _post(url: str, body: bytes, headers: dict | None = None) -> tuple[int, dict, bytes]:
    h = {"Authorization": f"Bearer {TOKEN_A}", "Content-Type": "application/json", **(headers or {})}
    req = urllib.request.Request(url, data=body, headers=h, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_malformed_oversized_and_unknown_path(sidecar):
    url = sidecar.base_url + "/chat/completions"
    status, _, body = _post(url, b"{not json")
    assert status == 400 and json.loads(body)["error"]["type"] == "invalid_request_error"
    status, _, body = _post(url, b'{"model":"default","messages":[{"role":"user","content":"' + b"x" * 70000 + b'"}]}')
    assert status == 413 and json.loads(body)["error"]["code"] == "request_too_large"
    status, _, body = _post(sidecar.base_url + "/embeddings", b"{}")
    assert status == 404 and "error" in json.loads(body)
    status, _, _ = _post(url, json.dumps({"model": "default", "messages": MSG}).encode(),
                         {"x-switchboard-tenant": "../../etc"})
    assert status == 400


def test_request_id_tags_traceparent_and_sub_tenant(sidecar):
    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    status, headers, body = _post(sidecar.base_url + "/chat/completions", json.dumps({"model": "default", "messages": MSG}).encode(),
                                  {"x-request-id": "corr-123", "x-switchboard-tags": "team=search,env=test",
                                   "traceparent": tp, "x-switchboard-tenant": "eu"})
    assert status == 200, body
    h = {k.lower(): v for k, v in headers.items()}
    # The daemon issues the request id; x-request-id is kept as the correlation id.
    assert h["x-switchboard-request-id"] not in ("", "corr-123") and h["traceparent"] == tp
    e = sidecar.explain("corr-123")
    assert e["request_id"] == h["x-switchboard-request-id"]
    assert e["tenant"] == "team-a" and e.get("sub_tenant", e.get("subTenant")) == "eu"
    # The W3C trace context joins the decision: its trace id is recorded and returned.
    assert h["x-switchboard-trace-id"] == tp.split("-")[1]
    assert e.get("trace_id", e.get("traceID")) == tp.split("-")[1]


def test_streamed_response_names_the_trace(sidecar):
    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    status, headers, body = _post(sidecar.base_url + "/chat/completions",
                                  json.dumps({"model": "default", "messages": MSG, "stream": True}).encode(), {"traceparent": tp})
    assert status == 200, body
    h = {k.lower(): v for k, v in headers.items()}
    assert h["x-switchboard-trace-id"] == tp.split("-")[1] and h["traceparent"] == tp
    assert b"data: [DONE]" in body


@pytest.mark.parametrize("bad", ["00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                                 "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                                 "garbage", "00-" + "a" * 200])
def test_malformed_traceparent_is_ignored_not_an_error(sidecar, bad):
    status, headers, body = _post(sidecar.base_url + "/chat/completions", json.dumps({"model": "default", "messages": MSG}).encode(),
                                  {"traceparent": bad, "tracestate": "x=y"})
    assert status == 200, body
    h = {k.lower(): v for k, v in headers.items()}
    assert "traceparent" not in h, "a malformed traceparent is not echoed"


def test_client_hanging_up_mid_stream_leaves_the_daemon_serving(sidecar, client):
    host, port = sidecar.base_url.split("//")[1].split("/")[0].split(":")
    body = json.dumps({"model": "slow", "messages": MSG, "stream": True}).encode()
    for _ in range(5):
        s = socket.create_connection((host, int(port)))
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN_A.encode()
                  + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        s.close()
    # A half-sent request (a client that lies about Content-Length) is not fatal either.
    s = socket.create_connection((host, int(port)))
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"model\"")
    s.close()
    assert client.chat.completions.create(model="default", messages=MSG).choices[0].message.content


def test_http_over_unix_socket(sidecar):
    import httpx

    transport = httpx.HTTPTransport(uds=sidecar.http_socket)
    with openai.OpenAI(base_url="http://switchboard/v1", api_key=TOKEN_A, max_retries=0,
                       http_client=httpx.Client(transport=transport)) as c:
        r = c.chat.completions.create(model="default", messages=MSG)
        assert r.choices[0].message.content == "fake answer from gpt-fake"
        text = "".join(ch.choices[0].delta.content or "" for ch in
                       c.chat.completions.create(model="default", messages=MSG, stream=True) if ch.choices)
        assert text == "fake answer from gpt-fake"


def test_hung_up_requests_are_recorded_as_cancelled(sidecar):
    # The slow route takes ~3 s; a client that gives up after 0.3 s cancels it in the daemon.
    with openai.OpenAI(base_url=sidecar.base_url, api_key=TOKEN_A, max_retries=0, timeout=0.3) as c:
        with pytest.raises(openai.APITimeoutError):
            c.chat.completions.create(model="slow", messages=MSG, extra_headers={"x-request-id": "hangup-1"})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            e = sidecar.explain("hangup-1")
            break
        except AssertionError:
            time.sleep(0.1)
    assert e["outcome"] == "cancelled"
