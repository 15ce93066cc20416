import asyncio

from unittest.mock import Mock, MagicMock, AsyncMock, patch, call, sentinel

mock = MagicMock()  # AsyncMock also works here
mock.__aiter__.return_value = [1, 2, 3]
async def main():
    return [i async for i in mock]
print(repr(asyncio.run(main())))
