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


LIMITS = """
http: {listen: "127.0.0.1:8080", max_connections: 2, idle_timeout_ms: 500}
providers:
  sim-fast: {kind: simulated, latency_ms: {p50: 5, p99: 10}}
models:
  sim-fast/fast: {input: 0.5, output: 1.5, context: 32000, max_output: 4096, capabilities: [streaming]}
routes:
  fast: {candidates: [sim-fast/fast]}
"""


def test_connection_limit_and_idle_timeout():
    import socket
    import time

    tmp = tempfile.mkdtemp(prefix="sboai.", dir="/tmp")
    proc, port, _ = start_daemon(tmp, LIMITS)
    try:
        # Two idle connections take both slots; a third client waits (not served) ...
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        time.sleep(0.1)
        with openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0, timeout=0.3) as c:
            try:
                c.chat.completions.create(model="fast", messages=MSG)
                served_while_full = True
            except openai.APITimeoutError:
                served_while_full = False
        assert not served_while_full, "max_connections: a third connection was served"
        # ... until the idle timeout closes the idle ones (they read EOF), then it is served.
        for s in held:
            s.settimeout(5)
            assert s.recv(1) == b"", "idle connection was not closed"
            s.close()
        with openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0, timeout=10) as c:
            assert c.chat.completions.create(model="fast", messages=MSG).choices[0].message.content
    finally:
        _stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
