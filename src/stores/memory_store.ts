import { randomBytes, randomUUID } from 'node:crypto'
import { DEFAULT_MAX_PATHS_PER_DAY, OTHER_PATH, parseDimensionKey } from './batch.ts'
import { RedisHll } from './redis_hll.ts'
import {
  DEFAULT_MAX_VALUES_PER_DIMENSION,
  type StoredDimensionName,
  OTHER_VALUE,
} from '../dimensions/names.ts'
import type {
  FunnelBatch,
  MergedSketch,
  TakenDimension,
  TakenFlush,
  TrackingBatch,
  TrackingStore,
} from './types.ts'
import { applyTrail } from '../funnels.ts'
import {
  addVisitCounts,
  applyVisitSegment,
  DEFAULT_MAX_OPEN_VISITS,
  emptyVisitCounts,
  isEmptyVisitCounts,
  type VisitCounts,
  type VisitLedger,
  type VisitState,
} from './visits.ts'

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

/** Live counts of one dimension on a day: value -> views, value -> visitors */
interface MemoryDimension {
  views: Map<string, number>
  visitors: Map<string, RedisHll>
}

/** A day's dimensions, as the Redis store's dim and dimuv keys */
interface MemoryDimensions {
  dimensions: Map<StoredDimensionName, MemoryDimension>
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
  #taken = new Map<
    string,
    {
      day: string
      views: Map<string, number>
      total: number
      dimensions: Map<StoredDimensionName, MemoryDimension>
      visits: VisitCounts | null
    }
  >()
  /**
   * Visits in progress by visitor hash. Every state lives the timeout after
   * its last update and is moved to the end when updated, so the map is in
   * expiry order and expired states are swept from its start.
   */
  #visitStates = new Map<string, { state: VisitState; expiresAt: number }>()
  /** live visit figures by start day, as the Redis store's vis* hashes */
  #visitDays = new Map<string, { counts: VisitCounts; expiresAt: number }>()
  /** unique visitors per page: day -> path -> visitors, as the pguv HyperLogLogs */
  #pageVisitors = new Map<string, { paths: Map<string, RedisHll>; expiresAt: number }>()
  #visitTimeoutMs: number
  #maxOpenVisits: number
  #dimensions = new Map<string, MemoryDimensions>()
  /** values each dimension admitted per day; outlives takeAside, like the Redis values sets */
  #admittedValues = new Map<
    string,
    { values: Map<StoredDimensionName, Set<string>>; expiresAt: number }
  >()
  #maxValuesPerDimension: number
  #locks = new Map<string, { token: string; expiresAt: number }>()
  #maxPathsPerDay: number
  /** paths each day has admitted; outlives takeAside, like the Redis paths set */
  #admitted = new Map<string, { paths: Set<string>; expiresAt: number }>()
  /** ids of the last batches applied, oldest first (a resend is a no-op) */
  #applied = new Set<string>()

  constructor(options: {
    ttlSeconds: number
    maxPathsPerDay?: number
    /** distinct values a dimension admits per day; later new values count under OTHER_VALUE */
    maxValuesPerDimension?: number
    /** a gap of this many ms ends a visit (visitTimeoutMinutes; default 30 minutes) */
    visitTimeoutMs?: number
    /** visits in progress remembered at once (maxOpenVisits); beyond, new visitors' visits are not */
    maxOpenVisits?: number
  }) {
    this.#ttlMs = options.ttlSeconds * 1000
    this.#visitTimeoutMs = options.visitTimeoutMs ?? 30 * 60_000
    this.#maxOpenVisits = options.maxOpenVisits ?? DEFAULT_MAX_OPEN_VISITS
    this.#maxPathsPerDay = options.maxPathsPerDay ?? DEFAULT_MAX_PATHS_PER_DAY
    this.#maxValuesPerDimension = options.maxValuesPerDimension ?? DEFAULT_MAX_VALUES_PER_DIMENSION
  }

  /** The value a view is counted under: itself once admitted, OTHER_VALUE beyond the cap */
  #admitValue(
    day: string,
    dimension: StoredDimensionName,
    value: string,
    expiresAt: number
  ): string {
    if (value === OTHER_VALUE) return OTHER_VALUE
    let entry = this.#admittedValues.get(day)
    if (!entry) this.#admittedValues.set(day, (entry = { values: new Map(), expiresAt }))
    entry.expiresAt = expiresAt
    let values = entry.values.get(dimension)
    if (!values) entry.values.set(dimension, (values = new Set()))
    if (values.has(value)) return value
    if (values.size >= this.#maxValuesPerDimension) return OTHER_VALUE
    values.add(value)
    return value
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
    for (const [day, entry] of this.#dimensions)
      if (entry.expiresAt <= now) this.#dimensions.delete(day)
    for (const [day, entry] of this.#admittedValues)
      if (entry.expiresAt <= now) this.#admittedValues.delete(day)
    for (const [day, entry] of this.#visitDays)
      if (entry.expiresAt <= now) this.#visitDays.delete(day)
    for (const [day, entry] of this.#pageVisitors)
      if (entry.expiresAt <= now) this.#pageVisitors.delete(day)
    for (const [visitor, entry] of this.#visitStates) {
      if (entry.expiresAt > now) break
      this.#visitStates.delete(visitor)
    }
    const minute = Math.floor(now / 60_000)
    for (const key of this.#minutes.keys()) if (key < minute - 10) this.#minutes.delete(key)
  }

  /** applyVisitSegment's view of this store, for one write */
  #ledger(expiresAt: number): VisitLedger {
    const states = this.#visitStates
    const timeoutMs = this.#visitTimeoutMs
    const maxOpen = this.#maxOpenVisits
    const move = (visitor: string, state: VisitState) => {
      /* moved to the end: the map stays in expiry order */
      states.delete(visitor)
      states.set(visitor, { state, expiresAt: Date.now() + timeoutMs })
    }
    /* a new visitor beyond maxOpenVisits: its visit is counted but not remembered (as WRITE_BATCH) */
    const set = (visitor: string, state: VisitState) => {
      const held = states.get(visitor)
      const known = held !== undefined && held.expiresAt > Date.now()
      if (known || states.size < maxOpen) move(visitor, state)
    }
    return {
      timeoutMs,
      getState: (visitor) => {
        const entry = states.get(visitor)
        return entry && entry.expiresAt > Date.now() ? entry.state : undefined
      },
      setState: set,
      renameState: (from, to) => {
        const entry = states.get(from)
        if (!entry) return
        states.delete(from)
        move(to, entry.state)
      },
      admitPath: (day, path) => this.#admit(day, path, expiresAt),
      admitValue: (day, dimension, value) => this.#admitValue(day, dimension, value, expiresAt),
      counts: (day) => {
        let entry = this.#visitDays.get(day)
        if (!entry) this.#visitDays.set(day, (entry = { counts: emptyVisitCounts(), expiresAt }))
        entry.expiresAt = expiresAt
        return entry.counts
      },
    }
  }

  /** The live counts of a dimension on a day (made when new), as the dim and dimuv keys */
  #liveDimension(day: string, dimension: StoredDimensionName, expiresAt: number): MemoryDimension {
    let entry = this.#dimensions.get(day)
    if (!entry) this.#dimensions.set(day, (entry = { dimensions: new Map(), expiresAt }))
    entry.expiresAt = expiresAt
    let live = entry.dimensions.get(dimension)
    if (!live) entry.dimensions.set(dimension, (live = { views: new Map(), visitors: new Map() }))
    return live
  }

  /**
   * Each trail advances its visitor's visit in progress (the state keeps its
   * expiry, as HSET keeps a TTL), and each step newly reached counts one
   * visit and its visitor on the visit's start day, as WRITE_BATCH does
   */
  #applyTrails(funnels: FunnelBatch, expiresAt: number): void {
    const now = Date.now()
    for (const one of funnels.trails) {
      let visitor = one.visitor
      let entry = this.#visitStates.get(visitor)
      if ((!entry || entry.expiresAt <= now) && one.previous) {
        visitor = one.previous
        entry = this.#visitStates.get(visitor)
      }
      if (!entry || entry.expiresAt <= now) continue
      const { state } = entry
      const { progress, reached } = applyTrail(state.funnels ?? '', one.trail, funnels.steps)
      if (reached.length === 0) continue
      entry.state = { ...state, funnels: progress }
      const live = this.#liveDimension(state.day, 'funnel', expiresAt)
      for (const [f, step] of reached) {
        const value = funnels.steps[f][step]
        live.views.set(value, (live.views.get(value) ?? 0) + 1)
        live.visitors.set(value, RedisHll.addBatch(live.visitors.get(value), new Set([visitor])))
      }
    }
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
        const entry = this.#visitors.get(day)
        this.#visitors.set(day, {
          sketch: RedisHll.addBatch(entry?.sketch, counts.visitors),
          expiresAt,
        })
      }
      if (counts.dimensions && counts.dimensions.size > 0) {
        for (const [key, count] of counts.dimensions) {
          const parsed = parseDimensionKey(key)
          if (parsed === null) continue
          const [dimension, raw] = parsed
          const live = this.#liveDimension(day, dimension, expiresAt)
          const value = this.#admitValue(day, dimension, raw, expiresAt)
          live.views.set(value, (live.views.get(value) ?? 0) + count.views)
          if (count.visitors.size === 0) continue
          live.visitors.set(value, RedisHll.addBatch(live.visitors.get(value), count.visitors))
        }
      }
      if (counts.pageVisitors && counts.pageVisitors.size > 0) {
        let entry = this.#pageVisitors.get(day)
        if (!entry) this.#pageVisitors.set(day, (entry = { paths: new Map(), expiresAt }))
        entry.expiresAt = expiresAt
        for (const [raw, visitors] of counts.pageVisitors) {
          if (visitors.size === 0) continue
          const path = this.#admit(day, raw, expiresAt)
          entry.paths.set(path, RedisHll.addBatch(entry.paths.get(path), visitors))
        }
      }
    }
    if (batch.visits && batch.visits.length > 0) {
      const ledger = this.#ledger(expiresAt)
      for (const segment of batch.visits) applyVisitSegment(ledger, segment)
    }
    if (batch.funnels) this.#applyTrails(batch.funnels, expiresAt)
    for (const [minute, visitors] of batch.minutes) {
      if (visitors.size === 0) continue
      this.#minutes.set(minute, RedisHll.addBatch(this.#minutes.get(minute), visitors))
    }
  }

  async salt(day: string): Promise<string> {
    let salt = this.#salts.get(day)
    if (!salt) {
      /* today's and yesterday's (a visit that crosses midnight goes on under yesterday's) */
      if (this.#salts.size >= 2) this.#salts.delete(this.#salts.keys().next().value!)
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
    return [
      ...new Set([...this.#days.keys(), ...this.#dimensions.keys(), ...this.#visitDays.keys()]),
    ].sort()
  }

  async takeAside(
    day: string,
    flushId: string,
    options: { dimensions?: boolean; visits?: boolean } = {}
  ): Promise<boolean> {
    const entry = this.#days.get(day)
    const dimensions = options.dimensions === false ? undefined : this.#dimensions.get(day)
    const visits = options.visits === false ? undefined : this.#visitDays.get(day)
    if (!entry && !dimensions && !visits) return false
    this.#days.delete(day)
    if (dimensions) this.#dimensions.delete(day)
    if (visits) this.#visitDays.delete(day)
    this.#taken.set(flushId, {
      day,
      views: entry?.views ?? new Map(),
      total: entry?.total ?? 0,
      dimensions: dimensions?.dimensions ?? new Map(),
      visits: visits?.counts ?? null,
    })
    return true
  }

  async getVisits(days: readonly string[]): Promise<Map<string, VisitCounts>> {
    this.#expire()
    const out = new Map<string, VisitCounts>()
    for (const day of days) {
      const counts = this.#visitDays.get(day)?.counts
      /* a copy: the caller may add to it */
      if (counts && !isEmptyVisitCounts(counts))
        out.set(day, addVisitCounts(emptyVisitCounts(), counts))
    }
    return out
  }

  async readTakenVisits(flushId: string): Promise<VisitCounts | null> {
    const counts = this.#taken.get(flushId)?.visits
    return counts && !isEmptyVisitCounts(counts) ? addVisitCounts(emptyVisitCounts(), counts) : null
  }

  async pageVisitorSketches(day: string, paths: readonly string[]): Promise<Map<string, Buffer>> {
    this.#expire()
    const out = new Map<string, Buffer>()
    const live = this.#pageVisitors.get(day)?.paths
    if (!live) return out
    for (const path of paths) {
      const sketch = live.get(path)
      if (sketch) out.set(path, sketch.toBuffer())
    }
    return out
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

  async getDimension(day: string, dimension: StoredDimensionName): Promise<Map<string, number>> {
    this.#expire()
    return new Map(this.#dimensions.get(day)?.dimensions.get(dimension)?.views ?? [])
  }

  async countDimensionUnion(
    dimension: StoredDimensionName,
    value: string,
    sketches: Buffer[],
    liveDays: string[]
  ): Promise<number> {
    this.#expire()
    const live: RedisHll[] = []
    for (const day of liveDays) {
      const sketch = this.#dimensions.get(day)?.dimensions.get(dimension)?.visitors.get(value)
      if (sketch) live.push(sketch)
    }
    if (sketches.length === 0 && live.length === 1) return live[0].count()
    return RedisHll.countUnion([...sketches.map(parseSketch), ...live])
  }

  async liveDimensionSketches(
    dimension: StoredDimensionName,
    days: Map<string, readonly string[]>
  ): Promise<Map<string, Buffer[]>> {
    this.#expire()
    const out = new Map<string, Buffer[]>()
    for (const [value, valueDays] of days) {
      const sketches: Buffer[] = []
      for (const day of valueDays) {
        const sketch = this.#dimensions.get(day)?.dimensions.get(dimension)?.visitors.get(value)
        if (sketch) sketches.push(sketch.toBuffer())
      }
      out.set(value, sketches)
    }
    return out
  }

  async *readTakenDimensions(flushId: string, chunkSize: number): AsyncIterable<TakenDimension[]> {
    let chunk: TakenDimension[] = []
    for (const [dimension, live] of this.#taken.get(flushId)?.dimensions ?? []) {
      for (const [value, views] of live.views) {
        chunk.push({
          dimension,
          value,
          views,
          sketch: live.visitors.get(value)?.toBuffer() ?? null,
        })
        if (chunk.length >= chunkSize) {
          yield chunk
          chunk = []
        }
      }
    }
    if (chunk.length > 0) yield chunk
  }

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
