"""The metrics surface, checked against a real scrape of a running daemon.

Starts the real `switchboardd` (with the fake provider and simulated providers),
sends a failover, streams, an overspending request and a bad frame so that every
family has samples, scrapes `/metrics` and `/healthz`, parses the scrape with the
reference parser (`prometheus_client.parser`), and checks that

- docs/operations.md's metrics table names exactly the scraped families, with
  their types and label sets (a difference in either direction fails);
- every metric and label the Grafana dashboard (deploy/grafana/switchboard.json)
  and the alert rules use exists in the scrape.

Binaries: $SWITCHBOARDD (default .build/debug/switchboardd); `fake-provider` next
to it. `python3 deploy/tests/test_metrics_surface.py --table` prints the docs table
generated from a scrape (meaning = the HELP text).
"""

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "docs" / "operations.md"
DASHBOARD = ROOT / "deploy" / "grafana" / "switchboard.json"
ALERTS = ROOT / "deploy" / "prometheus" / "switchboard-alerts.yaml"
# Labels Prometheus adds at scrape time or that every histogram has.
IMPLICIT_LABELS = {"le", "instance", "job", "__name__"}


def binary(name):
    daemon = Path(os.environ.get("SWITCHBOARDD", ROOT / ".build" / "debug" / "switchboardd"))
    path = daemon if name == "switchboardd" else daemon.parent / name
    if not path.exists():
        pytest.fail(f"{path} does not exist: build first (swift build) or set SWITCHBOARDD")
    return str(path)


CONFIG = """
listen: {{socket: "{dir}/s.sock"}}
logging: {{level: info, format: logfmt}}
metrics: {{listen: "127.0.0.1:{port}"}}
http: {{listen: "127.0.0.1:{http_port}"}}
audit: {{path: "{dir}/audit.sqlite"}}
providers:
  bad: {{kind: simulated, faults: [{{error: provider_5xx, rate: 1.0}}]}}
  fast: {{kind: simulated, seed: 3, latency_ms: {{p50: 2, p99: 5}}}}
  slow: {{kind: simulated, seed: 5, latency_ms: {{p50: 1500, p99: 1600}}}}
  fake: {{kind: openai, preset: custom, base_url: "{fake}", api_key_env: SB_METRICS_FAKE_KEY}}
models:
  bad/m: {{input: 0.5, output: 1.0, context: 32000, max_output: 256, capabilities: [streaming]}}
  fast/m: {{input: 1.0, output: 2.0, context: 32000, max_output: 256, capabilities: [streaming]}}
  slow/m: {{input: 1.0, output: 2.0, context: 32000, max_output: 256, capabilities: [streaming]}}
  fake/m-fake: {{input: 1.0, output: 2.0, cached_input: 0.5, context: 200000, max_output: 64, capabilities: [streaming]}}
routes:
  failover: {{candidates: [bad/m, fast/m]}}
  slow: {{candidates: [slow/m]}}
  chat:
    candidates: [fake/m-fake]
    budget: {{per_route_daily_usd: {{soft: 0.000001, hard: 1000}}}}
"""


def scrape(port, path="/metrics"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def wait_for(pred, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_daemon():
    """A running daemon after traffic that gives every family samples: (port, scrape text)."""
    tmp = tempfile.mkdtemp(prefix="sb-metrics-")
    procs = []
    try:
        fake = subprocess.Popen([binary("fake-provider"), "--port", "0", "--cached-tokens", "20000"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(fake)
        base_url = fake.stdout.readline().strip()
        assert base_url.startswith("http://"), base_url
        metrics_port, http_port = free_port(), free_port()
        config = Path(tmp) / "switchboard.yaml"
        config.write_text(CONFIG.format(dir=tmp, fake=base_url, port=metrics_port, http_port=http_port))
        log = open(Path(tmp) / "daemon.log", "w")
        env = dict(os.environ, SB_METRICS_FAKE_KEY="sk-metrics-test")
        daemon = subprocess.Popen([binary("switchboardd"), "--config", str(config)], stdout=log, stderr=log, env=env)
        procs.append(daemon)

        def up():
            assert daemon.poll() is None, "the daemon exited: " + (Path(tmp) / "daemon.log").read_text()
            try:
                return scrape(metrics_port, "/healthz")[0] == 200
            except OSError:
                return False

        wait_for(up, "the metrics listener")
        sock = f"{tmp}/s.sock"
        wait_for(lambda: os.path.exists(sock), "the socket")
        cli = binary("switchboard")

        def complete(route, *extra):
            out = subprocess.run([cli, "complete", "--socket", sock, "--route", route, *extra, "hello there"],
                                 capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, out.stdout + out.stderr
            return out.stdout

        complete("failover")                 # bad/m fails (5xx), fast/m answers: a failover
        complete("failover", "--stream")     # a stream: time to first token
        complete("chat")                     # 20000 cached tokens: spend over the reservation, soft cap crossed
        complete("chat", "--stream")
        out = subprocess.run([cli, "complete", "--socket", sock, "--route", "no-such-route", "x"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode != 0
        # A frame with an unknown flags byte: refused, counted by reason.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock)
        s.sendall(bytes([7, 0, 0, 0, 1, 0]))
        s.settimeout(10)
        while s.recv(4096):
            pass
        s.close()
        text = wait_for(lambda: (lambda t: t if 'reason="bad_flags"' in t else None)(scrape(metrics_port)[2]),
                        "the rejected frame to be counted")
        # The HTTP endpoint: a slow unary request is in flight while it runs; after it and
        # a stream, nothing is (a leak or a double count of either would show).
        def http_in_flight():
            m = re.search(r"^switchboard_http_in_flight (\S+)$", scrape(metrics_port)[2], re.M)
            return float(m.group(1))

        def chat(route, stream=False):
            body = json.dumps({"model": route, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}).encode()
            req = urllib.request.Request(f"http://127.0.0.1:{http_port}/v1/chat/completions", data=body,
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=30) as r:
                assert r.status == 200
                return r.read()

        slow = threading.Thread(target=chat, args=("slow",))
        slow.start()
        during = wait_for(lambda: http_in_flight() == 1, "the slow HTTP request to be in flight")
        slow.join()
        assert b"data: [DONE]" in chat("failover", stream=True)
        after = http_in_flight()
        yield metrics_port, scrape(metrics_port)[2], {"http_in_flight_during": during, "http_in_flight_after": after}
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def live():
    with running_daemon() as v:
        yield v


def families_of(text):
    """{name: (type, labels, help, sample count)} from a scrape, with the names as exposed
    (a counter's `_total` kept, a histogram's base name)."""
    from prometheus_client.parser import text_string_to_metric_families

    out = {}
    for fam in text_string_to_metric_families(text):
        name = fam.name
        if fam.type == "counter":
            name += "_total"  # the parser strips it from the family name
        labels, shapes = set(), set()
        for s in fam.samples:
            keys = frozenset(s.labels) - {"le"}
            shapes.add(keys)
            labels |= keys
        assert len(shapes) <= 1, f"{name}: samples with different label sets {shapes}"
        out[name] = (fam.type, frozenset(labels), fam.documentation, len(fam.samples))
    return out


def documented():
    """{name: (type, labels)} from the table in docs/operations.md's "Metrics and alerts"."""
    text = OPERATIONS.read_text()
    section = text.split("## Metrics and alerts", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"\|\s*`([a-z_:]+)`\s*\|\s*(\w+)\s*\|([^|]*)\|", line)
        if not m:
            continue
        name, typ, labels = m.group(1), m.group(2), m.group(3)
        assert name not in rows, f"{name} documented twice"
        rows[name] = (typ, frozenset(re.findall(r"`([a-z_]+)`", labels)))
    return rows


def test_the_scrape_is_valid_text_format(live):
    port, text, _ = live
    status, ctype, body = scrape(port)
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
    fams = families_of(body)  # raises on anything the reference parser rejects
    assert len(fams) >= 25
    for line in body.splitlines():
        assert line.startswith("#") or re.match(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? \S+$", line), line


def test_healthz(live):
    port, _, _ = live
    status, _, body = scrape(port, "/healthz")
    assert (status, body) == (200, "ok")


def test_every_family_has_samples(live):
    _, text, _ = live
    empty = sorted(n for n, (_, _, _, count) in families_of(text).items() if count == 0)
    assert not empty, f"the traffic left these families without samples, so their labels are unchecked: {empty}"


def test_the_docs_table_matches_the_scrape(live):
    _, text, _ = live
    scraped = {n: (t, l) for n, (t, l, _, _) in families_of(text).items()}
    docs = documented()
    missing = sorted(set(scraped) - set(docs))
    stale = sorted(set(docs) - set(scraped))
    assert not missing, f"exposed but not documented in docs/operations.md: {missing}"
    assert not stale, f"documented in docs/operations.md but not exposed: {stale}"
    wrong = {n: {"docs": (docs[n][0], sorted(docs[n][1])), "scrape": (scraped[n][0], sorted(scraped[n][1]))}
             for n in scraped if docs[n] != scraped[n]}
    assert not wrong, f"type or labels differ: {json.dumps(wrong, indent=1)}"


def test_the_traffic_shows_in_the_new_families(live):
    """The issue's "done when": token, spend and TTFT metrics appear on a scrape with the values of the traffic."""
    from prometheus_client.parser import text_string_to_metric_families

    _, text, _ = live
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]

    def total(name, **labels):
        return sum(s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))

    assert total("switchboard_cached_input_tokens_total", route="chat", provider="fake", model="m-fake") == 40000
    assert total("switchboard_input_tokens_total", route="chat") >= 40000
    assert total("switchboard_output_tokens_total", route="failover", provider="fast") > 0
    assert total("switchboard_spend_usd_total", route="chat") >= 0.02  # 2 × 20000 cached tokens at 0.5/1M
    assert total("switchboard_attempts_total", provider="bad", outcome="failed") >= 2
    assert total("switchboard_time_to_first_token_seconds_count", route="failover", provider="fast") == 2  # socket + HTTP stream
    assert total("switchboard_time_to_first_token_seconds_count", route="chat", provider="fake") == 1
    assert total("switchboard_request_duration_seconds_count", route="failover") == 3
    assert total("switchboard_requests_total", route="_unknown") == 1
    assert total("switchboard_budget_overage_total") >= 1
    build = [s for s in samples if s.name == "switchboard_build_info"]
    assert len(build) == 1 and build[0].value == 1 and build[0].labels["version"]
    assert total("process_resident_memory_bytes") > 1 << 20
    assert total("process_open_fds") >= 3
    assert total("switchboard_requests_total", route="slow") == 1  # the HTTP request: one decision like any other


def test_http_in_flight_counts_requests_until_they_end(live):
    _, _, http = live
    assert http == {"http_in_flight_during": True, "http_in_flight_after": 0}


def expressions(node):
    """Every PromQL expression in a Grafana dashboard: panel targets and query variables."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "expr" and isinstance(v, str):
                yield v
            elif k == "query" and isinstance(v, (str, dict)):
                q = v if isinstance(v, str) else v.get("query", "")
                if "switchboard_" in q or "process_" in q:
                    yield q
            else:
                yield from expressions(v)
    elif isinstance(node, list):
        for v in node:
            yield from expressions(v)


METRIC = re.compile(r"\b((?:switchboard|process)_[a-z_]+)\b")


def check_expressions(exprs, text, where):
    fams = families_of(text)
    exposed = {}  # sample name -> labels
    for name, (typ, labels, _, _) in fams.items():
        if typ == "histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                exposed[name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
        else:
            exposed[name] = labels
    used = set()
    for expr in exprs:
        names = set(METRIC.findall(expr))
        assert names, f"{where}: an expression names no metric: {expr}"
        unknown = sorted(n for n in names if n not in exposed)
        assert not unknown, f"{where}: {unknown} not in the scrape (expression: {expr})"
        used |= names
        allowed = set().union(*(exposed[n] for n in names)) | IMPLICIT_LABELS
        for m in re.finditer(r"((?:switchboard|process)_[a-z_]+)\{([^}]*)\}", expr):
            for label in re.findall(r"([a-zA-Z_]+)\s*(?:=~|!~|!=|=)", m.group(2)):
                assert label in exposed[m.group(1)] | IMPLICIT_LABELS, f"{where}: {m.group(1)} has no label {label}: {expr}"
        for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
            for label in filter(None, (l.strip() for l in group.split(","))):
                assert label in allowed, f"{where}: no metric of this expression has label {label}: {expr}"
        for m in re.finditer(r"label_values\(\s*((?:switchboard|process)_[a-z_]+)(?:\{[^}]*\})?\s*,\s*([a-z_]+)\s*\)", expr):
            assert m.group(2) in exposed[m.group(1)] | IMPLICIT_LABELS, f"{where}: {m.group(1)} has no label {m.group(2)}"
    return used


def test_the_dashboard_uses_only_scraped_metrics(live):
    _, text, _ = live
    dash = json.loads(DASHBOARD.read_text())
    exprs = list(expressions(dash))
    assert len(exprs) >= 15
    used = check_expressions(exprs, text, DASHBOARD.name)
    # The dashboard covers the families.
    for needed in ("switchboard_spend_usd_total", "switchboard_input_tokens_total", "switchboard_output_tokens_total",
                   "switchboard_cached_input_tokens_total", "switchboard_time_to_first_token_seconds_bucket",
                   "switchboard_request_duration_seconds_bucket", "switchboard_attempts_total",
                   "switchboard_build_info", "process_resident_memory_bytes", "process_cpu_seconds_total"):
        assert needed in used, f"the dashboard shows no {needed}"


def test_the_dashboard_is_importable():
    dash = json.loads(DASHBOARD.read_text())
    assert dash["uid"] and dash["title"] and isinstance(dash["schemaVersion"], int)
    panels = list(all_panels(dash["panels"]))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    names = {v["name"] for v in dash["templating"]["list"]}
    assert "datasource" in names
    for p in panels:
        if p.get("type") == "row":
            continue
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
        assert p.get("targets"), p["title"]
        for t in p["targets"]:
            assert t["datasource"]["uid"] == "${datasource}", p["title"]


def all_panels(panels):
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))


def test_the_alert_rules_use_only_scraped_metrics(live):
    _, text, _ = live
    rules = [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]
    check_expressions([r["expr"] for r in rules], text, ALERTS.name)


def table(text):
    """The docs table from a scrape: labels in exposition order, HELP as the meaning."""
    from prometheus_client.parser import text_string_to_metric_families

    rows = ["| metric | type | labels | meaning |", "|---|---|---|---|"]
    for fam in text_string_to_metric_families(text):
        name = fam.name + ("_total" if fam.type == "counter" else "")
        labels = [l for l in (fam.samples[0].labels if fam.samples else {}) if l != "le"]
        rows.append(f"| `{name}` | {fam.type} | {', '.join(f'`{l}`' for l in labels)} | {fam.documentation} |")
    return "\n".join(rows)


if __name__ == "__main__" and "--table" in sys.argv:
    with running_daemon() as (_, scraped, _):
        print(table(scraped))
