"""Wire compatibility with channels_redis 4.3: a Channels process and callboard share one Redis.

The peer is a real channels_redis process on asyncio (``channels_redis_peer.py``).
Both sides are members of one group; each side's group_send reaches every
member on both sides, and direct sends cross both ways, with and without
Fernet encryption.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest
from _redis_service import RedisServer
from anyio.streams.buffered import BufferedByteReceiveStream

from callboard.layers import RedisChannelLayer

PEER = Path(__file__).with_name("channels_redis_peer.py")


@pytest.mark.parametrize("keys", [[], ["a-shared-secret"]], ids=["plain", "fernet"])
async def test_channels_redis_and_callboard_share_groups_and_channels(
    redis_server: RedisServer, redis_prefix: str, keys: list[str]
) -> None:
    pytest.importorskip("channels_redis")
    layer = RedisChannelLayer(
        hosts=[redis_server.url], prefix=redis_prefix, symmetric_encryption_keys=keys or None
    )
    async with layer.open():
        ours = await layer.new_channel()
        await layer.group_add("room", ours)
        command = [sys.executable, str(PEER), redis_server.url, redis_prefix, ours, *keys]
        async with await anyio.open_process(command) as peer:
            assert peer.stdout is not None
            stdout = BufferedByteReceiveStream(peer.stdout)

            async def line() -> str:
                return (await stdout.receive_until(b"\n", 65536)).decode().strip()

            with anyio.fail_after(20):
                ready = await line()
                assert ready.startswith("READY "), ready
                theirs = ready.split()[1]
                await layer.send(
                    theirs, {"type": "chat.message", "via": "direct", "from": "callboard"}
                )
                await layer.group_send(
                    "room", {"type": "chat.message", "via": "group", "from": "callboard"}
                )
                got = await line()
                assert await line() == "SENT"
                received = [await layer.receive(ours) for _ in range(3)]
            assert await peer.wait() == 0
        assert json.loads(got.removeprefix("GOT ")) == [
            {"type": "chat.message", "via": "direct", "from": "callboard"},
            {"type": "chat.message", "via": "group", "from": "callboard"},
        ]
        assert sorted(received, key=json.dumps) == [
            {"type": "chat.message", "via": "direct", "from": "channels"},
            {"type": "chat.message", "via": "group", "from": "callboard"},
            {"type": "chat.message", "via": "group", "from": "channels"},
        ]
    assert layer.statistics().undelivered == 0
