import { randomBytes, randomUUID } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import { BATCH_TTL_SECONDS, DEFAULT_MAX_PATHS_PER_DAY, OTHER_PATH } from './batch.ts'
import { TrackingKeys } from './keys.ts'
import type { DimensionName } from '../dimensions/names.ts'
import type {
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
 * the OTHER_PATH row. Every key gets a TTL. Lua's unpack is bounded by the
 * C stack, so visitors go to PFADD in slices.
 *
 * KEYS: batch marker, days set, then per day views, total, visitors, paths,
 * then one HyperLogLog per minute.
 * ARGV: batch TTL, data TTL, minute TTL, cap, other label, number of days,
 * then per day: day, n paths, n visitors, path/views pairs, visitors; then
 * per minute: n visitors, visitors.
 */
const WRITE_BATCH = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local ttl = tonumber(ARGV[2])
local cap = tonumber(ARGV[4])
local other = ARGV[5]
local function pfadd(key, first, last)
  for i = first, last, 1000 do
    redis.call('PFADD', key, unpack(ARGV, i, math.min(i + 999, last)))
  end
end
local a = 7
local k = 3
local counted = false
for _ = 1, tonumber(ARGV[6]) do
  local day = ARGV[a]
  local n_paths = tonumber(ARGV[a + 1])
  local n_visitors = tonumber(ARGV[a + 2])
  local views_key, total_key, visitors_key, paths_key = KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]
  a = a + 3
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
end
if counted then redis.call('EXPIRE', KEYS[2], ttl) end
for m = k, #KEYS do
  local n = tonumber(ARGV[a])
  if n > 0 then
    pfadd(KEYS[m], a + 1, a + n)
    redis.call('EXPIRE', KEYS[m], ARGV[3])
  end
  a = a + n + 1
end
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
 * records the flush as pending. The taken keys lose their TTL: only a
 * confirmed flush deletes them.
 */
const TAKE_ASIDE = `
local has_views = redis.call('EXISTS', KEYS[1]) == 1
local has_total = redis.call('EXISTS', KEYS[2]) == 1
if not has_views and not has_total then
  redis.call('SREM', KEYS[6], ARGV[2])
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
redis.call('HSET', KEYS[5], ARGV[1], ARGV[2])
redis.call('SREM', KEYS[6], ARGV[2])
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
  #onClose?: () => Promise<void>
  #salts = new Map<string, string>()

  constructor(options: {
    client: () => Redis | Cluster
    keyPrefix: string
    ttlSeconds: number
    /** distinct paths a day admits; later new paths count under OTHER_PATH */
    maxPathsPerDay?: number
    /** called by close() when the store owns its connection */
    onClose?: () => Promise<void>
  }) {
    this.#client = options.client
    this.keys = new TrackingKeys(options.keyPrefix)
    this.#ttlSeconds = options.ttlSeconds
    this.#maxPathsPerDay = options.maxPathsPerDay ?? DEFAULT_MAX_PATHS_PER_DAY
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
   * set, four keys per day, one per minute; the arguments carry the counts.
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
      batch.days.size,
    ]
    for (const [day, counts] of batch.days) {
      commandKeys.push(keys.views(day), keys.total(day), keys.visitors(day), keys.paths(day))
      args.push(day, counts.views.size, counts.visitors.size)
      for (const [path, views] of counts.views) args.push(path, views)
      for (const visitor of counts.visitors) args.push(visitor)
    }
    for (const [minute, visitors] of batch.minutes) {
      commandKeys.push(keys.minute(minute))
      args.push(visitors.size)
      for (const visitor of visitors) args.push(visitor)
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
    this.#salts.clear()
    this.#salts.set(day, salt)
    return salt
  }

  /**
   * HSCAN rather than HGETALL: ioredis turns an HGETALL reply into an object
   * with one property per path, about twice as slow for 10k paths. A path
   * HSCAN returns twice (the hash grows meanwhile) is set, not added, again.
   */
  async getDaily(day: string): Promise<Map<string, number>> {
    const key = this.keys.views(day)
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

  async takeAside(day: string, flushId: string): Promise<boolean> {
    const k = this.keys
    const moved = await this.#client().eval(
      TAKE_ASIDE,
      6,
      k.views(day),
      k.total(day),
      k.takenViews(flushId),
      k.takenTotal(flushId),
      k.flushes(),
      k.days(),
      flushId,
      day
    )
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
    await this.#client()
      .multi()
      .del(this.keys.takenViews(flushId), this.keys.takenTotal(flushId))
      .hdel(this.keys.flushes(), flushId)
      .exec()
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

  /* dimensions: not stored yet (issue #14 storage); the reads see no live values */
  async getDimension(_day: string, _dimension: DimensionName): Promise<Map<string, number>> {
    return new Map()
  }

  async countDimensionUnion(
    _dimension: DimensionName,
    _value: string,
    sketches: Buffer[],
    _liveDays: string[]
  ): Promise<number> {
    return this.countUnion(sketches, [])
  }

  async *readTakenDimensions(
    _flushId: string,
    _chunkSize: number
  ): AsyncIterable<TakenDimension[]> {}

  async countUnion(sketches: Buffer[], liveDays: string[]): Promise<number> {
    if (sketches.length === 0 && liveDays.length === 0) return 0
    if (sketches.length === 0) return this.getUniqueCount(liveDays)
    const scratch = sketches.map(() => this.keys.scratch(randomUUID()))
    const keys = [
      ...scratch,
      ...liveDays.map((day) => this.keys.visitors(day)),
      this.keys.scratch(randomUUID()),
    ]
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
