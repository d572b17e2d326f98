"""A Channels process for the interop test: channels_redis 4.3 on asyncio, driven by argv.

``python channels_redis_peer.py URL PREFIX CALLBOARD_CHANNEL [KEY]``: makes a
channel, joins it to group ``room``, prints ``READY <channel>``, waits for two
messages from callboard (a direct send and a group send), prints ``GOT
<json>``, then sends one direct message to ``CALLBOARD_CHANNEL`` and one group
message to ``room`` and prints ``SENT``.
"""

import asyncio
import json
import sys

from channels_redis.core import RedisChannelLayer


async def main() -> None:
    url, prefix, theirs = sys.argv[1:4]
    keys = sys.argv[4:] or None
    layer = RedisChannelLayer(hosts=[url], prefix=prefix, symmetric_encryption_keys=keys)
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    print("READY", channel, flush=True)
    got = [await asyncio.wait_for(layer.receive(channel), 10) for _ in range(2)]
    print("GOT", json.dumps(sorted(got, key=json.dumps)), flush=True)
    await layer.send(theirs, {"type": "chat.message", "via": "direct", "from": "channels"})
    await layer.group_send("room", {"type": "chat.message", "via": "group", "from": "channels"})
    await layer.group_discard("room", channel)
    print("SENT", flush=True)
    await layer.close_pools()


asyncio.run(main())
