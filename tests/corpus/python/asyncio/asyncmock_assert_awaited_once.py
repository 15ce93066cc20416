import asyncio

from unittest.mock import patch, call, Mock, MagicMock, PropertyMock, AsyncMock

mock = AsyncMock()
async def main():
    await mock()
asyncio.run(main())
mock.assert_awaited_once()
asyncio.run(main())
