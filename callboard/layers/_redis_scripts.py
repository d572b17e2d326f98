"""Server-side scripts: every multi-step change the Redis layer makes, done atomically in Lua.

The data model is channels_redis 4.3's, so both libraries can share a server:
a channel's queue is a sorted set at ``{prefix}{non-local name}`` scored by
send time (Unix seconds) whose members are envelopes; ``{queue}$inflight``
holds what a reader has popped but not yet finished with; a group is a
sorted set at ``{prefix}:group:{group}`` of channel names scored by join time.
Presence adds, for present members only, ``{prefix}:presence:{group}`` (a
hash of records), ``...:seen`` (a sorted set of heartbeats) and ``...:stale``
(a set of members removed for missing heartbeats); see ``_redis_presence``.

Each script returns counts as well as data, so whatever it drops (an expired
message, a full channel) is counted by the caller. Redis enforces
``maxmemory`` at a script's first write only, so the scripts that add
messages make that write the ``ZADD``: a full server refuses the message
(``LayerUnavailableError``, "out of memory") instead of growing past its limit.

Not here: choosing shards and running the scripts (``_redis_shard``).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "FANOUT",
    "GROUP_ADD",
    "GROUP_MEMBERS",
    "GROUP_SIZE",
    "POP_BATCH",
    "POP_GENERAL",
    "PRESENCE_ADD",
    "PRESENCE_BEAT",
    "PRESENCE_DISCARD",
    "PRESENCE_LIST",
    "PUSH_BACK",
    "RECOVER",
    "SEND",
]

SEND: Final = """
-- KEYS[1] queue; ARGV: envelope, score, expired-before, capacity, ttl
-- ZADD must be the first write: Redis enforces maxmemory at a script's first
-- write only, so the expired are counted out (ZCOUNT) and removed after it.
if redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[3], '+inf') >= tonumber(ARGV[4]) then
    return {0, redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, ARGV[3])}
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local expired = redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return {1, expired}
"""
"""Queue one envelope unless the queue is full; returns ``{queued 0|1, expired}``."""

FANOUT: Final = """
-- KEYS: queues on this shard; ARGV: score, expired-before, ttl, then per queue
-- its envelope and capacity. Returns {expired, 1-based indexes of full queues...}.
local score, cutoff, ttl = ARGV[1], ARGV[2], ARGV[3]
local result = {0}
-- As in SEND, a ZADD is the first write (where Redis enforces maxmemory).
for i = 1, #KEYS do
    if redis.call('ZCOUNT', KEYS[i], '(' .. cutoff, '+inf') < tonumber(ARGV[3 + 2 * i]) then
        redis.call('ZADD', KEYS[i], score, ARGV[2 + 2 * i])
        redis.call('EXPIRE', KEYS[i], ttl)
    else
        result[#result + 1] = i
    end
end
for i = 1, #KEYS do
    result[1] = result[1] + redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, cutoff)
end
return result
"""
"""One group message into every receiving queue of one shard, capacity checked per queue."""

GROUP_MEMBERS: Final = """
-- KEYS[1] group; ARGV[1] joined-before (expired memberships). Returns {expired, members}.
local expired = redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, ARGV[1])
return {expired, redis.call('ZRANGE', KEYS[1], 0, -1)}
"""
"""Drop expired memberships, then list the group's channels."""

GROUP_ADD: Final = """
-- KEYS[1] group; ARGV: ttl, score, channels...
for i = 3, #ARGV do
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[i])
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return #ARGV - 2
"""
"""Add (or renew) channels in a group and push the group's expiry out."""

POP_BATCH: Final = """
-- KEYS: n inbox queues, then their n in-flight sets; ARGV[1] batch size, ARGV[2] ttl.
-- The previous batch was delivered: forget it, then move the next batch in flight.
-- Returns {queue index, envelope, score, ...}.
local n = #KEYS / 2
local limit = tonumber(ARGV[1])
local out = {}
for i = 1, n do
    redis.call('DEL', KEYS[n + i])
end
for i = 1, n do
    if limit <= 0 then break end
    local popped = redis.call('ZPOPMIN', KEYS[i], limit)
    for j = 1, #popped, 2 do
        redis.call('ZADD', KEYS[n + i], popped[j + 1], popped[j])
        out[#out + 1] = i
        out[#out + 1] = popped[j]
        out[#out + 1] = popped[j + 1]
    end
    if #popped > 0 then
        redis.call('EXPIRE', KEYS[n + i], ARGV[2])
    end
    limit = limit - #popped / 2
end
return out
"""
"""The inbox reader's non-blocking read: up to a batch, moved into the in-flight sets."""

RECOVER: Final = """
-- KEYS: queue, in-flight set, queue, in-flight set ...; ARGV[1] '1' to requeue, '0' to drop.
-- Returns how many in-flight envelopes were requeued (or dropped).
local moved = 0
for i = 1, #KEYS, 2 do
    local held = redis.call('ZRANGE', KEYS[i + 1], 0, -1, 'WITHSCORES')
    if ARGV[1] == '1' then
        for j = 1, #held, 2 do
            redis.call('ZADD', KEYS[i], held[j + 1], held[j])
        end
    end
    redis.call('DEL', KEYS[i + 1])
    moved = moved + #held / 2
end
return moved
"""
"""After a reconnect: requeue an undelivered in-flight batch, or forget a delivered one."""

POP_GENERAL: Final = """
-- KEYS[1] queue, KEYS[2] in-flight; ARGV: now, stale-before, expired-before, ttl.
-- Requeues in-flight messages of readers that died, drops expired ones, then
-- moves the oldest message in flight. Returns {expired, requeued[, envelope, score]}.
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], 0, ARGV[2], 'WITHSCORES')
for j = 1, #stale, 2 do
    redis.call('ZADD', KEYS[1], stale[j + 1], stale[j])
    redis.call('ZREM', KEYS[2], stale[j])
end
local expired = redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, ARGV[3])
local popped = redis.call('ZPOPMIN', KEYS[1])
if #popped == 0 then
    return {expired, #stale / 2}
end
redis.call('ZADD', KEYS[2], ARGV[1], popped[1])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return {expired, #stale / 2, popped[1], popped[2]}
"""
"""A general channel's non-blocking read, with in-flight tracking (single reader per message)."""

PUSH_BACK: Final = """
-- KEYS[1] queue, KEYS[2] in-flight; ARGV: score, envelope. A cancelled receive returns it.
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
"""
"""Put a message a cancelled receive had taken back at its place in the queue."""

# -- presence (see _redis_presence) ---------------------------------------------------

_PRUNE: Final = """
-- KEYS[1..4] group, presence hash, heartbeats, stale set. Removes every present
-- member whose last heartbeat is before `cutoff`; returns {channel, record, ...}.
local function prune(cutoff, ttl)
    local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', cutoff)
    local out = {}
    for _, channel in ipairs(gone) do
        local record = redis.call('HGET', KEYS[2], channel)
        redis.call('HDEL', KEYS[2], channel)
        redis.call('ZREM', KEYS[3], channel)
        redis.call('ZREM', KEYS[1], channel)
        redis.call('SADD', KEYS[4], channel)
        if record then
            out[#out + 1] = channel
            out[#out + 1] = record
        end
    end
    if #gone > 0 then
        redis.call('EXPIRE', KEYS[4], ttl)
    end
    return out
end
"""

PRESENCE_ADD: Final = """
-- KEYS: group, presence hash, heartbeats, stale; ARGV: now, ttl, then channel, record pairs.
for i = 3, #ARGV, 2 do
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i])
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
    redis.call('ZADD', KEYS[3], ARGV[1], ARGV[i])
    redis.call('SREM', KEYS[4], ARGV[i])
end
for k = 1, 3 do
    redis.call('EXPIRE', KEYS[k], ARGV[2])
end
return (#ARGV - 2) / 2
"""
"""Add (or re-add) present members: group set, record and heartbeat in one step."""

PRESENCE_DISCARD: Final = """
-- KEYS: group, presence hash, heartbeats, stale; ARGV[1] channel. Returns its record or nil.
redis.call('ZREM', KEYS[1], ARGV[1])
local record = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[1])
return record
"""
"""Remove a member from the group and from presence (channels_redis' ZREM, plus the records)."""

PRESENCE_BEAT: Final = (
    _PRUNE
    + """
-- ARGV: now, cutoff, ttl, then this process's live present channels.
-- Returns {removed as stale (re-add them), removed by someone else (forget them), pruned}.
local stale, dropped = {}, {}
for i = 4, #ARGV do
    if redis.call('ZSCORE', KEYS[3], ARGV[i]) then
        redis.call('ZADD', KEYS[3], ARGV[1], ARGV[i])
    elseif redis.call('SISMEMBER', KEYS[4], ARGV[i]) == 1 then
        stale[#stale + 1] = ARGV[i]
    else
        dropped[#dropped + 1] = ARGV[i]
    end
end
if #ARGV >= 4 then
    redis.call('EXPIRE', KEYS[2], ARGV[3])
    redis.call('EXPIRE', KEYS[3], ARGV[3])
end
return {stale, dropped, prune(ARGV[2], ARGV[3])}
"""
)
"""Renew this process's present members, then remove (and return) the group's ghosts."""

PRESENCE_LIST: Final = (
    _PRUNE
    + """
-- ARGV: cutoff, ttl. Returns {pruned, {channel, record, ...}}.
local pruned = prune(ARGV[1], ARGV[2])
return {pruned, redis.call('HGETALL', KEYS[2])}
"""
)
"""Remove the group's ghosts, then list its present members."""

GROUP_SIZE: Final = (
    _PRUNE
    + """
-- ARGV: cutoff, ttl, memberships joined before this have lapsed. Returns {size, pruned}.
local pruned = prune(ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, ARGV[3])
return {redis.call('ZCARD', KEYS[1]), pruned}
"""
)
"""Remove the group's ghosts and lapsed memberships, then count its members."""
