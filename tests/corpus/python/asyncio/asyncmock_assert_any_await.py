import asyncio

from unittest.mock import patch, call, Mock, MagicMock, PropertyMock, AsyncMock

mock = AsyncMock()
async def main(*args, **kwargs):
    await mock(*args, **kwargs)
asyncio.run(main('foo', bar='bar'))
asyncio.run(main('hello'))
mock.assert_any_await('foo', bar='bar')
