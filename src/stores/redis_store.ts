import { randomBytes, randomUUID } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import {
  BATCH_TTL_SECONDS,
  DEFAULT_MAX_PATHS_PER_DAY,
  OTHER_PATH,
  parseDimensionKey,
} from './batch.ts'
import { TrackingKeys, visitKeyList, type VisitKeys } from './keys.ts'
import { DENSE_AT, DENSE_BYTES } from './redis_hll.ts'
import {
  DEFAULT_MAX_OPEN_VISITS,
  emptyVisitCounts,
  isEmptyVisitCounts,
  type VisitCounts,
} from './visits.ts'
import {
  DEFAULT_MAX_VALUES_PER_DIMENSION,
  STORED_DIMENSIONS,
  type StoredDimensionName,
  OTHER_VALUE,
} from '../dimensions/names.ts'
import type {
  DimensionCount,
  MergedSketch,
  TakenDimension,
  TakenFlush,
  TrackingBatch,
  TrackingStore,
} from './types.ts'

/** Seconds a day's salt lives: it must never outlast 48 h */
const SALT_TTL_SECONDS = 36 * 3600
/** Seconds a per-minute visitor sketch lives */
const MINUTE_TTL_SECONDS = 10 * 60
/** Fields a live-day read asks HSCAN for at once */
const DAILY_SCAN_COUNT = 5000

/**
 * Applies one batch atomically, once per batch id. A day's paths are admitted
 * into its paths set up to the cap (ARGV[4]); views of paths beyond it go to
 * the OTHER_PATH row. A day's values of each dimension are admitted the same
 * way into the dimension's values set up to ARGV[7]; views and visitors of
 * values beyond it go to OTHER_VALUE (ARGV[8]). Every key gets a TTL. Lua's
 * unpack is bounded by the C stack, so visitors go to PFADD in slices.
 *
 * Then the visit segments, in order (the rules of src/stores/visits.ts,
 * applyVisitSegment: keep the two in step): each continues or opens the
 * visitor's visit (state string `vstate:<hash>`, cmsgpack, TTL = the
 * timeout; one MGET reads those of the whole batch, one SET ... EX writes
 * each) and changes the figures of the visit's start day incrementally. Their key
 * names are built here from the tag (they depend on the state's start day):
 * all carry the {prefix} hash tag, so they live in the slot of the declared
 * keys. Paths and sources are admitted on the start day like the views.
 *
 * KEYS: batch marker, days set, then per day views, total, visitors, paths,
 * then per dimension of the day its views hash, values set and OTHER_VALUE
 * HyperLogLog, then one HyperLogLog per value; then one HyperLogLog per minute.
 * ARGV: batch TTL, data TTL, minute TTL, path cap, other path, value cap,
 * other value, number of days, then per day: day, n paths, n visitors,
 * n dimensions, n page paths, path/views pairs, visitors, then per
 * dimension: n values, then per value: value, views, n visitors, visitors;
 * then per page path: path, n visitors, visitors; then per minute:
 * n visitors, visitors; then tag, visit timeout ms, visit TTL, max open visits,
 * now (ms), n segments,
 * then per segment: visitor, previous ('' for none), day, first ms, first
 * path, last ms, last path, views, source, channel ('' for none); then
 * n funnel trails, and when there are any: n funnels, per funnel n steps
 * and the value of each step, then per trail: visitor, previous, trail.
 */
const WRITE_BATCH = `
local DENSE_AT = ${DENSE_AT}
local DENSE_BYTES = ${DENSE_BYTES}
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local ttl = tonumber(ARGV[2])
local cap = tonumber(ARGV[4])
local other = ARGV[5]
local value_cap = tonumber(ARGV[6])
local other_value = ARGV[7]
local dense_empty = nil
local function pfadd(key, first, last)
  local length = redis.call('STRLEN', key)
  if length < 12304 and (last - first + 1 >= DENSE_AT or length >= DENSE_BYTES) then
    if dense_empty == nil then
      dense_empty = 'HYLL' .. string.rep('\\0', 12) .. string.rep('\\0', 12288)
    end
    if length == 0 then
      redis.call('SET', key, dense_empty)
    else
      local scratch = KEYS[1] .. ':dense'
      redis.call('SET', scratch, dense_empty)
      redis.call('PFMERGE', key, scratch)
      redis.call('DEL', scratch)
    end
  end
  for i = first, last, 1000 do
    redis.call('PFADD', key, unpack(ARGV, i, math.min(i + 999, last)))
  end
end
local a = 9
local k = 3
local counted = false
local n_minutes = #KEYS
local day_paths = {}
for _ = 1, tonumber(ARGV[8]) do
  local day = ARGV[a]
  local n_paths = tonumber(ARGV[a + 1])
  local n_visitors = tonumber(ARGV[a + 2])
  local n_dimensions = tonumber(ARGV[a + 3])
  local n_page_paths = tonumber(ARGV[a + 4])
  local views_key, total_key, visitors_key, paths_key = KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]
  day_paths[#day_paths + 1] = {day, paths_key, n_page_paths}
  a = a + 5
  k = k + 4
  if n_paths > 0 then
    local admitted = redis.call('SCARD', paths_key)
    local total, rest = 0, 0
    for i = a, a + 2 * n_paths - 1, 2 do
      local path, views = ARGV[i], tonumber(ARGV[i + 1])
      total = total + views
      if redis.call('SISMEMBER', paths_key, path) == 1 then
        redis.call('HINCRBY', views_key, path, views)
      elseif admitted < cap then
        redis.call('SADD', paths_key, path)
        admitted = admitted + 1
        redis.call('HINCRBY', views_key, path, views)
      else
        rest = rest + views
      end
    end
    if rest > 0 then redis.call('HINCRBY', views_key, other, rest) end
    redis.call('INCRBY', total_key, total)
    redis.call('EXPIRE', views_key, ttl)
    redis.call('EXPIRE', total_key, ttl)
    redis.call('EXPIRE', paths_key, ttl)
    redis.call('SADD', KEYS[2], day)
    counted = true
    a = a + 2 * n_paths
  end
  if n_visitors > 0 then
    pfadd(visitors_key, a, a + n_visitors - 1)
    redis.call('EXPIRE', visitors_key, ttl)
    a = a + n_visitors
  end
  for _ = 1, n_dimensions do
    local hash_key, values_key, other_key = KEYS[k], KEYS[k + 1], KEYS[k + 2]
    k = k + 3
    local n_values = tonumber(ARGV[a])
    a = a + 1
    local admitted = redis.call('SCARD', values_key)
    local rest, to_other, other_visitors = 0, false, false
    for _ = 1, n_values do
      local value, views, n_value_visitors = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
      local value_key = KEYS[k]
      k = k + 1
      a = a + 3
      local admit = false
      if value ~= other_value then
        if redis.call('SISMEMBER', values_key, value) == 1 then
          admit = true
        elseif admitted < value_cap then
          redis.call('SADD', values_key, value)
          admitted = admitted + 1
          admit = true
        end
      end
      if admit then
        redis.call('HINCRBY', hash_key, value, views)
        if n_value_visitors > 0 then
          pfadd(value_key, a, a + n_value_visitors - 1)
          redis.call('EXPIRE', value_key, ttl)
        end
      else
        rest = rest + views
        to_other = true
        if n_value_visitors > 0 then
          pfadd(other_key, a, a + n_value_visitors - 1)
          other_visitors = true
        end
      end
      a = a + n_value_visitors
    end
    if to_other then redis.call('HINCRBY', hash_key, other_value, rest) end
    if other_visitors then redis.call('EXPIRE', other_key, ttl) end
    if n_values > 0 then
      redis.call('EXPIRE', hash_key, ttl)
      if admitted > 0 then redis.call('EXPIRE', values_key, ttl) end
      redis.call('SADD', KEYS[2], day)
      counted = true
    end
  end
  day_paths[#day_paths][4] = a
  for _ = 1, n_page_paths do
    a = a + 2 + tonumber(ARGV[a + 1])
  end
end
for m = k, n_minutes do
  local n = tonumber(ARGV[a])
  if n > 0 then
    pfadd(KEYS[m], a + 1, a + n)
    redis.call('EXPIRE', KEYS[m], ARGV[3])
  end
  a = a + n + 1
end

local tag = ARGV[a]
local timeout = tonumber(ARGV[a + 1])
local state_ttl = ARGV[a + 2]
local max_open = tonumber(ARGV[a + 3])
local now = tonumber(ARGV[a + 4])
local n_segments = tonumber(ARGV[a + 5])
a = a + 6
-- the visits in progress, at most max_open of them, counted per minute of their
-- state's last write (kept in the state, below): minute -> states last written then.
-- A minute whose states have all expired is dropped; one counter per minute
-- written per batch, not one entry per visitor.
local open_key = tag .. ':visopens'
local open_count = 0
local minute = math.floor(now / 60000)
local open_minutes = {}
local minute_moves = {}
if n_segments > 0 then
  local state_ttl_ms = tonumber(state_ttl) * 1000
  local flat = redis.call('HGETALL', open_key)
  for i = 1, #flat, 2 do
    local m, n = tonumber(flat[i]), tonumber(flat[i + 1])
    if (m + 1) * 60000 + state_ttl_ms <= now then
      redis.call('HDEL', open_key, flat[i])
    else
      open_minutes[m] = true
      open_count = open_count + n
    end
  end
end
-- the release before kept the open visits in a sorted set (visitor -> end of its
-- timeout): while it exists, the visits it still holds count toward the cap too,
-- and each leaves it when its state is moved (legacy_state, below)
local legacy_open = tag .. ':visopen'
local legacy = nil
if n_segments > 0 then
  legacy = redis.call('EXISTS', legacy_open) == 1
  if legacy then
    redis.call('ZREMRANGEBYSCORE', legacy_open, '-inf', now)
    open_count = open_count + redis.call('ZCARD', legacy_open)
  end
end

-- A visit's state is one string per visitor hash, {start, last, views, entry, exit,
-- day, source, channel, minute of the last write, funnel progress} packed with
-- cmsgpack, its TTL the timeout: read with one MGET for the whole batch and written
-- with one SET each. States read or written by this batch are kept here (false: none).
local states = {}
local function state_key(visitor)
  return tag .. ':vstate:' .. visitor
end
-- the hashes of the release before ('visit:<hash>', with the sorted set 'visopen')
-- are read once and moved while such a state may still be in progress
local function legacy_state(visitor, key)
  if legacy == nil then legacy = redis.call('EXISTS', legacy_open) == 1 end
  if not legacy then return nil end
  local old_key = tag .. ':visit:' .. visitor
  local h = redis.call('HMGET', old_key, 's', 'l', 'v', 'e', 'x', 'd', 'src', 'ch', 'f')
  if not h[1] then return nil end
  local left = redis.call('PTTL', old_key)
  if left <= 0 then left = tonumber(state_ttl) * 1000 end
  local st = {tonumber(h[1]), tonumber(h[2]), tonumber(h[3]), h[4], h[5], h[6], h[7] or '',
    h[8] or '', false, h[9] or ''}
  redis.call('DEL', old_key)
  redis.call('ZREM', legacy_open, visitor)
  redis.call('SET', key, cmsgpack.pack(st), 'PX', left)
  return st
end
-- remembers what GET or MGET answered for a visitor's state key
local function keep_state(visitor, key, raw)
  local st = false
  if raw then st = cmsgpack.unpack(raw) else st = legacy_state(visitor, key) or false end
  states[visitor] = st
  return st
end
local function read_state(visitor)
  local st = states[visitor]
  if st == nil then
    local key = state_key(visitor)
    st = keep_state(visitor, key, redis.call('GET', key))
  end
  return st or nil
end
-- the states of the batch's segments, in MGETs of at most 1000 keys
local function prefetch_states(first, n, stride)
  for i = 0, n - 1, 1000 do
    local keys, visitors, asked = {}, {}, {}
    for j = i, math.min(i + 999, n - 1) do
      local visitor = ARGV[first + j * stride]
      if states[visitor] == nil and not asked[visitor] then
        asked[visitor] = true
        visitors[#visitors + 1] = visitor
        keys[#keys + 1] = state_key(visitor)
      end
    end
    if #keys > 0 then
      local raws = redis.call('MGET', unpack(keys))
      for j, visitor in ipairs(visitors) do keep_state(visitor, keys[j], raws[j]) end
    end
  end
end

-- admissions after the views of the batch: the same caps, SCARD read once per set
local set_sizes = {}
-- t[k], a new table there when absent
local function sub(t, k)
  local v = t[k]
  if not v then
    v = {}
    t[k] = v
  end
  return v
end
-- the name prefix .. k, built once per batch and memo (a batch opens thousands of visits)
local function named(memo, prefix, k)
  local name = memo[k]
  if not name then
    name = prefix .. k
    memo[k] = name
  end
  return name
end
local admitted_in = {}
local function admit(set_key, value, limit, beyond)
  local seen = sub(admitted_in, set_key)
  local known = seen[value]
  if known ~= nil then return known end
  local answer = value
  if redis.call('SISMEMBER', set_key, value) == 0 then
    local size = set_sizes[set_key]
    if size == nil then size = redis.call('SCARD', set_key) end
    if size < limit then
      redis.call('SADD', set_key, value)
      redis.call('EXPIRE', set_key, ttl)
      size = size + 1
    else
      answer = beyond
    end
    set_sizes[set_key] = size
  end
  seen[value] = answer
  return answer
end
local paths_keys, values_keys = {}, {}
local paths_prefix, values_prefix = tag .. ':paths:', tag .. ':dimvals:'
local function admit_path(day, path)
  return admit(named(paths_keys, paths_prefix, day), path, cap, other)
end
local function admit_value(day, dimension, value)
  if value == other_value then return other_value end
  local of_day = sub(values_keys, day)
  local key = of_day[dimension]
  if not key then
    key = values_prefix .. day .. ':' .. dimension
    of_day[dimension] = key
  end
  return admit(key, value, value_cap, other_value)
end

-- unique visitors per page: after the views, so a path counts as its views do
for _, entry in ipairs(day_paths) do
  local day, paths_key, n_page_paths, p = entry[1], entry[2], entry[3], entry[4]
  for _ = 1, n_page_paths do
    local path, n = ARGV[p], tonumber(ARGV[p + 1])
    if n > 0 then
      local key = tag .. ':pguv:' .. day .. ':' .. admit(paths_key, path, cap, other)
      pfadd(key, p + 2, p + 1 + n)
      redis.call('EXPIRE', key, ttl)
    end
    p = p + 2 + n
  end
end

-- the visit figures' changes, summed here and written once per (key, field) after the segments
-- (kind -> day -> field -> change; the key names are built when written)
local pending = {}
local function bump(kind, day, field, by)
  if by == 0 then return end
  local fields = sub(sub(pending, kind), day)
  fields[field] = (fields[field] or 0) + by
end
-- the duration histogram's field names per bucket ('c:<s>' visits, 's:<s>' seconds)
local count_fields, seconds_fields = {}, {}
local function count_field(b)
  return named(count_fields, 'c:', b)
end
local function seconds_field(b)
  return named(seconds_fields, 's:', b)
end
local function bucket(s)
  if s < 60 then return s end
  if s < 600 then return s - s % 10 end
  if s < 3600 then return s - s % 60 end
  if s < 14400 then return s - s % 300 end
  if s < 86400 then return s - s % 1800 end
  return 86400
end
local function seconds(first, last)
  if last > first then return math.floor((last - first) / 1000) end
  return 0
end
local function move_duration(day, from, to)
  local b = bucket(to)
  if from ~= nil then
    local f = bucket(from)
    if f == b then
      bump('visdur', day, seconds_field(b), to - from)
      return
    end
    bump('visdur', day, count_field(f), -1)
    bump('visdur', day, seconds_field(f), -from)
  end
  bump('visdur', day, count_field(b), 1)
  bump('visdur', day, seconds_field(b), to)
end
local function move(kind, day, from, to)
  if from == to then return end
  if from ~= '' then bump(kind, day, from, -1) end
  if to ~= '' then bump(kind, day, to, 1) end
end
local function open(day, first, first_path, last, last_path, views, source, channel)
  local entry, exit = admit_path(day, first_path), admit_path(day, last_path)
  local secs = seconds(first, last)
  bump('vis', day, 'visits', 1)
  bump('vis', day, 'views', views)
  if views == 1 then bump('vis', day, 'bounces', 1) end
  bump('vis', day, 'duration', secs)
  move_duration(day, nil, secs)
  bump('visent', day, entry, 1)
  bump('visexit', day, exit, 1)
  local src, ch = '', ''
  if source ~= '' then src = admit_value(day, 'source', source) end
  if channel ~= '' then ch = admit_value(day, 'channel', channel) end
  if src ~= '' then bump('vissrc', day, 'source:' .. src, 1) end
  if ch ~= '' then bump('vissrc', day, 'channel:' .. ch, 1) end
  -- a new visit: no funnel progress (of an ended visit under the same key)
  return {first, math.max(first, last), views, entry, exit, day, src, ch, false, ''}
end

if n_segments > 0 then prefetch_states(a, n_segments, 10) end
for _ = 1, n_segments do
  local visitor, previous, day = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local first, first_path = tonumber(ARGV[a + 3]), ARGV[a + 4]
  local last, last_path = tonumber(ARGV[a + 5]), ARGV[a + 6]
  local views, source, channel = tonumber(ARGV[a + 7]), ARGV[a + 8], ARGV[a + 9]
  a = a + 10
  local key = state_key(visitor)
  local st = read_state(visitor)
  if st == nil and previous ~= '' then
    st = read_state(previous)
    if st ~= nil then
      -- the visit began under yesterday's salt: it goes on under today's hash
      redis.call('RENAME', state_key(previous), key)
      states[previous] = false
      states[visitor] = st
    end
  end
  if st == nil then st = {} end
  local start = st[1]
  local state = nil
  if start ~= nil and start - last >= timeout then
    -- ended a timeout or more before the visit in progress began: a visit of its own
    open(day, first, first_path, last, last_path, views, source, channel)
  elseif start ~= nil and first - st[2] < timeout then
    local s_last, s_views = st[2], st[3]
    local entry, exit, s_day = st[4], st[5], st[6]
    local src, ch = st[7], st[8]
    bump('vis', s_day, 'views', views)
    if s_views == 1 then bump('vis', s_day, 'bounces', -1) end
    local new_start, new_last = start, s_last
    if first < start and day == s_day then
      new_start = first
      local new_entry = admit_path(s_day, first_path)
      move('visent', s_day, entry, new_entry)
      entry = new_entry
      local new_src, new_ch = '', ''
      if source ~= '' then new_src = admit_value(s_day, 'source', source) end
      if channel ~= '' then new_ch = admit_value(s_day, 'channel', channel) end
      if new_src ~= src then
        if src ~= '' then bump('vissrc', s_day, 'source:' .. src, -1) end
        if new_src ~= '' then bump('vissrc', s_day, 'source:' .. new_src, 1) end
      end
      if new_ch ~= ch then
        if ch ~= '' then bump('vissrc', s_day, 'channel:' .. ch, -1) end
        if new_ch ~= '' then bump('vissrc', s_day, 'channel:' .. new_ch, 1) end
      end
      src, ch = new_src, new_ch
    end
    if last >= s_last then
      new_last = last
      local new_exit = admit_path(s_day, last_path)
      move('visexit', s_day, exit, new_exit)
      exit = new_exit
    end
    local before, after = seconds(start, s_last), seconds(new_start, new_last)
    if after ~= before then
      bump('vis', s_day, 'duration', after - before)
      move_duration(s_day, before, after)
    end
    state = {new_start, new_last, s_views + views, entry, exit, s_day, src, ch, false, st[10] or ''}
  else
    state = open(day, first, first_path, last, last_path, views, source, channel)
  end
  -- a new visitor beyond max_open: its visit is counted but not remembered
  if state and (start ~= nil or open_count < max_open) then
    if start == nil then open_count = open_count + 1 end
    local was = st[9]
    if was ~= minute then
      if was and open_minutes[was] then minute_moves[was] = (minute_moves[was] or 0) - 1 end
      minute_moves[minute] = (minute_moves[minute] or 0) + 1
    end
    state[9] = minute
    redis.call('SET', key, cmsgpack.pack(state), 'EX', state_ttl)
    states[visitor] = state
  end
end
if n_segments > 0 then
  for m, by in pairs(minute_moves) do
    if by ~= 0 and redis.call('HINCRBY', open_key, m, by) <= 0 then redis.call('HDEL', open_key, m) end
  end
  -- the counters outlive the states they count by the minute they are kept per
  redis.call('EXPIRE', open_key, tonumber(state_ttl) + 60)
end

-- funnel trails (src/funnels.ts applyTrail: keep in step), after the segments:
-- each advances the visitor's visit in progress, and each step newly reached
-- counts one visit and its visitor on the visit's start day (no cap: the
-- config bounds the values)
local n_trails = tonumber(ARGV[a])
a = a + 1
local funnel_days = {}
if n_trails > 0 then
  local funnels = {}
  local offset = 0
  local n_funnels = tonumber(ARGV[a])
  a = a + 1
  for f = 1, n_funnels do
    local k = tonumber(ARGV[a])
    funnels[f] = {k = k, first = a + 1, offset = offset}
    offset = offset + k + 1
    a = a + 1 + k
  end
  for _ = 1, n_trails do
    local visitor, previous, trail = ARGV[a], ARGV[a + 1], ARGV[a + 2]
    a = a + 3
    local st = read_state(visitor)
    if st == nil and previous ~= '' then
      visitor = previous
      st = read_state(previous)
    end
    if st ~= nil then
      local s_day, progress = st[6], st[10] or ''
      local out = {}
      local changed = false
      for f, funnel in ipairs(funnels) do
        local before = math.min(tonumber(string.sub(progress, f, f)) or 0, funnel.k)
        local at = funnel.offset + before + 1
        local after = math.max(before, tonumber(string.sub(trail, at, at)) or before)
        for step = before + 1, after do
          local value = ARGV[funnel.first + step - 1]
          local hash_key = tag .. ':dim:' .. s_day .. ':funnel'
          local uv_key = tag .. ':dimuv:' .. s_day .. ':funnel:' .. value
          redis.call('HINCRBY', hash_key, value, 1)
          redis.call('PFADD', uv_key, visitor)
          redis.call('EXPIRE', uv_key, ttl)
          funnel_days[hash_key] = s_day
          changed = true
        end
        out[f] = after
      end
      if changed then
        st[10] = table.concat(out)
        redis.call('SET', state_key(visitor), cmsgpack.pack(st), 'KEEPTTL')
      end
    end
  end
end
for hash_key, s_day in pairs(funnel_days) do
  redis.call('EXPIRE', hash_key, ttl)
  redis.call('SADD', KEYS[2], s_day)
  counted = true
end
local touched = {}
for kind, of_kind in pairs(pending) do
  for day, fields in pairs(of_kind) do
    local key = tag .. ':' .. kind .. ':' .. day
    for field, by in pairs(fields) do
      if by ~= 0 then redis.call('HINCRBY', key, field, by) end
    end
    redis.call('EXPIRE', key, ttl)
    touched[day] = true
  end
end
for day in pairs(touched) do
  redis.call('SADD', KEYS[2], day)
  counted = true
end
if counted then redis.call('EXPIRE', KEYS[2], ttl) end
return 1
`

/** The client once WRITE_BATCH is defined on it (ioredis sends EVALSHA, EVAL on NOSCRIPT) */
interface WriteBatchCommand {
  trackingWriteBatch(numKeys: number, keys: string[], args: Array<string | number>): Promise<number>
}

/** Clients that have WRITE_BATCH defined (the client getter may hand out a new one) */
const scripted = new WeakSet<object>()

/**
 * Moves a day's live views and total aside under a flush id, atomically, and
 * records the flush as pending. With ARGV[3] = '1' the day's dimension
 * counts go too: each dimension's views hash and the HyperLogLog of each of
 * its values (names built here from ARGV prefixes: they depend on the values;
 * all carry the {prefix} hash tag, so they live in the slot of the declared
 * keys). With ARGV[4] = '1' the visit figures of the start day go too (its
 * five hashes). What does not go stays live, and the day stays pending
 * while it exists. The taken keys lose their TTL: only a confirmed flush
 * deletes them.
 *
 * KEYS: views, total, taken views, taken total, flushes, days, the five
 * live visit figure keys, the five taken ones, then per dimension its live
 * and taken views hash.
 * ARGV: flush id, day, with dimensions, with visits, then per dimension the
 * live and taken visitors key prefixes.
 */
const TAKE_ASIDE = `
local has_views = redis.call('EXISTS', KEYS[1]) == 1
local has_total = redis.call('EXISTS', KEYS[2]) == 1
local with_dimensions = ARGV[3] == '1'
local with_visits = ARGV[4] == '1'
local live_dimensions = {}
for i = 17, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then live_dimensions[#live_dimensions + 1] = i end
end
local live_visits = {}
for i = 7, 11 do
  if redis.call('EXISTS', KEYS[i]) == 1 then live_visits[#live_visits + 1] = i end
end
local move_dimensions = with_dimensions and #live_dimensions > 0
local move_visits = with_visits and #live_visits > 0
local keeps = (not with_dimensions and #live_dimensions > 0) or (not with_visits and #live_visits > 0)
if not has_views and not has_total and not move_dimensions and not move_visits then
  if not keeps then redis.call('SREM', KEYS[6], ARGV[2]) end
  return 0
end
if has_views then
  redis.call('RENAME', KEYS[1], KEYS[3])
  redis.call('PERSIST', KEYS[3])
end
if has_total then
  redis.call('RENAME', KEYS[2], KEYS[4])
  redis.call('PERSIST', KEYS[4])
end
if move_dimensions then
  for _, i in ipairs(live_dimensions) do
    local from, to = ARGV[i - 12], ARGV[i - 11]
    for _, value in ipairs(redis.call('HKEYS', KEYS[i])) do
      local source = from .. value
      if redis.call('EXISTS', source) == 1 then
        redis.call('RENAME', source, to .. value)
        redis.call('PERSIST', to .. value)
      end
    end
    redis.call('RENAME', KEYS[i], KEYS[i + 1])
    redis.call('PERSIST', KEYS[i + 1])
  end
end
if move_visits then
  for _, i in ipairs(live_visits) do
    redis.call('RENAME', KEYS[i], KEYS[i + 5])
    redis.call('PERSIST', KEYS[i + 5])
  end
end
redis.call('HSET', KEYS[5], ARGV[1], ARGV[2])
if not keeps then redis.call('SREM', KEYS[6], ARGV[2]) end
return 1
`

/**
 * Deletes what a flush took aside: views, total, the visit figures, each
 * taken dimension hash and the visitors of its values, and the pending entry.
 *
 * KEYS: taken views, taken total, flushes, the five taken visit figure
 * keys, then per dimension its taken hash.
 * ARGV: flush id, then per dimension its taken visitors key prefix.
 */
const DROP_TAKEN = `
for i = 9, #KEYS do
  local prefix = ARGV[i - 7]
  local values = redis.call('HKEYS', KEYS[i])
  for first = 1, #values, 500 do
    local names = {}
    for j = first, math.min(first + 499, #values) do names[#names + 1] = prefix .. values[j] end
    redis.call('DEL', unpack(names))
  end
  redis.call('DEL', KEYS[i])
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
`

/**
 * Union of a stored sketch with the live one, in a scratch key
 */
const MERGE_SKETCH = `
if ARGV[1] ~= '' then
  redis.call('SET', KEYS[2], ARGV[1])
else
  redis.call('DEL', KEYS[2])
end
redis.call('PFMERGE', KEYS[2], KEYS[1])
local count = redis.call('PFCOUNT', KEYS[2])
local bytes = redis.call('GET', KEYS[2])
redis.call('DEL', KEYS[2])
return {bytes, count}
`

/**
 * Cardinality of the union of stored sketches (ARGV) and live keys (KEYS after
 * the scratch keys)
 */
const COUNT_UNION = `
local n = tonumber(ARGV[1])
local sources = {}
for i = 1, n do
  redis.call('SET', KEYS[i], ARGV[i + 1])
  sources[#sources + 1] = KEYS[i]
end
for i = n + 1, #KEYS - 1 do
  sources[#sources + 1] = KEYS[i]
end
local target = KEYS[#KEYS]
redis.call('DEL', target)
redis.call('PFMERGE', target, unpack(sources))
local count = redis.call('PFCOUNT', target)
redis.call('DEL', target)
for i = 1, n do redis.call('DEL', KEYS[i]) end
return count
`

const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

/**
 * Live counters in Redis, on the app's @adonisjs/redis connection.
 */
export class RedisStore implements TrackingStore {
  readonly name = 'redis' as const
  readonly keys: TrackingKeys
  #client: () => Redis | Cluster
  #ttlSeconds: number
  #maxPathsPerDay: number
  #maxValuesPerDimension: number
  #visitTimeoutMs: number
  #maxOpenVisits: number
  #now: () => number
  #onClose?: () => Promise<void>
  /** the salts of the last two days asked (today's, and yesterday's around midnight) */
  #salts = new Map<string, string>()

  constructor(options: {
    client: () => Redis | Cluster
    keyPrefix: string
    ttlSeconds: number
    /** distinct paths a day admits; later new paths count under OTHER_PATH */
    maxPathsPerDay?: number
    /** distinct values a dimension admits per day; later new values count under OTHER_VALUE */
    maxValuesPerDimension?: number
    /** a gap of this many ms ends a visit (visitTimeoutMinutes; default 30 minutes) */
    visitTimeoutMs?: number
    /** visits in progress remembered at once (maxOpenVisits); beyond, new visitors' visits are not */
    maxOpenVisits?: number
    /** the clock a batch's open visits are counted by (epoch ms; default Date.now) */
    now?: () => number
    /** called by close() when the store owns its connection */
    onClose?: () => Promise<void>
  }) {
    this.#client = options.client
    this.keys = new TrackingKeys(options.keyPrefix)
    this.#ttlSeconds = options.ttlSeconds
    this.#maxPathsPerDay = options.maxPathsPerDay ?? DEFAULT_MAX_PATHS_PER_DAY
    this.#maxValuesPerDimension = options.maxValuesPerDimension ?? DEFAULT_MAX_VALUES_PER_DIMENSION
    this.#visitTimeoutMs = options.visitTimeoutMs ?? 30 * 60_000
    this.#maxOpenVisits = options.maxOpenVisits ?? DEFAULT_MAX_OPEN_VISITS
    this.#now = options.now ?? Date.now
    this.#onClose = options.onClose
  }

  /** The ioredis client (exposed for tests and benchmarks) */
  get client(): Redis | Cluster {
    return this.#client()
  }

  isReady(): boolean {
    const client = this.#client()
    /* a lazily connected client only connects on its first command */
    if (client.status === 'wait') client.connect().catch(() => {})
    return client.status === 'ready'
  }

  /**
   * One EVALSHA per batch (see WRITE_BATCH). Keys: the batch marker, the days
   * set, four keys per day, three per dimension of a day and one per value,
   * one per minute; the arguments carry the counts.
   *
   * Keys of dimensions: per day and dimension a views hash, a values set and
   * at most maxValuesPerDimension + 1 HyperLogLogs (OTHER_VALUE included), so
   * at most 14 x 1,001 visitor sketches a day with the default cap. A sketch
   * is sparse (under DENSE_BYTES, about 150 visitors) until it grows past
   * that or one batch brings DENSE_AT visitors, then 12 KB (see DENSE_AT:
   * sparse adds are slow): the worst case, every value of every dimension
   * with more than ~150 visitors since the last flush, is
   * 14 x 1,001 x 12 KB = 172 MB a day; a realistic day (a few dozen values
   * per dimension with many visitors, a long tail with few) stays within a
   * few MB. Flushes delete the sketches they took aside.
   *
   * Visits: one state string per visitor with a visit in progress (about 200
   * bytes with short paths, the paths' length more), living for the visit
   * timeout after its last view; per start day the figure hashes (a
   * duration histogram of at most 241 buckets, entries and exits per
   * admitted path, visits per admitted source and channel); per day and
   * admitted path a HyperLogLog of its visitors (sparse, some dozens of
   * bytes for a few visitors, 12 KB at most), kept until the TTL.
   */
  async write(batch: TrackingBatch): Promise<void> {
    const keys = this.keys
    const commandKeys = [keys.batch(batch.id ?? randomUUID()), keys.days()]
    const args: Array<string | number> = [
      BATCH_TTL_SECONDS,
      this.#ttlSeconds,
      MINUTE_TTL_SECONDS,
      this.#maxPathsPerDay,
      OTHER_PATH,
      this.#maxValuesPerDimension,
      OTHER_VALUE,
      batch.days.size,
    ]
    for (const [day, counts] of batch.days) {
      commandKeys.push(keys.views(day), keys.total(day), keys.visitors(day), keys.paths(day))
      const dimensions = counts.dimensions ? byDimension(counts.dimensions) : null
      const pages = counts.pageVisitors
      args.push(
        day,
        counts.views.size,
        counts.visitors.size,
        dimensions?.size ?? 0,
        pages?.size ?? 0
      )
      for (const [path, views] of counts.views) args.push(path, views)
      for (const visitor of counts.visitors) args.push(visitor)
      for (const [dimension, values] of dimensions ?? []) {
        commandKeys.push(
          keys.dimension(day, dimension),
          keys.dimensionValues(day, dimension),
          keys.dimensionVisitors(day, dimension, OTHER_VALUE)
        )
        args.push(values.length)
        for (const [value, count] of values) {
          commandKeys.push(keys.dimensionVisitors(day, dimension, value))
          args.push(value, count.views, count.visitors.size)
          for (const visitor of count.visitors) args.push(visitor)
        }
      }
      for (const [path, visitors] of pages ?? []) {
        args.push(path, visitors.size)
        for (const visitor of visitors) args.push(visitor)
      }
    }
    for (const [minute, visitors] of batch.minutes) {
      commandKeys.push(keys.minute(minute))
      args.push(visitors.size)
      for (const visitor of visitors) args.push(visitor)
    }
    const segments = batch.visits ?? []
    args.push(
      keys.tag,
      this.#visitTimeoutMs,
      Math.ceil(this.#visitTimeoutMs / 1000),
      this.#maxOpenVisits,
      this.#now(),
      segments.length
    )
    for (const segment of segments) {
      args.push(
        segment.visitor,
        segment.previous ?? '',
        segment.day,
        Math.round(segment.first),
        segment.firstPath,
        Math.round(Math.max(segment.first, segment.last)),
        segment.lastPath,
        segment.views,
        segment.source ?? '',
        segment.channel ?? ''
      )
    }
    const funnels = batch.funnels
    const trails = funnels?.trails ?? []
    args.push(trails.length)
    if (trails.length > 0) {
      args.push(funnels!.steps.length)
      for (const values of funnels!.steps) args.push(values.length, ...values)
      for (const one of trails) args.push(one.visitor, one.previous ?? '', one.trail)
    }
    const client = this.#client() as (Redis | Cluster) & WriteBatchCommand
    if (!scripted.has(client)) {
      client.defineCommand('trackingWriteBatch', { lua: WRITE_BATCH })
      scripted.add(client)
    }
    /* arrays, not spread: ioredis flattens them, and a spread of 100k arguments overflows the stack */
    await client.trackingWriteBatch(commandKeys.length, commandKeys, args)
  }

  async salt(day: string): Promise<string> {
    const cached = this.#salts.get(day)
    if (cached) return cached
    const key = this.keys.salt(day)
    const candidate = randomBytes(16).toString('hex')
    const results = await this.#client()
      .multi()
      .set(key, candidate, 'EX', SALT_TTL_SECONDS, 'NX')
      .get(key)
      .exec()
    const stored = results?.[1]?.[1]
    const salt = typeof stored === 'string' && stored !== '' ? stored : candidate
    if (this.#salts.size >= 2) this.#salts.delete(this.#salts.keys().next().value!)
    this.#salts.set(day, salt)
    return salt
  }

  /**
   * HSCAN rather than HGETALL: ioredis turns an HGETALL reply into an object
   * with one property per path, about twice as slow for 10k paths. A path
   * HSCAN returns twice (the hash grows meanwhile) is set, not added, again.
   */
  async getDaily(day: string): Promise<Map<string, number>> {
    return this.#scanCounts(this.keys.views(day))
  }

  /** field -> count of a hash of counters */
  async #scanCounts(key: string): Promise<Map<string, number>> {
    const out = new Map<string, number>()
    let cursor = '0'
    do {
      const [next, flat] = await this.#client().hscan(key, cursor, 'COUNT', DAILY_SCAN_COUNT)
      cursor = next
      for (let i = 0; i < flat.length; i += 2) out.set(flat[i], Number(flat[i + 1]))
    } while (cursor !== '0')
    return out
  }

  async getDayTotal(day: string): Promise<number> {
    return Number((await this.#client().get(this.keys.total(day))) ?? 0)
  }

  async getMultiDay(days: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>()
    if (days.length === 0) return out
    const values = await this.#client().mget(...days.map((day) => this.keys.total(day)))
    days.forEach((day, index) => out.set(day, Number(values[index] ?? 0)))
    return out
  }

  async getUniqueCount(days: string | string[]): Promise<number> {
    const list = Array.isArray(days) ? days : [days]
    if (list.length === 0) return 0
    return this.#client().pfcount(...list.map((day) => this.keys.visitors(day)))
  }

  async realtimeVisitors(minutes = 5): Promise<number> {
    const now = Math.floor(Date.now() / 60_000)
    const keys: string[] = []
    for (let i = 0; i < minutes; i++) keys.push(this.keys.minute(now - i))
    return this.#client().pfcount(...keys)
  }

  async pendingDays(): Promise<string[]> {
    const days = await this.#client().smembers(this.keys.days())
    return days.sort()
  }

  async takeAside(
    day: string,
    flushId: string,
    options: { dimensions?: boolean; visits?: boolean } = {}
  ): Promise<boolean> {
    const k = this.keys
    const commandKeys = [
      k.views(day),
      k.total(day),
      k.takenViews(flushId),
      k.takenTotal(flushId),
      k.flushes(),
      k.days(),
      ...visitKeyList(k.visitFigures(day)),
      ...visitKeyList(k.takenVisitFigures(flushId)),
    ]
    const args = [
      flushId,
      day,
      options.dimensions === false ? '0' : '1',
      options.visits === false ? '0' : '1',
    ]
    for (const dimension of STORED_DIMENSIONS) {
      commandKeys.push(k.dimension(day, dimension), k.takenDimension(flushId, dimension))
      args.push(
        k.dimensionVisitorsPrefix(day, dimension),
        k.takenDimensionVisitorsPrefix(flushId, dimension)
      )
    }
    const moved = await this.#client().eval(TAKE_ASIDE, commandKeys.length, ...commandKeys, ...args)
    return Number(moved) === 1
  }

  async takenFlushes(): Promise<TakenFlush[]> {
    const raw = await this.#client().hgetall(this.keys.flushes())
    return Object.entries(raw)
      .map(([flushId, day]) => ({ flushId, day }))
      .sort((a, b) => a.day.localeCompare(b.day) || a.flushId.localeCompare(b.flushId))
  }

  /**
   * HSCAN of a hash nobody writes to any more: no element is returned twice
   * (duplicates only happen when a hash shrinks between calls).
   */
  async *readTaken(flushId: string, chunkSize: number): AsyncIterable<Array<[string, number]>> {
    const key = this.keys.takenViews(flushId)
    let cursor = '0'
    do {
      const [next, flat] = await this.#client().hscan(key, cursor, 'COUNT', chunkSize)
      cursor = next
      const chunk: Array<[string, number]> = []
      for (let i = 0; i < flat.length; i += 2) chunk.push([flat[i], Number(flat[i + 1])])
      if (chunk.length > 0) yield chunk
    } while (cursor !== '0')
  }

  async takenTotal(flushId: string): Promise<number> {
    return Number((await this.#client().get(this.keys.takenTotal(flushId))) ?? 0)
  }

  async dropTaken(flushId: string): Promise<void> {
    const k = this.keys
    const commandKeys = [
      k.takenViews(flushId),
      k.takenTotal(flushId),
      k.flushes(),
      ...visitKeyList(k.takenVisitFigures(flushId)),
    ]
    const args = [flushId]
    for (const dimension of STORED_DIMENSIONS) {
      commandKeys.push(k.takenDimension(flushId, dimension))
      args.push(k.takenDimensionVisitorsPrefix(flushId, dimension))
    }
    await this.#client().eval(DROP_TAKEN, commandKeys.length, ...commandKeys, ...args)
  }

  async mergeSketch(day: string, stored: Buffer | null): Promise<MergedSketch> {
    const [bytes, count] = (await this.#client().callBuffer(
      'EVAL',
      MERGE_SKETCH,
      2,
      this.keys.visitors(day),
      this.keys.scratch(randomUUID()),
      stored ?? ''
    )) as [Buffer | null, number]
    return { sketch: bytes && bytes.length > 0 ? bytes : null, count: Number(count) }
  }

  /** HSCAN of the dimension's views hash of the day (see getDaily) */
  async getDimension(day: string, dimension: StoredDimensionName): Promise<Map<string, number>> {
    return this.#scanCounts(this.keys.dimension(day, dimension))
  }

  async countDimensionUnion(
    dimension: StoredDimensionName,
    value: string,
    sketches: Buffer[],
    liveDays: string[]
  ): Promise<number> {
    return this.#countUnionOf(
      sketches,
      liveDays.map((day) => this.keys.dimensionVisitors(day, dimension, value))
    )
  }

  async liveDimensionSketches(
    dimension: StoredDimensionName,
    days: Map<string, readonly string[]>
  ): Promise<Map<string, Buffer[]>> {
    const out = new Map<string, Buffer[]>()
    const asked: string[] = []
    const pipeline = this.#client().pipeline()
    for (const [value, valueDays] of days) {
      out.set(value, [])
      for (const day of valueDays) {
        asked.push(value)
        pipeline.getBuffer(this.keys.dimensionVisitors(day, dimension, value))
      }
    }
    if (asked.length === 0) return out
    const replies = (await pipeline.exec()) ?? []
    replies.forEach(([error, bytes], i) => {
      if (error) throw error
      if (bytes) out.get(asked[i])!.push(bytes as Buffer)
    })
    return out
  }

  /**
   * HSCAN of each taken dimension hash (nobody writes to it any more), with
   * the taken sketch of each value read in the same round trip
   */
  async *readTakenDimensions(flushId: string, chunkSize: number): AsyncIterable<TakenDimension[]> {
    const client = this.#client()
    for (const dimension of STORED_DIMENSIONS) {
      const key = this.keys.takenDimension(flushId, dimension)
      const prefix = this.keys.takenDimensionVisitorsPrefix(flushId, dimension)
      let cursor = '0'
      do {
        const [next, flat] = await client.hscan(key, cursor, 'COUNT', chunkSize)
        cursor = next
        if (flat.length === 0) continue
        const pipeline = client.pipeline()
        for (let i = 0; i < flat.length; i += 2) pipeline.getBuffer(`${prefix}${flat[i]}`)
        const sketches = (await pipeline.exec()) ?? []
        const chunk: TakenDimension[] = []
        for (let i = 0; i < flat.length; i += 2) {
          const [error, bytes] = sketches[i / 2] ?? [null, null]
          if (error) throw error
          chunk.push({
            dimension,
            value: flat[i],
            views: Number(flat[i + 1]),
            sketch: Buffer.isBuffer(bytes) && bytes.length > 0 ? bytes : null,
          })
        }
        yield chunk
      } while (cursor !== '0')
    }
  }

  /**
   * field -> count of several hashes of counters, HSCAN rounds in one
   * pipeline each (usually one round: these hashes are small)
   */
  async #scanCountsOf(keys: readonly string[]): Promise<Array<Map<string, number>>> {
    const out = keys.map(() => new Map<string, number>())
    let pending = keys.map((key, index) => ({ key, index, cursor: '0' }))
    while (pending.length > 0) {
      const pipeline = this.#client().pipeline()
      for (const one of pending) pipeline.hscan(one.key, one.cursor, 'COUNT', DAILY_SCAN_COUNT)
      const replies = (await pipeline.exec()) ?? []
      const next: typeof pending = []
      pending.forEach((one, i) => {
        const [error, reply] = replies[i] ?? [null, null]
        if (error) throw error
        const [cursor, flat] = reply as [string, string[]]
        const map = out[one.index]
        for (let j = 0; j < flat.length; j += 2) map.set(flat[j], Number(flat[j + 1]))
        if (cursor !== '0') next.push({ ...one, cursor })
      })
      pending = next
    }
    return out
  }

  /** The visit figures of the five hashes of a day (live or taken) */
  async #visitCountsOf(sets: VisitKeys[]): Promise<VisitCounts[]> {
    const maps = await this.#scanCountsOf(sets.flatMap(visitKeyList))
    return sets.map((_, i) => visitCountsOf(maps.slice(i * 5, i * 5 + 5)))
  }

  async getVisits(days: readonly string[]): Promise<Map<string, VisitCounts>> {
    const out = new Map<string, VisitCounts>()
    if (days.length === 0) return out
    const counts = await this.#visitCountsOf(days.map((day) => this.keys.visitFigures(day)))
    days.forEach((day, i) => {
      if (!isEmptyVisitCounts(counts[i])) out.set(day, counts[i])
    })
    return out
  }

  async readTakenVisits(flushId: string): Promise<VisitCounts | null> {
    const [counts] = await this.#visitCountsOf([this.keys.takenVisitFigures(flushId)])
    return isEmptyVisitCounts(counts) ? null : counts
  }

  async pageVisitorSketches(day: string, paths: readonly string[]): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>()
    if (paths.length === 0) return out
    const pipeline = this.#client().pipeline()
    for (const path of paths) pipeline.getBuffer(this.keys.pageVisitors(day, path))
    const replies = (await pipeline.exec()) ?? []
    replies.forEach(([error, bytes], i) => {
      if (error) throw error
      if (Buffer.isBuffer(bytes) && bytes.length > 0) out.set(paths[i], bytes)
    })
    return out
  }

  async countUnion(sketches: Buffer[], liveDays: string[]): Promise<number> {
    return this.#countUnionOf(
      sketches,
      liveDays.map((day) => this.keys.visitors(day))
    )
  }

  /** Cardinality of the union of stored sketches and live HyperLogLog keys */
  async #countUnionOf(sketches: Buffer[], liveKeys: string[]): Promise<number> {
    if (sketches.length === 0 && liveKeys.length === 0) return 0
    if (sketches.length === 0) return this.#client().pfcount(...liveKeys)
    const scratch = sketches.map(() => this.keys.scratch(randomUUID()))
    const keys = [...scratch, ...liveKeys, this.keys.scratch(randomUUID())]
    const count = await this.#client().eval(
      COUNT_UNION,
      keys.length,
      ...keys,
      sketches.length,
      ...sketches
    )
    return Number(count)
  }

  async acquireLock(name: string, ttlMs: number): Promise<string | null> {
    const token = randomUUID()
    const ok = await this.#client().set(this.keys.lock(name), token, 'PX', ttlMs, 'NX')
    return ok === 'OK' ? token : null
  }

  async releaseLock(name: string, token: string): Promise<void> {
    await this.#client().eval(RELEASE_LOCK, 1, this.keys.lock(name), token)
  }

  async ping(timeoutMs = 3000): Promise<void> {
    const client = this.#client()
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([
        client.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(`Redis did not answer within ${timeoutMs} ms (status: ${client.status})`)
              ),
            timeoutMs
          )
        }),
      ])
    } finally {
      clearTimeout(timer)
    }
  }

  async close(): Promise<void> {
    await this.#onClose?.()
  }
}

/**
 * The pairs of a day's batch grouped by dimension, each value as stored
 * (parseDimensionKey: known dimensions, values cut and cleaned; two keys
 * that become one value are summed)
 */
function byDimension(
  pairs: Map<string, DimensionCount>
): Map<StoredDimensionName, Array<[string, DimensionCount]>> {
  const grouped = new Map<StoredDimensionName, Map<string, DimensionCount>>()
  for (const [key, count] of pairs) {
    const parsed = parseDimensionKey(key)
    if (parsed === null) continue
    const [dimension, value] = parsed
    let values = grouped.get(dimension)
    if (!values) grouped.set(dimension, (values = new Map()))
    const into = values.get(value)
    if (!into) {
      values.set(value, count)
      continue
    }
    values.set(value, {
      views: into.views + count.views,
      visitors: new Set([...into.visitors, ...count.visitors]),
    })
  }
  return new Map([...grouped].map(([dimension, values]) => [dimension, [...values]]))
}

/**
 * The visit figures of a day from its five hashes (stats, durations,
 * entries, exits, sources; see TrackingKeys.visitFigures)
 */
function visitCountsOf([stats, durations, entries, exits, sources]: Array<
  Map<string, number>
>): VisitCounts {
  const counts = emptyVisitCounts()
  counts.visits = stats.get('visits') ?? 0
  counts.views = stats.get('views') ?? 0
  counts.bounces = stats.get('bounces') ?? 0
  counts.duration = stats.get('duration') ?? 0
  for (const [field, n] of durations) {
    const bucket = Number(field.slice(2))
    if (!Number.isSafeInteger(bucket) || n === 0) continue
    let held = counts.durations.get(bucket)
    if (!held) counts.durations.set(bucket, (held = { visits: 0, seconds: 0 }))
    if (field.startsWith('c:')) held.visits += n
    else if (field.startsWith('s:')) held.seconds += n
  }
  for (const [bucket, held] of counts.durations) {
    if (held.visits === 0 && held.seconds === 0) counts.durations.delete(bucket)
  }
  for (const [path, n] of entries) if (n !== 0) counts.entries.set(path, n)
  for (const [path, n] of exits) if (n !== 0) counts.exits.set(path, n)
  for (const [key, n] of sources) if (n !== 0) counts.sources.set(key, n)
  return counts
}
