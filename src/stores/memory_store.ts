import { randomBytes, randomUUID } from 'node:crypto'
import { DEFAULT_MAX_PATHS_PER_DAY, OTHER_PATH } from './batch.ts'
import { RedisHll } from './redis_hll.ts'
import type { DimensionName } from '../dimensions/names.ts'
import type {
  MergedSketch,
  TakenDimension,
  TakenFlush,
  TrackingBatch,
  TrackingStore,
} from './types.ts'

/** A stored sketch; bytes that are not one fail as PFMERGE fails on them in Redis */
function parseSketch(bytes: Buffer): RedisHll {
  const sketch = RedisHll.fromBuffer(bytes)
  if (!sketch) throw new Error('Stored visitors sketch is not a valid HyperLogLog')
  return sketch
}

/**
 * Batch ids remembered for the resend check: the write buffer resends only
 * its oldest failed batches, far fewer than this
 */
const APPLIED_IDS = 10_000

interface MemoryDay {
  views: Map<string, number>
  total: number
  expiresAt: number
}

/**
 * Live counters in this process's memory: for development, the demo and
 * single-process apps without Redis. Counts are lost when the process exits
 * unless they were flushed (auto flush or shutdown). Visitors are kept as
 * Redis keeps them, in HyperLogLogs of Redis's format (src/stores/redis_hll.ts):
 * at most 12 KB a day or a minute whatever the traffic, the same counts and
 * the same bytes in SQL as the Redis store for the same traffic.
 */
export class MemoryStore implements TrackingStore {
  readonly name = 'memory' as const
  #ttlMs: number
  #days = new Map<string, MemoryDay>()
  #visitors = new Map<string, { sketch: RedisHll; expiresAt: number }>()
  #minutes = new Map<number, RedisHll>()
  #salts = new Map<string, string>()
  #taken = new Map<string, { day: string; views: Map<string, number>; total: number }>()
  #locks = new Map<string, { token: string; expiresAt: number }>()
  #maxPathsPerDay: number
  /** paths each day has admitted; outlives takeAside, like the Redis paths set */
  #admitted = new Map<string, { paths: Set<string>; expiresAt: number }>()
  /** ids of the last batches applied, oldest first (a resend is a no-op) */
  #applied = new Set<string>()

  constructor(options: { ttlSeconds: number; maxPathsPerDay?: number }) {
    this.#ttlMs = options.ttlSeconds * 1000
    this.#maxPathsPerDay = options.maxPathsPerDay ?? DEFAULT_MAX_PATHS_PER_DAY
  }

  /** The path a view is counted under: itself once admitted, OTHER_PATH beyond the cap */
  #admit(day: string, path: string, expiresAt: number): string {
    let entry = this.#admitted.get(day)
    if (!entry) this.#admitted.set(day, (entry = { paths: new Set(), expiresAt }))
    entry.expiresAt = expiresAt
    if (entry.paths.has(path)) return path
    if (entry.paths.size >= this.#maxPathsPerDay) return OTHER_PATH
    entry.paths.add(path)
    return path
  }

  /** false when the batch id was applied already; remembers the last APPLIED_IDS ids */
  #firstTime(id: string | undefined): boolean {
    if (id === undefined) return true
    if (this.#applied.has(id)) return false
    this.#applied.add(id)
    if (this.#applied.size > APPLIED_IDS) this.#applied.delete(this.#applied.values().next().value!)
    return true
  }

  #expire() {
    const now = Date.now()
    for (const [day, entry] of this.#days) if (entry.expiresAt <= now) this.#days.delete(day)
    for (const [day, entry] of this.#visitors)
      if (entry.expiresAt <= now) this.#visitors.delete(day)
    for (const [day, entry] of this.#admitted)
      if (entry.expiresAt <= now) this.#admitted.delete(day)
    const minute = Math.floor(now / 60_000)
    for (const key of this.#minutes.keys()) if (key < minute - 10) this.#minutes.delete(key)
  }

  isReady(): boolean {
    return true
  }

  async write(batch: TrackingBatch): Promise<void> {
    if (!this.#firstTime(batch.id)) return
    this.#expire()
    const expiresAt = Date.now() + this.#ttlMs
    for (const [day, counts] of batch.days) {
      if (counts.views.size > 0) {
        let entry = this.#days.get(day)
        if (!entry) {
          entry = { views: new Map(), total: 0, expiresAt }
          this.#days.set(day, entry)
        }
        entry.expiresAt = expiresAt
        for (const [raw, views] of counts.views) {
          const path = this.#admit(day, raw, expiresAt)
          entry.views.set(path, (entry.views.get(path) ?? 0) + views)
          entry.total += views
        }
      }
      if (counts.visitors.size > 0) {
        let entry = this.#visitors.get(day)
        if (!entry) {
          entry = { sketch: RedisHll.empty(), expiresAt }
          this.#visitors.set(day, entry)
        }
        entry.expiresAt = expiresAt
        entry.sketch.addAll(counts.visitors)
      }
    }
    for (const [minute, visitors] of batch.minutes) {
      if (visitors.size === 0) continue
      let sketch = this.#minutes.get(minute)
      if (!sketch) this.#minutes.set(minute, (sketch = RedisHll.empty()))
      sketch.addAll(visitors)
    }
  }

  async salt(day: string): Promise<string> {
    let salt = this.#salts.get(day)
    if (!salt) {
      this.#salts.clear()
      salt = randomBytes(16).toString('hex')
      this.#salts.set(day, salt)
    }
    return salt
  }

  async getDaily(day: string): Promise<Map<string, number>> {
    this.#expire()
    return new Map(this.#days.get(day)?.views ?? [])
  }

  async getDayTotal(day: string): Promise<number> {
    this.#expire()
    return this.#days.get(day)?.total ?? 0
  }

  async getMultiDay(days: string[]): Promise<Map<string, number>> {
    this.#expire()
    return new Map(days.map((day) => [day, this.#days.get(day)?.total ?? 0]))
  }

  /** The live sketches of days (expired or unknown days are empty) */
  #sketches(days: string[]): RedisHll[] {
    const out: RedisHll[] = []
    for (const day of days) {
      const sketch = this.#visitors.get(day)?.sketch
      if (sketch) out.push(sketch)
    }
    return out
  }

  /** One day as PFCOUNT of one key (cached count), several as PFCOUNT of several */
  async getUniqueCount(days: string | string[]): Promise<number> {
    this.#expire()
    if (!Array.isArray(days)) return this.#visitors.get(days)?.sketch.count() ?? 0
    return RedisHll.countUnion(this.#sketches(days))
  }

  async realtimeVisitors(minutes = 5): Promise<number> {
    const now = Math.floor(Date.now() / 60_000)
    const sketches: RedisHll[] = []
    for (let i = 0; i < minutes; i++) {
      const sketch = this.#minutes.get(now - i)
      if (sketch) sketches.push(sketch)
    }
    return RedisHll.countUnion(sketches)
  }

  async pendingDays(): Promise<string[]> {
    this.#expire()
    return [...this.#days.keys()].sort()
  }

  async takeAside(day: string, flushId: string): Promise<boolean> {
    const entry = this.#days.get(day)
    if (!entry) return false
    this.#days.delete(day)
    this.#taken.set(flushId, { day, views: entry.views, total: entry.total })
    return true
  }

  async takenFlushes(): Promise<TakenFlush[]> {
    return [...this.#taken].map(([flushId, { day }]) => ({ flushId, day }))
  }

  async *readTaken(flushId: string, chunkSize: number): AsyncIterable<Array<[string, number]>> {
    let chunk: Array<[string, number]> = []
    for (const entry of this.#taken.get(flushId)?.views ?? []) {
      chunk.push(entry)
      if (chunk.length >= chunkSize) {
        yield chunk
        chunk = []
      }
    }
    if (chunk.length > 0) yield chunk
  }

  async takenTotal(flushId: string): Promise<number> {
    return this.#taken.get(flushId)?.total ?? 0
  }

  async dropTaken(flushId: string): Promise<void> {
    this.#taken.delete(flushId)
  }

  /** Union of the stored sketch with the live one, as the Redis store's PFMERGE does */
  async mergeSketch(day: string, stored: Buffer | null): Promise<MergedSketch> {
    this.#expire()
    const merged = stored && stored.length > 0 ? parseSketch(stored) : RedisHll.empty()
    merged.mergeFrom(...this.#sketches([day]))
    /* counted first: the count is cached in the header, as PFCOUNT does before GET */
    const count = merged.count()
    return { sketch: merged.toBuffer(), count }
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
    this.#expire()
    return RedisHll.countUnion([...sketches.map(parseSketch), ...this.#sketches(liveDays)])
  }

  async acquireLock(name: string, ttlMs: number): Promise<string | null> {
    const held = this.#locks.get(name)
    if (held && held.expiresAt > Date.now()) return null
    const token = randomUUID()
    this.#locks.set(name, { token, expiresAt: Date.now() + ttlMs })
    return token
  }

  async releaseLock(name: string, token: string): Promise<void> {
    if (this.#locks.get(name)?.token === token) this.#locks.delete(name)
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
