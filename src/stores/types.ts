import type { StoredDimensionName } from '../dimensions/names.ts'
import type { TrackingStoreName } from '../types.ts'
import type { VisitCounts, VisitSegment } from './visits.ts'

export type { DurationBucket, VisitCounts, VisitSegment } from './visits.ts'

/**
 * Counts of one day collected in memory before they are written
 */
export interface DayBatch {
  /** path -> views */
  views: Map<string, number>
  /** visitors seen this day, as keyed hashes (src/visitor_hash.ts) */
  visitors: Set<string>
  /**
   * dimensionKey() (`source:github.com`) -> views and visitors (keyed
   * hashes) of that value on this day; absent when no dimension is on
   */
  dimensions?: Map<string, DimensionCount>
  /**
   * path -> visitors (keyed hashes) who viewed it this day: the unique
   * visitors per page (a HyperLogLog per day and path in the store)
   */
  pageVisitors?: Map<string, Set<string>>
}

/** Views and visitors of one (dimension, value) pair in a batch */
export interface DimensionCount {
  views: number
  visitors: Set<string>
}

/** What a flush took aside for one (dimension, value) pair */
export interface TakenDimension {
  dimension: StoredDimensionName
  value: string
  views: number
  /** Redis HyperLogLog bytes of the pair's visitors (null when it had none) */
  sketch: Buffer | null
}

/**
 * One write: counts per day and the visitors of each minute (realtime)
 */
export interface TrackingBatch {
  /**
   * Unique id of the batch: a store applies an id once, so a resend after a
   * timeout or a lost reply is a no-op (a batch without id is always applied)
   */
  id?: string
  days: Map<string, DayBatch>
  minutes: Map<number, Set<string>>
  /**
   * The visitors' runs of views, ordered by their first view (the store
   * applies them in this order, see src/stores/visits.ts); absent or empty
   * when no view had a visitor
   */
  visits?: VisitSegment[]
  /**
   * The funnel trails of the batch's visitors (src/funnels.ts), applied
   * after the segments to each visitor's visit in progress; absent when the
   * config has no funnels or no view or event reached one of their goals
   */
  funnels?: FunnelBatch
}

/** A batch's funnel trails and the funnels they refer to */
export interface FunnelBatch {
  /** per funnel, the `funnel` dimension value of each step (FunnelPlan.stepValues) */
  steps: ReadonlyArray<readonly string[]>
  trails: FunnelTrail[]
}

/** What one visitor's views and events of a batch did to the funnels */
export interface FunnelTrail {
  /** the visitor as a keyed hash, as in its visit segments */
  visitor: string
  /** its hash under the previous day's salt (an anonymous visitor shortly after midnight) */
  previous?: string | null
  /** FunnelPlan.encode(): per funnel and start step, the step reached after */
  trail: string
}

/**
 * Counts taken aside by a flush, waiting to be added to SQL
 */
export interface TakenFlush {
  flushId: string
  day: string
}

/**
 * A day's visitor sketch after a union with the stored one
 */
export interface MergedSketch {
  /** Redis HyperLogLog bytes to store (both stores make them; null only if a store has none) */
  sketch: Buffer | null
  /** visitors of the day after the union */
  count: number
}

/**
 * What the write path needs (the write buffer): it never reads counts back
 */
export interface StoreWriter {
  readonly name: TrackingStoreName

  /** true when a write would be sent right now (connection ready) */
  isReady(): boolean

  /**
   * Adds a batch of counts (one round trip on Redis), once per batch id. A
   * day's new paths beyond maxPathsPerDay are counted under OTHER_PATH.
   */
  write(batch: TrackingBatch): Promise<void>

  /** The day's random salt for anonymous visitor hashes (created on first use, expires within 48 h) */
  salt(day: string): Promise<string>
}

/**
 * Live reads (the selector): counts not yet flushed, and unions of stored
 * visitor sketches with live days. Both stores keep visitors as Redis
 * HyperLogLogs, so these answer the same on both for the same traffic.
 */
export interface StoreReader {
  readonly name: TrackingStoreName

  /** Live (not yet flushed) views of a day: path -> views */
  getDaily(day: string): Promise<Map<string, number>>

  /** Live (not yet flushed) views of a day, all paths */
  getDayTotal(day: string): Promise<number>

  /** Live totals of several days: day -> views */
  getMultiDay(days: string[]): Promise<Map<string, number>>

  /** Distinct visitors of a day, or of several days together (union, not a sum) */
  getUniqueCount(days: string | string[]): Promise<number>

  /** Distinct visitors of the last `minutes` minutes */
  realtimeVisitors(minutes?: number): Promise<number>

  /** Days with live counts waiting for a flush */
  pendingDays(): Promise<string[]>

  /** Counts taken aside by flushes that have not confirmed yet (crashed or running) */
  takenFlushes(): Promise<TakenFlush[]>

  /** The taken-aside views of a flush, in chunks */
  readTaken(flushId: string, chunkSize: number): AsyncIterable<Array<[path: string, views: number]>>

  /** Cardinality of the union of stored sketches (Redis HyperLogLog bytes) and the live visitors of days */
  countUnion(sketches: Buffer[], liveDays: string[]): Promise<number>

  /** Live (not yet flushed) views of a day per value of a dimension: value -> views */
  getDimension(day: string, dimension: StoredDimensionName): Promise<Map<string, number>>

  /**
   * Distinct visitors of one dimension value: the union of stored sketches
   * (tracking_dimension_stats) and the value's live visitors on liveDays
   */
  countDimensionUnion(
    dimension: StoredDimensionName,
    value: string,
    sketches: Buffer[],
    liveDays: string[]
  ): Promise<number>

  /**
   * The live visitor sketches (Redis HyperLogLog bytes) of some values of a
   * dimension on some days, in one round trip: value -> its sketches (a
   * value or day without live visitors has none), so that a reader can
   * count many unions itself
   */
  liveDimensionSketches(
    dimension: StoredDimensionName,
    days: Map<string, readonly string[]>
  ): Promise<Map<string, Buffer[]>>

  /**
   * Live (not yet flushed) visit figures by start day, in one round trip:
   * day -> counts (a day without live visit figures is absent). They may
   * hold negative deltas of visits counted before a flush.
   */
  getVisits(days: readonly string[]): Promise<Map<string, VisitCounts>>

  /** The visit figures a flush took aside, or null when it took none */
  readTakenVisits(flushId: string): Promise<VisitCounts | null>

  /**
   * The live unique-visitor sketches (Redis HyperLogLog bytes) of some paths
   * of a day, in one round trip: path -> sketch (a path without one is
   * absent). They are kept until the store's TTL, like the day's visitors;
   * each flush unions them into SQL.
   */
  pageVisitorSketches(day: string, paths: readonly string[]): Promise<Map<string, Buffer>>
}

/**
 * The take-aside protocol of the flush: a day's live counts are moved aside
 * under a flush id, added to SQL, then dropped; its visitors are unioned
 * into the stored sketch. Serialised by a lock.
 */
export interface StoreFlusher {
  /** Days with live counts waiting for a flush */
  pendingDays(): Promise<string[]>

  /**
   * Atomically moves the day's live counts aside under flushId; false when
   * there was nothing. With `dimensions: false` the day's dimension counts
   * stay live (and the day pending) for a later flush: the flush does that
   * while the tracking_dimension_stats table is missing; `visits: false`
   * does the same for the visit figures (tables tracking_visit_*).
   */
  takeAside(
    day: string,
    flushId: string,
    options?: { dimensions?: boolean; visits?: boolean }
  ): Promise<boolean>

  /** Counts taken aside by flushes that have not confirmed yet (crashed or running) */
  takenFlushes(): Promise<TakenFlush[]>

  /** The taken-aside views of a flush, in chunks */
  readTaken(flushId: string, chunkSize: number): AsyncIterable<Array<[path: string, views: number]>>

  /** The taken-aside dimension counts of a flush, in chunks (views and visitor sketch per pair) */
  readTakenDimensions(flushId: string, chunkSize: number): AsyncIterable<TakenDimension[]>

  /** The visit figures (by start day) a flush took aside, or null when it took none */
  readTakenVisits(flushId: string): Promise<VisitCounts | null>

  /** The live unique-visitor sketches of some paths of a day (see StoreReader) */
  pageVisitorSketches(day: string, paths: readonly string[]): Promise<Map<string, Buffer>>

  /** The taken-aside total of a flush */
  takenTotal(flushId: string): Promise<number>

  /** Deletes what a flush took aside, once SQL has it */
  dropTaken(flushId: string): Promise<void>

  /**
   * Union of a stored sketch (Redis HyperLogLog bytes, or null) with the
   * day's live visitors: the bytes to store and their count
   */
  mergeSketch(day: string, stored: Buffer | null, storedCount: number): Promise<MergedSketch>

  /** Takes a lock for ttlMs; false when another holder has it */
  acquireLock(name: string, ttlMs: number): Promise<string | null>

  /** Releases a lock taken with acquireLock */
  releaseLock(name: string, token: string): Promise<void>
}

/**
 * What both stores (redis, memory) offer: the write path, the live reads
 * and the flush, plus health and shutdown.
 * tests/unit/store_contract.spec.ts runs the same checks on both.
 */
export interface TrackingStore extends StoreWriter, StoreReader, StoreFlusher {
  /** Checks the store answers within timeoutMs; throws otherwise */
  ping(timeoutMs?: number): Promise<void>

  /** Releases what the store owns (not the app's shared connections) */
  close(): Promise<void>
}
