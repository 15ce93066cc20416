import asyncio

from unittest.mock import patch, call, Mock, MagicMock, PropertyMock, AsyncMock

mock = AsyncMock()
async def main(*args):
    await mock(*args)
print(repr(mock.await_args_list))
asyncio.run(main('foo'))
print(repr(mock.await_args_list))
asyncio.run(main('bar'))
print(repr(mock.await_args_list))
