"""Starts fake-provider and switchboardd (HTTP endpoint on an ephemeral port)."""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Iterator

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
BUILD = REPO / ".build" / "debug"
TOKEN_A = "sbtok-a-3f1c9e"  # test tokens, passed through the environment
TOKEN_B = "sbtok-b-77d2aa"


def binary(env: str, name: str) -> pathlib.Path:
    return pathlib.Path(os.environ.get(env) or BUILD / name)


@dataclass
class Sidecar:
    base_url: str
    socket: str
    http_socket: str
    log_path: str
    cli: pathlib.Path

    def log(self) -> str:
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def explain(self, request_id: str) -> dict:
        out = subprocess.run(
            [str(self.cli), "explain", "--socket", self.socket, "--json", request_id],
            capture_output=True, text=True, timeout=30,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)


def _wait_for(pattern: str, path: str, proc: subprocess.Popen, what: str, timeout: float = 60) -> re.Match:
    deadline = time.monotonic() + timeout
    while True:
        text = pathlib.Path(path).read_text(errors="replace") if os.path.exists(path) else ""
        m = re.search(pattern, text)
        if m:
            return m
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}:\n{text}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not ready within {timeout}s:\n{text}")
        time.sleep(0.05)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_daemon(tmp: str, config_text: str, env: dict | None = None) -> tuple[subprocess.Popen, int, str]:
    """Starts switchboardd on `config_text` with the HTTP endpoint on a free port: (process, port, socket)."""
    daemon = binary("SWITCHBOARDD", "switchboardd")
    if not daemon.exists():
        pytest.skip(f"{daemon} not found (build with `swift build` or set SWITCHBOARDD)")
    config = os.path.join(tmp, "switchboard.yaml")
    with open(config, "w") as f:
        f.write(config_text)
    sock = os.path.join(tmp, "sb.sock")
    log_path = os.path.join(tmp, "daemon.log")
    dp = subprocess.Popen([str(daemon), "--config", config, "--socket", sock, "--http-listen", "127.0.0.1:0"],
                          stdout=open(log_path, "wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                          env=dict(os.environ, **(env or {})))
    port = _wait_for(r'msg="http listening".*http\.address=127\.0\.0\.1:(\d+)', log_path, dp, "switchboardd").group(1)
    return dp, int(port), sock


@pytest.fixture(scope="session")
def sidecar() -> Iterator[Sidecar]:
    daemon, fake, cli = binary("SWITCHBOARDD", "switchboardd"), binary("FAKE_PROVIDER", "fake-provider"), binary("SWITCHBOARD_CLI", "switchboard")
    for b in (daemon, fake, cli):
        if not b.exists():
            pytest.skip(f"{b} not found (build with `swift build` or set SWITCHBOARDD / FAKE_PROVIDER / SWITCHBOARD_CLI)")
    tmp = tempfile.mkdtemp(prefix="sboai.", dir="/tmp")
    procs: list[subprocess.Popen] = []
    try:
        # The fake provider: model "cutter" cuts its stream after two events, every time.
        script = os.path.join(tmp, "script.json")
        with open(script, "w") as f:
            json.dump({"models": {"cutter": [{"fault": "stream_cut", "after_chunks": 2}] * 200}}, f)
        fake_out = os.path.join(tmp, "fake.log")
        fp = subprocess.Popen([str(fake), "--port", "0", "--script", script], stdout=open(fake_out, "wb"), stderr=subprocess.STDOUT)
        procs.append(fp)
        fake_url = _wait_for(r"(http://127\.0\.0\.1:\d+)", fake_out, fp, "fake-provider").group(1)

        config = os.path.join(tmp, "switchboard.yaml")
        with open(config, "w") as f:
            f.write(f"""
listen: {{socket: {tmp}/unused.sock}}
circuit: {{failure_threshold: 1000000}}
tenants:
  team-a: {{sub_tenants: [eu]}}
http:
  listen: "127.0.0.1:8080"   # --http-listen 127.0.0.1:0 below overrides it
  socket: {tmp}/http.sock     # HTTP over a Unix socket as well
  tokens: [{{env: SB_TEST_TOKEN_A, tenant: team-a}}, {{env: SB_TEST_TOKEN_B, tenant: team-b}}]
  direct_targets: true
  max_body_bytes: 65536
providers:
  fake: {{kind: openai, base_url: "{fake_url}/v1", keys: [{{value: fake-key}}]}}
  sim-bad: {{kind: simulated, faults: [{{error: provider_5xx, rate: 1.0}}]}}
  sim-slow: {{kind: simulated, latency_ms: {{p50: 3000, p99: 4000}}}}
  sim-b: {{kind: simulated, latency_ms: {{p50: 5, p99: 10}}}}
models:
  fake/gpt-fake: {{input: 1.0, output: 2.0, context: 128000, max_output: 4096, capabilities: [tools, streaming, prefill, vision, json_schema]}}
  fake/cutter: {{input: 1.0, output: 2.0, context: 128000, max_output: 4096, capabilities: [streaming]}}
  sim-bad/broken: {{input: 1.0, output: 1.0, context: 8000, max_output: 1024, capabilities: [streaming, tools]}}
  sim-slow/slow: {{input: 0.5, output: 1.5, context: 32000, max_output: 4096, capabilities: [streaming]}}
  sim-b/large: {{input: 3.0, output: 15.0, context: 200000, max_output: 8192, capabilities: [streaming]}}
routes:
  default: {{candidates: [fake/gpt-fake]}}
  failover: {{candidates: [sim-bad/broken, fake/gpt-fake], retry: {{same_candidate_retries: 0}}}}
  slow: {{candidates: [sim-slow/slow]}}
  budget: {{candidates: [fake/gpt-fake], budget: {{per_tenant_daily_usd: {{hard: 0.0000001}}}}}}
  cut-restart: {{candidates: [fake/cutter, sim-b/large], on_stream_failure: restart, retry: {{same_candidate_retries: 0}}}}
  cut-continue: {{candidates: [fake/cutter, fake/gpt-fake], on_stream_failure: restart, retry: {{same_candidate_retries: 0}}}}
""")
        sock = os.path.join(tmp, "sb.sock")
        log_path = os.path.join(tmp, "daemon.log")
        env = dict(os.environ, SB_TEST_TOKEN_A=TOKEN_A, SB_TEST_TOKEN_B=TOKEN_B)
        dp = subprocess.Popen([str(daemon), "--config", config, "--socket", sock, "--http-listen", "127.0.0.1:0"],
                              stdout=open(log_path, "wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        procs.append(dp)
        port = _wait_for(r'msg="http listening".*http\.address=127\.0\.0\.1:(\d+)', log_path, dp, "switchboardd").group(1)
        yield Sidecar(base_url=f"http://127.0.0.1:{port}/v1", socket=sock, http_socket=os.path.join(tmp, "http.sock"),
                      log_path=log_path, cli=cli)
        assert dp.poll() is None, "the daemon died during the tests"
    finally:
        for p in reversed(procs):
            _stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def client(sidecar: Sidecar):
    import openai

    with openai.OpenAI(base_url=sidecar.base_url, api_key=TOKEN_A, max_retries=0, timeout=30) as c:
        yield c
