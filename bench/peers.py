"""Runs peer routers/clients in process against the same OpenAI-compatible mock.

Each peer is driven by one asyncio loop in this process (the way each is meant
to be embedded), closed loop at --concurrency and open loop at --rate (latency
from each request's scheduled time, coordinated-omission corrected). CPU per
request is this process's utime+stime over the run: the peer plus its Python
driver loop, which is what an application embedding it pays.

Peers (each skipped with a reason when it does not import or fails its first call):
  litellm     LiteLLM Router, two deployments of the model (fallback configured)
  liter-llm   liter-llm's Rust client (Python binding); a client, not a router
  tensorzero  TensorZero's embedded gateway (Rust), a model with two providers
              in its routing list (fallback), observability off

  python peers.py --port PORT [--requests N] [--concurrency C] [--rate R] [--only a,b]

Prints one JSON object per peer and run on stdout.
"""

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def pct(sorted_ms, p):
    if not sorted_ms:
        return 0.0
    return sorted_ms[min(len(sorted_ms) - 1, int(p * (len(sorted_ms) - 1) + 0.5))]


async def closed_loop(call, n, concurrency):
    latencies = []
    failures = 0
    issued = 0

    async def worker():
        nonlocal issued, failures
        while issued < n:
            issued += 1
            t0 = time.perf_counter()
            try:
                await call()
            except Exception:
                failures += 1
            latencies.append((time.perf_counter() - t0) * 1000)

    c0, t0 = cpu_seconds(), time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(concurrency)])
    return time.perf_counter() - t0, cpu_seconds() - c0, latencies, failures


async def open_loop(call, n, rate):
    latencies = []
    failures = 0
    tasks = []

    async def one(due):
        nonlocal failures
        try:
            await call()
        except Exception:
            failures += 1
        latencies.append((time.perf_counter() - due) * 1000)

    c0, t0 = cpu_seconds(), time.perf_counter()
    for i in range(n):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(due)))
    await asyncio.gather(*tasks)
    return time.perf_counter() - t0, cpu_seconds() - c0, latencies, failures


def report(peer, mode, n, secs, cpu, latencies, failures):
    latencies.sort()
    out = {
        "label": peer, "mode": mode, "requests": n, "failed": failures, "rps": round(n / secs, 1),
        "cpu_us": round(cpu / n * 1e6, 1), "p50_ms": round(pct(latencies, 0.5), 4),
        "p99_ms": round(pct(latencies, 0.99), 4), "p999_ms": round(pct(latencies, 0.999), 4),
    }
    print(json.dumps(out), flush=True)


MESSAGES = [{"role": "user", "content": "ping"}]


async def make_litellm(base):
    import litellm
    from litellm import Router

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    params = {"model": "openai/bench-model", "api_base": base, "api_key": "bench"}
    router = Router(
        model_list=[
            {"model_name": "bench", "litellm_params": dict(params)},
            {"model_name": "bench-backup", "litellm_params": dict(params)},
        ],
        fallbacks=[{"bench": ["bench-backup"]}],
        num_retries=0,
    )

    async def call():
        r = await router.acompletion(model="bench", messages=MESSAGES, max_tokens=16)
        assert r.choices[0].message.content

    return call


async def make_liter_llm(base):
    import liter_llm
    from liter_llm import _internal_bindings as rust

    client = liter_llm.create_client(api_key="bench", base_url=base)
    message = rust.Message({"role": "user", "content": "ping"})

    async def call():
        req = rust.ChatCompletionRequest(model="openai/bench-model", messages=[message], max_tokens=16)
        r = await client.chat(req)
        assert r.choices[0].message.content

    return call


async def make_tensorzero(base):
    from tensorzero import AsyncTensorZeroGateway

    d = tempfile.mkdtemp(prefix="sb-tz-")
    path = os.path.join(d, "tensorzero.toml")
    with open(path, "w") as f:
        f.write('[models.bench]\nrouting = ["primary", "backup"]\n')
        for name in ("primary", "backup"):
            f.write(
                f'\n[models.bench.providers.{name}]\ntype = "openai"\nmodel_name = "bench-model"\n'
                f'api_base = "{base}/"\napi_key_location = "none"\n'
            )
    gateway = await AsyncTensorZeroGateway.build_embedded(config_file=path)
    params = {"chat_completion": {"max_tokens": 16}}

    async def call():
        r = await gateway.inference(model_name="bench", input={"messages": MESSAGES}, params=params)
        assert r.content

    return call


PEERS = {"litellm": make_litellm, "liter-llm": make_liter_llm, "tensorzero": make_tensorzero}


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--rate-requests", type=int, default=10000)
    ap.add_argument("--only", default=",".join(PEERS))
    ap.add_argument("--litellm-requests", type=int, default=1000,
                    help="LiteLLM's Router manages ~100 req/s at best here: fewer requests, and its open loop at --litellm-rate")
    ap.add_argument("--litellm-rate", type=float, default=100)
    args = ap.parse_args()
    base = f"http://127.0.0.1:{args.port}/v1"
    for name in args.only.split(","):
        try:
            call = await PEERS[name](base)
            await call()
            for _ in range(200):
                await call()
        except Exception as e:  # not installable / not working here: say so
            print(json.dumps({"label": name, "skipped": f"{type(e).__name__}: {e}"[:300]}), flush=True)
            continue
        slow = name == "litellm"
        n = min(args.requests, args.litellm_requests) if slow else args.requests
        secs, cpu, lat, fail = await closed_loop(call, n, args.concurrency)
        report(name, f"closed c={args.concurrency}", n, secs, cpu, lat, fail)
        rate = args.litellm_rate if slow else args.rate
        rn = min(args.rate_requests, int(rate * 5)) if slow else args.rate_requests
        secs, cpu, lat, fail = await open_loop(call, rn, rate)
        report(name, f"open {rate:.0f}/s", rn, secs, cpu, lat, fail)


if __name__ == "__main__":
    asyncio.run(main())
