import { randomBytes, randomUUID } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import { TrackingKeys } from './keys.ts'
import type { MergedSketch, TakenFlush, TrackingBatch, TrackingStore } from './types.ts'

/** Seconds a day's salt lives: it must never outlast 48 h */
const SALT_TTL_SECONDS = 36 * 3600
/** Seconds a per-minute visitor sketch lives */
const MINUTE_TTL_SECONDS = 10 * 60
/** Elements of one PFADD: a batch's visitors are sent in several (a spread of 100,000s overflows the stack) */
const PFADD_CHUNK = 10_000
/** Fields a live-day read asks HSCAN for at once */
const DAILY_SCAN_COUNT = 5000

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

/** The values of a set in arrays of at most PFADD_CHUNK */
function* chunksOf(values: Set<string>): Generator<string[]> {
  let chunk: string[] = []
  for (const value of values) {
    chunk.push(value)
    if (chunk.length === PFADD_CHUNK) {
      yield chunk
      chunk = []
    }
  }
  if (chunk.length > 0) yield chunk
}

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
  #onClose?: () => Promise<void>
  #salts = new Map<string, string>()

  constructor(options: {
    client: () => Redis | Cluster
    keyPrefix: string
    ttlSeconds: number
    /** called by close() when the store owns its connection */
    onClose?: () => Promise<void>
  }) {
    this.#client = options.client
    this.keys = new TrackingKeys(options.keyPrefix)
    this.#ttlSeconds = options.ttlSeconds
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

  async write(batch: TrackingBatch): Promise<void> {
    const keys = this.keys
    const ttl = this.#ttlSeconds
    const tx = this.#client().multi()
    for (const [day, counts] of batch.days) {
      let total = 0
      if (counts.views.size > 0) {
        const viewsKey = keys.views(day)
        for (const [path, views] of counts.views) {
          tx.hincrby(viewsKey, path, views)
          total += views
        }
        tx.incrby(keys.total(day), total)
        tx.expire(viewsKey, ttl)
        tx.expire(keys.total(day), ttl)
        tx.sadd(keys.days(), day)
      }
      if (counts.visitors.size > 0) {
        for (const chunk of chunksOf(counts.visitors)) tx.pfadd(keys.visitors(day), ...chunk)
        tx.expire(keys.visitors(day), ttl)
      }
    }
    for (const [minute, visitors] of batch.minutes) {
      if (visitors.size === 0) continue
      for (const chunk of chunksOf(visitors)) tx.pfadd(keys.minute(minute), ...chunk)
      tx.expire(keys.minute(minute), MINUTE_TTL_SECONDS)
    }
    const results = await tx.exec()
    const failed = results?.find(([error]) => error)
    if (failed) throw failed[0]
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
