"""The asyncio API: runs that do not block the loop, many at once, and
coroutine tools on the caller's loop."""

import asyncio
import threading

import pytest

from stockade import AsyncSandbox, CodeRefused


def test_fifty_concurrent_runs_leave_the_loop_free():
    async def main():
        sandbox = AsyncSandbox({"limits": {"wall_ms": 20000}})
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        clock = asyncio.create_task(ticker())
        results = await asyncio.gather(
            *(sandbox.run(f"let s = 0; for (let i = 0; i < 200000; i++) s += i; {n}", language="javascript") for n in range(50))
        )
        clock.cancel()
        assert [r.value for r in results] == list(range(50))
        # The loop kept turning while the guests ran.
        assert ticks > 5
        with pytest.raises(CodeRefused, match="never raise"):
            await sandbox.run("1", language="javascript", timeout=3600)

    asyncio.run(main())


def test_a_coroutine_tool_runs_on_the_callers_loop_and_sessions_await():
    async def main():
        seen = {}
        loop = asyncio.get_running_loop()

        async def lookup(city: str) -> dict:
            """Looks a city up."""
            seen["loop"] = asyncio.get_running_loop()
            seen["thread"] = threading.current_thread()
            await asyncio.sleep(0.01)
            return {"city": city, "temp": 72}

        async with AsyncSandbox(tools=[lookup], max_calls=5) as sandbox:
            result = await sandbox.run("const w = await lookup({city: 'SF'}); return w;", language="javascript")
            assert result.value == {"city": "SF", "temp": 72}
            assert seen["loop"] is loop and seen["thread"] is threading.main_thread()
            async with await sandbox.session("javascript") as session:
                await session.run("let x = 20")
                assert (await session.run("x * 2 + 2")).value == 42

    asyncio.run(main())
