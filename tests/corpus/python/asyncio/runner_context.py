import asyncio

async def main():
    await asyncio.sleep(0.1)
    print('hello')

with asyncio.Runner() as runner:
    runner.run(main())
