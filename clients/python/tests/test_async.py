"""End-to-end tests of AsyncClient against the real switchboardd (no pytest-asyncio needed)."""

from __future__ import annotations

import asyncio
import time

import pytest

from switchboard_client import AsyncClient, Cancelled, DeadlineExceeded, Delta, Final, NotFound, Unavailable


def run(coro):
    return asyncio.run(coro)


def test_async_complete_and_stream(daemon: str) -> None:
    async def main() -> None:
        async with AsyncClient(daemon, timeout=30) as sb:
            r = await sb.complete("Say hello", route="default", max_tokens=32)
            assert r.content and r.provider and r.request_id

            s = sb.stream("Tell me a story", route="default")
            events = [ev async for ev in s]
            assert isinstance(events[-1], Final)
            assert any(isinstance(e, Delta) for e in events)
            assert s.text == events[-1].response.content

            r2 = await sb.stream("Again", route="failover").collect()
            assert r2.attempts >= 2 and r2.provider == "sim-a"

            h = await sb.health()
            assert h.serving

    run(main())


def test_async_concurrent_calls_on_one_connection(daemon: str) -> None:
    async def main() -> None:
        async with AsyncClient(daemon, timeout=30) as sb:
            calls = [sb.complete(f"call {i}", route="default") for i in range(20)]
            calls += [sb.stream(f"stream {i}", route="default").collect() for i in range(10)]
            results = await asyncio.gather(*calls)
            assert all(r.content for r in results)
            assert len({r.request_id for r in results}) == len(results)

    run(main())


def test_async_errors(daemon: str) -> None:
    async def main() -> None:
        async with AsyncClient(daemon, timeout=30) as sb:
            with pytest.raises(Unavailable) as ei:
                await sb.complete("Hi", route="doomed")
            assert ei.value.reason_code
            with pytest.raises(NotFound) as ei2:
                await sb.complete("Hi", route="no-such-route")
            assert ei2.value.reason_code == "unknown_route"

    run(main())


def test_async_timeout_and_task_cancel(daemon: str) -> None:
    async def main() -> None:
        async with AsyncClient(daemon) as sb:
            t0 = time.monotonic()
            with pytest.raises(DeadlineExceeded) as ei:
                await sb.complete("slow", route="slow", timeout=0.3)
            assert ei.value.reason_code == "client_timeout"
            assert time.monotonic() - t0 < 2.0

            # Cancelling the task sends Cancel; the connection stays usable.
            task = asyncio.ensure_future(sb.complete("slow", route="slow"))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(sb.complete("slow", route="slow"), 0.2)

            s = sb.stream("slow", route="slow")
            await s.start()
            await asyncio.sleep(0.1)
            await s.cancel()
            with pytest.raises(Cancelled):
                await s.collect()

            assert (await sb.complete("Hi", route="default")).content

    run(main())
