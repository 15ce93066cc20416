import asyncio

from unittest.mock import patch, call, Mock, MagicMock, PropertyMock, AsyncMock

mock = AsyncMock()
async def main(*args):
    await mock(*args)
mock.await_args
asyncio.run(main('foo'))
print(repr(mock.await_args))
asyncio.run(main('bar'))
print(repr(mock.await_args))
