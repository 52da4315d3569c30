#!lua name=rill_v1
-- Rill's server-side log functions. The library name carries the version: a changed body gets
-- a new name (rill_v2, functions rill_v2_*), so processes of two releases can run side by side.
-- Every key is passed in KEYS and all keys of one call share the partition's hash tag, so each
-- call runs on one cluster slot.

-- The seq part of a conversation stream's last generated id (0 when the key does not exist).
-- last-generated-id survives trimming and deletion of entries, unlike the last entry's id.
local function last_seq(key)
  if redis.call('EXISTS', key) == 0 then
    return 0
  end
  local info = redis.call('XINFO', 'STREAM', key)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      return tonumber(string.match(info[i + 1], '^%d+%-(%d+)$')) or 0
    end
  end
  return 0
end

-- KEYS: conversation stream, partition log [, dedup marker]
-- ARGV: conversation id, hot window, dedup window in ms, encoded envelope
-- Returns {seq, duplicate (0/1)}.
local function append(keys, args)
  local dedup = keys[3]
  if dedup then
    local first = redis.call('GET', dedup)
    if first then
      return {tonumber(first), 1}
    end
  end
  -- 0-* makes the stream assign <last seq + 1>: the stream is the seq counter.
  local id = redis.call('XADD', keys[1], 'MAXLEN', '~', args[2], '0-*', 'e', args[4])
  local seq = string.sub(id, 3)
  redis.call('XADD', keys[2], '*', 'c', args[1], 's', seq, 'e', args[4])
  if dedup then
    redis.call('SET', dedup, seq, 'PX', args[3])
  end
  return {tonumber(seq), 0}
end

-- KEYS: conversation streams. Returns their max seqs in the same order.
local function max_seqs(keys, args)
  local out = {}
  for i = 1, #keys do
    out[i] = last_seq(keys[i])
  end
  return out
end

-- KEYS: conversation stream. ARGV: floor seq.
-- Moves the stream's last id up to 0-<floor> when it is lower, so the next append gets
-- floor + 1 instead of reusing a seq a projection has already seen (lost AOF tail).
-- Returns {previous max seq, moved (0/1)}.
local function seq_floor(keys, args)
  local floor = tonumber(args[1])
  local last = last_seq(keys[1])
  if floor == nil or floor <= last then
    return {last, 0}
  end
  local id = '0-' .. args[1]
  if redis.call('EXISTS', keys[1]) == 0 then
    -- XSETID needs an existing stream: create it with a placeholder at the floor and delete
    -- it in the same atomic call, which leaves an empty stream whose last id is the floor.
    redis.call('XADD', keys[1], id, 'floor', '1')
    redis.call('XDEL', keys[1], id)
  else
    redis.call('XSETID', keys[1], id)
  end
  return {last, 1}
end

redis.register_function('rill_v1_append', append)
redis.register_function{function_name = 'rill_v1_max_seqs', callback = max_seqs, flags = {'no-writes'}}
redis.register_function('rill_v1_seq_floor', seq_floor)
