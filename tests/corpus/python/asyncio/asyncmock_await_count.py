import asyncio

from unittest.mock import patch, call, Mock, MagicMock, PropertyMock, AsyncMock

mock = AsyncMock()
async def main():
    await mock()
asyncio.run(main())
print(repr(mock.await_count))
asyncio.run(main())
print(repr(mock.await_count))
