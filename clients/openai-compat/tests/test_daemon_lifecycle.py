"""The HTTP endpoint inside the daemon's lifecycle: default tenant without tokens, SIGTERM drain."""

from __future__ import annotations

import shutil
import signal
import tempfile
import threading

import openai

from conftest import _stop, start_daemon

CONFIG = """
http: {listen: "127.0.0.1:8080"}
providers:
  sim-slow: {kind: simulated, latency_ms: {p50: 1500, p99: 1600}}
  sim-fast: {kind: simulated, latency_ms: {p50: 5, p99: 10}}
models:
  sim-slow/slow: {input: 0.5, output: 1.5, context: 32000, max_output: 4096, capabilities: [streaming]}
  sim-fast/fast: {input: 0.5, output: 1.5, context: 32000, max_output: 4096, capabilities: [streaming]}
routes:
  slow: {candidates: [sim-slow/slow]}
  fast: {candidates: [sim-fast/fast]}
"""
MSG = [{"role": "user", "content": "hi"}]


def test_without_tokens_loopback_clients_are_the_default_tenant_and_sigterm_drains():
    tmp = tempfile.mkdtemp(prefix="sboai.", dir="/tmp")
    proc, port, _ = start_daemon(tmp, CONFIG)
    try:
        base = f"http://127.0.0.1:{port}/v1"
        with openai.OpenAI(base_url=base, api_key="anything", max_retries=0) as c:
            raw = c.chat.completions.with_raw_response.create(model="fast", messages=MSG)
            assert raw.parse().choices[0].message.content
            assert "tenant=default" in open(f"{tmp}/daemon.log").read()

        # A request in flight when SIGTERM arrives still gets its answer; then the daemon exits 0.
        result: dict = {}

        def slow_call():
            with openai.OpenAI(base_url=base, api_key="anything", max_retries=0) as c:
                try:
                    result["text"] = c.chat.completions.create(model="slow", messages=MSG).choices[0].message.content
                except Exception as e:  # noqa: BLE001 - reported below
                    result["error"] = repr(e)

        t = threading.Thread(target=slow_call)
        t.start()
        import time
        time.sleep(0.4)
        proc.send_signal(signal.SIGTERM)
        t.join(timeout=20)
        assert proc.wait(timeout=20) == 0
        assert result.get("text"), result
    finally:
        _stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
