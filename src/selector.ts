import { DateTime } from 'luxon'
import type { QueryClientContract } from '@adonisjs/lucid/types/database'
import debug from './debug.ts'
import { E_TRACKING_INVALID_DATE, E_TRACKING_INVALID_RANGE } from './errors.ts'
import { sqlPath, TRACKING_TABLES } from './flush.ts'
import { PathSketch } from './stores/path_sketch.ts'
import type { TakenFlush, TrackingStore } from './stores/types.ts'
import type { TrackingSettings } from './types.ts'
import type { AnalyticsContext, AnalyticsRange, WidgetTrend } from './widgets/types.ts'
import {
  buildTrend,
  chartWidget,
  listWidget,
  metricWidget,
  previousCaption,
  rangeCaption,
  tableWidget,
} from './widgets/builders.ts'

/** The longest range the selector reads at once (one year, leap day included) */
export const MAX_RANGE_DAYS = 366

/** Rows of the page-views table: default and largest page size */
export const DEFAULT_PER_PAGE = 25
export const MAX_PER_PAGE = 100

/** Top pages shown by the analytics context */
export const DEFAULT_TOP_LIMIT = 10

/** Paths per `WHERE path IN (...)`: well under every driver's bind limit */
const IN_CHUNK = 500

/**
 * A page whose last row is within this share of an estimated path count
 * gets the exact count, so the estimate (about 1% off) never hides a last page
 */
const ESTIMATE_MARGIN = 0.05

/** What the selector reads from the manager (the TrackingManager satisfies it) */
export interface SelectorSource {
  readonly settings: TrackingSettings
  readonly store: TrackingStore
  readonly recorder?: { dayOf(epochMs: number): string }
}

/** What the selector needs from Lucid: the `db` service (or any Database) */
export interface SelectorDatabase {
  connection(name?: string): QueryClientContract
}

export interface SelectorOptions {
  /** Lucid connection name (default: the app's default connection) */
  connection?: string
  /** Clock, in epoch ms (tests) */
  now?: () => number
}

/**
 * A range as callers give it: a number of days ending today, or the first
 * and last day (inclusive, YYYY-MM-DD). `days`, when given, is recomputed.
 */
export type RangeInput = number | { from: string; to: string; days?: number }

/** A path and its views */
export interface PageCount {
  path: string
  views: number
}

/** Options of the page-views table */
export interface TableOptions {
  /** 1-based page (default 1) */
  page?: number
  /** rows per page (default 25, at most 100) */
  perPage?: number
  /** case-insensitive part of the path */
  search?: string
}

/** Options of getAnalyticsContext */
export interface ContextOptions extends TableOptions {
  /** top pages listed (default 10) */
  topLimit?: number
}

/** The headline figures of a range */
export interface RangeFigures {
  range: AnalyticsRange
  totalViews: number
  uniqueVisitors: number
  trackedPages: number
}

/** A range, the previous range of equal length, and the trends between them */
export interface RangeComparison {
  current: RangeFigures
  previous: RangeFigures
  trends: {
    totalViews: WidgetTrend | null
    uniqueVisitors: WidgetTrend | null
    trackedPages: WidgetTrend | null
  }
}

/** A page of ranked paths and the number of paths across all pages */
export interface RankedPage {
  rows: PageCount[]
  total: number
}

/** A stored day (tracking_daily_stats) */
interface StoredDay {
  views: number
  uniqueVisitors: number
  sketch: Buffer | null
  /** the day's path sketch, when it was asked for and stored */
  paths: Buffer | null
}

/**
 * Where the live counts are: days with counts waiting for a flush and the
 * counts a running (or crashed) flush took aside but SQL has not committed
 */
interface LiveIndex {
  pendingDays: Set<string>
  uncommitted: TakenFlush[]
}

/** Live counts of the days of a range: day -> path -> views (skipped paths removed) */
type LiveDays = Map<string, Map<string, number>>

/** What one read loads for a range before it ranks or counts */
interface LoadedRange {
  range: AnalyticsRange
  stored: Map<string, StoredDay>
  skipped: Map<string, number>
  live: LiveDays
  /** distinct paths (no search), counted once */
  trackedPages?: Promise<TrackedPages>
}

/** Distinct paths of a range and whether the count is exact (not a HyperLogLog estimate) */
interface TrackedPages {
  total: number
  exact: boolean
}

/* ---------------------------------------------------------------------------
 | Helpers
 */

/**
 * Code point order (what SQLite BINARY, MySQL utf8mb4_bin and PostgreSQL
 * COLLATE "C" sort by), not UTF-16 code unit order
 */
export function comparePaths(a: string, b: string): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x === y) continue
    /* surrogates (U+10000 and above) sort after U+E000..U+FFFF */
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000
    return x - y
  }
  return a.length - b.length
}

/** The k-th largest of `count` numbers (k >= 1), 0 when there are fewer than k */
function kthLargest(values: Iterable<number>, count: number, k: number): number {
  if (count < k) return 0
  /* a typed array sorts numbers natively, without a comparator call per pair */
  const sorted = Float64Array.from(values).sort()
  return sorted[sorted.length - k]
}

/** views desc, then path asc: the order of every ranked read */
function byViews(a: PageCount, b: PageCount): number {
  return b.views - a.views || comparePaths(a.path, b.path)
}

/** The day a driver returned (string, or a Date at local midnight for pg and mysql2) */
function isoDay(value: unknown): string {
  if (value instanceof Date) {
    const month = String(value.getMonth() + 1).padStart(2, '0')
    const date = String(value.getDate()).padStart(2, '0')
    return `${value.getFullYear()}-${month}-${date}`
  }
  return String(value).slice(0, 10)
}

function toBuffer(value: unknown): Buffer | null {
  if (value === null || value === undefined) return null
  if (Buffer.isBuffer(value)) return value.length > 0 ? value : null
  if (value instanceof Uint8Array) return value.length > 0 ? Buffer.from(value) : null
  return null
}

function parseIsoDay(value: string, field: string): DateTime {
  const parsed = DateTime.fromFormat(String(value ?? '').trim(), 'yyyy-MM-dd', { zone: 'utc' })
  if (!parsed.isValid) throw new E_TRACKING_INVALID_DATE([field, String(value)])
  return parsed
}

/** Every day of a range, oldest first */
export function daysOf(range: Pick<AnalyticsRange, 'from' | 'days'>): string[] {
  const start = DateTime.fromISO(range.from, { zone: 'utc' })
  const out: string[] = []
  for (let i = 0; i < range.days; i++) out.push(start.plus({ days: i }).toISODate()!)
  return out
}

/** The range of equal length that ends the day before `range` starts */
export function previousRange(range: AnalyticsRange): AnalyticsRange {
  const start = DateTime.fromISO(range.from, { zone: 'utc' })
  return {
    from: start.minus({ days: range.days }).toISODate()!,
    to: start.minus({ days: 1 }).toISODate()!,
    days: range.days,
  }
}

/** `%part%` for LIKE with `!` as the escape character */
function likePattern(search: string): string {
  return `%${search.toLowerCase().replace(/[!%_]/g, '!$&')}%`
}

/** The smallest string greater than every string starting with `prefix` (code point order) */
function prefixUpperBound(prefix: string): string | null {
  const points = Array.from(prefix)
  const last = points.pop()?.codePointAt(0)
  if (last === undefined || last >= 0x10ffff || (last >= 0xd7ff && last < 0xe000)) return null
  return points.join('') + String.fromCodePoint(last + 1)
}

/* ---------------------------------------------------------------------------
 | Selector
 */

/**
 * The read side of the package: merges the page views flushed to SQL with
 * the live counts of the store and turns them into widget payloads.
 *
 * - A path's views on a day = its SQL row + the live counts not yet
 *   flushed + the counts a running flush has taken aside and not committed.
 * - Paths under the current `skipPrefixes` are hidden from every read (SQL
 *   rows and live counts, lists and totals), even when they were recorded
 *   before the prefix was added.
 * - Ranked reads order by views desc, then path asc (code point order).
 * - Unique visitors of a range are the HyperLogLog union of the stored
 *   sketches and the live visitors, never a sum of days.
 * - Tracked pages (distinct paths) of a range are the union of the days'
 *   path sketches and the live paths: exact up to 2,048 paths, an estimate
 *   about 1% off beyond (src/stores/path_sketch.ts). Views, totals and
 *   ranked pages are always exact; a table page near the end of an
 *   estimated count gets the exact count.
 *
 * Bound to the container as `tracking.selector` (see src/bindings.ts).
 */
export class TrackingSelector {
  readonly #source: SelectorSource
  readonly #db: SelectorDatabase
  readonly #options: SelectorOptions

  constructor(source: SelectorSource, db: SelectorDatabase, options: SelectorOptions = {}) {
    this.#source = source
    this.#db = db
    this.#options = options
  }

  /** The settings are read on every call: a swapped manager is seen at once */
  get settings(): TrackingSettings {
    return this.#source.settings
  }

  get #store(): TrackingStore {
    return this.#source.store
  }

  #client(): QueryClientContract {
    return this.#db.connection(this.#options.connection)
  }

  /** Today in the tracking timezone (the recorder's day) */
  today(): string {
    const now = this.#options.now?.() ?? Date.now()
    if (this.#source.recorder) return this.#source.recorder.dayOf(now)
    return DateTime.fromMillis(now, { zone: this.settings.timezone }).toISODate()!
  }

  /**
   * Validates a range: real days, from <= to, at most 366 days. A number
   * is that many days ending today; nothing is `analyticsDays` ending today.
   */
  resolveRange(input?: RangeInput): AnalyticsRange {
    if (input === undefined || typeof input === 'number') {
      const days = input ?? this.settings.analyticsDays
      if (!Number.isInteger(days) || days < 1 || days > MAX_RANGE_DAYS) {
        throw new E_TRACKING_INVALID_RANGE([
          `days must be a whole number between 1 and ${MAX_RANGE_DAYS}, got ${days}`,
        ])
      }
      const to = DateTime.fromISO(this.today(), { zone: 'utc' })
      return { from: to.minus({ days: days - 1 }).toISODate()!, to: to.toISODate()!, days }
    }
    const from = parseIsoDay(input.from, 'from')
    const to = parseIsoDay(input.to, 'to')
    if (to < from) {
      throw new E_TRACKING_INVALID_RANGE([`from "${input.from}" is after to "${input.to}"`])
    }
    const days = Math.round(to.diff(from, 'days').days) + 1
    if (days > MAX_RANGE_DAYS) {
      throw new E_TRACKING_INVALID_RANGE([
        `the range covers ${days} days; at most ${MAX_RANGE_DAYS} are allowed`,
      ])
    }
    return { from: from.toISODate()!, to: to.toISODate()!, days }
  }

  #day(day: string): AnalyticsRange {
    return this.resolveRange({ from: day, to: day })
  }

  #isSkipped(path: string): boolean {
    const prefixes = this.settings.skipPrefixes
    for (let i = 0; i < prefixes.length; i++) if (path.startsWith(prefixes[i])) return true
    return false
  }

  /* -------------------------------------------------------------------------
   | SQL pieces
   */

  /** Hides the paths under the current skip prefixes */
  #notSkipped(query: any) {
    for (const prefix of this.settings.skipPrefixes) {
      query.whereRaw(`substr(path, 1, ${Array.from(prefix).length}) <> ?`, [prefix])
    }
    return query
  }

  #matching(client: QueryClientContract, query: any, search: string) {
    if (search === '') return query
    /* the column's "C" collation would lower ASCII letters only on PostgreSQL */
    const path = client.dialect.name === 'postgres' ? 'path COLLATE "default"' : 'path'
    return query.whereRaw(`LOWER(${path}) LIKE ? ESCAPE '!'`, [likePattern(search)])
  }

  /** Page view rows of a range, skipped paths hidden, search applied */
  #rows(client: QueryClientContract, range: AnalyticsRange, search = '') {
    const query = client
      .from(TRACKING_TABLES.pageViews)
      .whereBetween('date', [range.from, range.to])
    return this.#matching(client, this.#notSkipped(query), search)
  }

  /** The stored days of a range: views, unique visitors and sketches */
  async #storedDays(
    client: QueryClientContract,
    range: AnalyticsRange,
    withPaths = false
  ): Promise<Map<string, StoredDay>> {
    const columns = ['date', 'views', 'unique_visitors', 'visitors_sketch']
    if (withPaths) columns.push('paths_sketch')
    const rows = await client
      .from(TRACKING_TABLES.dailyStats)
      .whereBetween('date', [range.from, range.to])
      .select(columns)
    const out = new Map<string, StoredDay>()
    for (const row of rows) {
      out.set(isoDay(row.date), {
        views: Number(row.views ?? 0),
        uniqueVisitors: Number(row.unique_visitors ?? 0),
        sketch: toBuffer(row.visitors_sketch),
        paths: withPaths ? toBuffer(row.paths_sketch) : null,
      })
    }
    return out
  }

  /**
   * Queries of the rows of a range under the current skip prefixes, whose
   * results add up: prefixes under another one are dropped, so no row
   * is in two of them. The path column sorts by code point on every
   * database (BINARY, utf8mb4_bin, COLLATE "C", see the migration), so a
   * prefix is a range of the (path, date) index and the cost follows the
   * skipped rows, not the rows of the range; substr keeps the test exact.
   * SQLite gets one query per prefix (its planner scans the range for a
   * long OR), the others one query with an OR of ranges.
   */
  #skippedRows(client: QueryClientContract, range: AnalyticsRange): any[] {
    const all = [...new Set(this.settings.skipPrefixes)]
    const prefixes = all.filter((prefix) => !all.some((o) => o !== prefix && prefix.startsWith(o)))
    if (prefixes.length === 0) return []
    const sqlite = client.dialect.name.includes('sqlite')
    const underPrefix = (query: any, prefix: string) => {
      const upper = prefixUpperBound(prefix)
      if (upper !== null) query.where('path', '>=', prefix).where('path', '<', upper)
      return query.whereRaw(`substr(path, 1, ${Array.from(prefix).length}) = ?`, [prefix])
    }
    const inRange = () => {
      const query = client.from(TRACKING_TABLES.pageViews)
      /* on SQLite, `+date` keeps the planner on the (path, date) index of the prefix range */
      if (sqlite) return query.whereRaw('+date BETWEEN ? AND ?', [range.from, range.to])
      return query.whereBetween('date', [range.from, range.to])
    }
    if (sqlite) return prefixes.map((prefix) => underPrefix(inRange(), prefix))
    return [
      inRange().where((group: any) => {
        for (const prefix of prefixes) group.orWhere((one: any) => underPrefix(one, prefix))
      }),
    ]
  }

  /** Views of skipped paths per day, to take off the stored day totals */
  async #skippedPerDay(
    client: QueryClientContract,
    range: AnalyticsRange
  ): Promise<Map<string, number>> {
    const out = new Map<string, number>()
    for (const query of this.#skippedRows(client, range)) {
      const rows = await query.groupBy('date').select('date').sum('views as views')
      for (const row of rows) {
        const day = isoDay(row.date)
        out.set(day, (out.get(day) ?? 0) + Number(row.views ?? 0))
      }
    }
    return out
  }

  /** Exact SQL sums over a range of the given paths (skip and search already applied by the caller) */
  async #sumsOf(
    client: QueryClientContract,
    range: AnalyticsRange,
    paths: string[]
  ): Promise<Map<string, number>> {
    const out = new Map<string, number>()
    for (let start = 0; start < paths.length; start += IN_CHUNK) {
      const rows = await client
        .from(TRACKING_TABLES.pageViews)
        .whereBetween('date', [range.from, range.to])
        .whereIn('path', paths.slice(start, start + IN_CHUNK))
        .groupBy('path')
        .select('path')
        .sum('views as views')
      for (const row of rows) out.set(row.path, Number(row.views ?? 0))
    }
    return out
  }

  /* -------------------------------------------------------------------------
   | Live pieces
   */

  /**
   * Which days have live counts, and which taken-aside counts SQL has not
   * committed (a flush id absent from tracking_flushes). A flush that
   * commits between this read and the next ones may be seen twice or not
   * at all for that one read; the next read is right again.
   */
  async #liveIndex(client: QueryClientContract): Promise<LiveIndex> {
    const [pending, taken] = await Promise.all([
      this.#store.pendingDays(),
      this.#store.takenFlushes(),
    ])
    let uncommitted: TakenFlush[] = []
    if (taken.length > 0) {
      const committed = new Set<string>()
      const ids = taken.map((flush) => flush.flushId)
      for (let start = 0; start < ids.length; start += IN_CHUNK) {
        const rows = await client
          .from(TRACKING_TABLES.flushes)
          .whereIn('flush_id', ids.slice(start, start + IN_CHUNK))
          .select('flush_id')
        for (const row of rows) committed.add(String(row.flush_id))
      }
      uncommitted = taken.filter((flush) => !committed.has(flush.flushId))
    }
    return { pendingDays: new Set(pending), uncommitted }
  }

  /** Live counts of the days of a range, paths as SQL stores them, skipped paths removed */
  async #liveDays(range: AnalyticsRange, index: LiveIndex): Promise<LiveDays> {
    const out: LiveDays = new Map()
    const inRange = (day: string) => day >= range.from && day <= range.to
    const add = (day: string, path: string, views: number) => {
      if (!Number.isFinite(views) || views === 0) return
      const stored = sqlPath(path)
      if (this.#isSkipped(stored)) return
      let map = out.get(day)
      if (!map) out.set(day, (map = new Map()))
      map.set(stored, (map.get(stored) ?? 0) + views)
    }
    const days = [...index.pendingDays].filter(inRange)
    const taken = index.uncommitted.filter((flush) => inRange(flush.day))
    const [hashes] = await Promise.all([
      Promise.all(days.map((day) => this.#store.getDaily(day))),
      Promise.all(
        taken.map(async (flush) => {
          for await (const chunk of this.#store.readTaken(flush.flushId, 1000)) {
            for (const [path, views] of chunk) add(flush.day, path, Number(views))
          }
        })
      ),
    ])
    days.forEach((day, i) => {
      const hash = hashes[i]
      /* usually every live path is kept as SQL stores it: the store's (fresh) map serves as it is */
      if (!out.has(day) && hash.size > 0 && this.#keptAsIs(hash)) out.set(day, hash)
      else for (const [path, views] of hash) add(day, path, views)
    })
    return out
  }

  /** Every path is stored as it is, not skipped, with a count */
  #keptAsIs(counts: Map<string, number>): boolean {
    for (const [path, views] of counts) {
      if (!Number.isFinite(views) || views === 0) return false
      if (sqlPath(path) !== path || this.#isSkipped(path)) return false
    }
    return true
  }

  /** Live views per path over the days of a range, optionally filtered by a search (read only) */
  #livePaths(live: LiveDays, search = ''): ReadonlyMap<string, number> {
    /* usually today alone is live: its map serves as it is */
    if (search === '' && live.size === 1) return live.values().next().value!
    const needle = search.toLowerCase()
    const out = new Map<string, number>()
    for (const paths of live.values()) {
      for (const [path, views] of paths) {
        if (needle !== '' && !path.toLowerCase().includes(needle)) continue
        out.set(path, (out.get(path) ?? 0) + views)
      }
    }
    return out
  }

  /* -------------------------------------------------------------------------
   | Ranked paths
   */

  /**
   * Rows `offset .. offset + limit` of the paths of a range ranked by views
   * (SQL + live), exactly, without aggregating every path when it can avoid it.
   *
   * Why it is exact. Let S(p) be a path's SQL sum over the range, l(p) its
   * live views, C(p) = S(p) + l(p), K = offset + limit and m the days.
   * 1. Exact values: the top K paths of the busiest stored day and the K
   *    live paths with the most live views get their exact C (S from the
   *    (path, date) index). Every other live path has C >= l.
   * 2. With K distinct paths bounded, T = the K-th largest of these values:
   *    K paths have C >= T, so a path with C < T is not in the answer.
   * 3. Let L be the largest l of the live paths not summed in 1 (0 when
   *    none) and x = ceil((T - L) / m). A path not summed in 1 whose rows
   *    are all < x has S <= m(x - 1) < T - L and l <= L, so C < T. SQL
   *    therefore only sums the paths with a row >= x in the range (the
   *    (date, views) index finds them).
   * 4. Every path with C >= T now has an exact C; sorting them (views desc,
   *    path asc) gives the exact rows. Nothing relies on SQL's sort order.
   * With no useful bound (x <= 1) every path is summed: still exact.
   */
  async #rank(
    client: QueryClientContract,
    loaded: LoadedRange,
    options: { offset: number; limit: number; search: string }
  ): Promise<PageCount[]> {
    const { range, stored } = loaded
    const { offset, limit, search } = options
    const k = offset + limit
    if (k === 0) return []
    const livePaths = this.#livePaths(loaded.live, search)

    /* 1. exact C of the busiest day's top paths and of the top live paths */
    const exactPaths = new Set<string>()
    const liveKth = kthLargest(livePaths.values(), livePaths.size, k)
    for (const [path, views] of livePaths) if (views > liveKth) exactPaths.add(path)
    for (const [path, views] of livePaths) {
      if (exactPaths.size >= k) break
      if (views === liveKth) exactPaths.add(path)
    }
    let busiest: string | null = null
    for (const [day, row] of stored) {
      if (busiest === null || row.views > stored.get(busiest)!.views) busiest = day
    }
    if (busiest !== null) {
      /* `date = ?`, not a range: the (date, views) index then yields the rows in order */
      const day = client.from(TRACKING_TABLES.pageViews).where('date', busiest)
      const seeds = (await this.#matching(client, this.#notSkipped(day), search)
        .select('path')
        .orderBy('views', 'desc')
        .limit(k)) as Array<{ path: string }>
      for (const row of seeds) exactPaths.add(row.path)
    }
    const sums = await this.#sumsOf(client, range, [...exactPaths])

    /* 2. the threshold: K paths reach it */
    const bounds: number[] = []
    let otherLive = 0
    for (const [path, views] of livePaths) {
      bounds.push(views + (sums.get(path) ?? 0))
      if (views > otherLive && !exactPaths.has(path)) otherLive = views
    }
    for (const path of exactPaths) if (!livePaths.has(path)) bounds.push(sums.get(path) ?? 0)
    const threshold = kthLargest(bounds, bounds.length, k)

    /* 3. the other paths that can reach it (otherLive is L) */
    const minDayViews = threshold > 0 ? Math.ceil((threshold - otherLive) / range.days) : 0
    const restricted = minDayViews > 1
    let listed: number
    if (restricted) {
      /*
       * One index range per day (date = ?, views >= ?) finds the paths, then
       * the (path, date) index sums them: two steps, so no planner can
       * misjudge a semi-join into a scan of the range
       */
      const found = (await this.#matching(
        client,
        this.#notSkipped(client.from(TRACKING_TABLES.pageViews)),
        search
      )
        .whereIn('date', daysOf(range))
        .where('views', '>=', minDayViews)
        .distinct('path')) as Array<{ path: string }>
      const more = found.map((row) => row.path).filter((path) => !exactPaths.has(path))
      for (const [path, views] of await this.#sumsOf(client, range, more)) sums.set(path, views)
      listed = found.length
    } else {
      const rows = (await this.#rows(client, range, search)
        .groupBy('path')
        .select('path')
        .sum('views as views')) as Array<{ path: string; views: unknown }>
      for (const row of rows) sums.set(row.path, Number(row.views ?? 0))
      listed = rows.length
    }
    const candidates = new Set([...sums.keys(), ...exactPaths])
    /* unrestricted, every SQL path was summed: a live path without a sum has no row */
    if (!restricted) for (const path of livePaths.keys()) candidates.add(path)
    debug(
      'rank %s..%s k=%d: %d live, threshold %d (rows >= %d), %d summed',
      range.from,
      range.to,
      k,
      livePaths.size,
      threshold,
      minDayViews,
      listed
    )

    /* 4. exact C of every candidate */
    return [...candidates]
      .map((path) => ({ path, views: (sums.get(path) ?? 0) + (livePaths.get(path) ?? 0) }))
      .sort(byViews)
      .slice(offset, offset + limit)
  }

  /**
   * Distinct paths of a range with views (SQL and live), search applied.
   *
   * Without a search it is the union of the days' path sketches (written
   * by the flush) and the live paths, minus the paths under the current
   * skip prefixes (read from an index range of those prefixes): exact up
   * to 2,048 distinct paths, a HyperLogLog estimate (about 1% off) beyond,
   * computed once per loaded range. `upTo` is the last row a page shows:
   * when the estimate could cut that page short, the exact count is read.
   * With a search, SQL counts the matching paths exactly.
   */
  async #matchingPaths(
    client: QueryClientContract,
    loaded: LoadedRange,
    search: string,
    upTo = 0
  ): Promise<number> {
    if (search !== '') return this.#countPaths(client, loaded, search)
    loaded.trackedPages ??= this.#trackedPages(client, loaded)
    const tracked = await loaded.trackedPages
    if (tracked.exact || upTo < tracked.total * (1 - ESTIMATE_MARGIN)) return tracked.total
    return this.#countPaths(client, loaded, '')
  }

  /** Exact distinct paths: SQL counts its rows, live paths are looked up to count each once */
  async #countPaths(
    client: QueryClientContract,
    loaded: LoadedRange,
    search: string
  ): Promise<number> {
    const livePaths = [...this.#livePaths(loaded.live, search).keys()]
    const [row, inSql] = await Promise.all([
      this.#rows(client, loaded.range, search).countDistinct('path as total').first(),
      this.#sumsOf(client, loaded.range, livePaths),
    ])
    let total = Number(row?.total ?? 0)
    for (const path of livePaths) if (!inSql.has(path)) total++
    return total
  }

  /** Distinct paths of a range without a search, from the sketches (see #matchingPaths) */
  async #trackedPages(client: QueryClientContract, loaded: LoadedRange): Promise<TrackedPages> {
    const { range, stored, live } = loaded
    const sketch = new PathSketch()
    const unsketched: string[] = []
    for (const [day, row] of stored) {
      if (!(row.paths && sketch.merge(row.paths)) && row.views !== 0) unsketched.push(day)
    }
    if (unsketched.length > 0) {
      for (let start = 0; start < unsketched.length; start += IN_CHUNK) {
        const rows = (await client
          .from(TRACKING_TABLES.pageViews)
          .whereIn('date', unsketched.slice(start, start + IN_CHUNK))
          .distinct('path')) as Array<{ path: string }>
        for (const row of rows) sketch.add(row.path)
      }
    }
    for (const paths of live.values()) for (const path of paths.keys()) sketch.add(path)
    /* the sketches hold every recorded path: take the skipped ones off (if any has a row) */
    const exact = sketch.exact
    let skipped = 0
    const queries = loaded.skipped.size > 0 ? this.#skippedRows(client, range) : []
    for (const query of queries) {
      if (exact) {
        const rows = (await query.distinct('path')) as Array<{ path: string }>
        for (const row of rows) sketch.delete(row.path)
      } else {
        const row = await query.countDistinct('path as total').first()
        skipped += Number(row?.total ?? 0)
      }
    }
    return { total: Math.max(0, sketch.count() - skipped), exact }
  }

  /* -------------------------------------------------------------------------
   | Totals and visitors
   */

  /** Views per day of a range: stored totals - skipped paths + live */
  #viewsPerDay(
    range: AnalyticsRange,
    stored: Map<string, StoredDay>,
    skipped: Map<string, number>,
    live: LiveDays
  ): number[] {
    return daysOf(range).map((day) => {
      let views = (stored.get(day)?.views ?? 0) - (skipped.get(day) ?? 0)
      for (const count of live.get(day)?.values() ?? []) views += count
      return views
    })
  }

  /** Unique visitors of the days of a range together (HLL union) */
  async #unionVisitors(range: AnalyticsRange, stored: Map<string, StoredDay>): Promise<number> {
    const days = daysOf(range)
    if (this.#store.name === 'memory') {
      /* exact sets live in memory until their TTL; older days only have a count (an upper bound when summed) */
      const liveDays: string[] = []
      let offline = 0
      for (const day of days) {
        if ((await this.#store.getUniqueCount(day)) > 0) liveDays.push(day)
        else offline += stored.get(day)?.uniqueVisitors ?? 0
      }
      return (await this.#store.countUnion([], liveDays)) + offline
    }
    const sketches: Buffer[] = []
    let withoutSketch = 0
    for (const row of stored.values()) {
      if (row.sketch) sketches.push(row.sketch)
      else withoutSketch += row.uniqueVisitors
    }
    /* every day of the range: a day whose live key expired is an empty source */
    const union = await this.#store.countUnion(sketches, days)
    return withoutSketch > 0 ? Math.max(union, withoutSketch) : union
  }

  /** Unique visitors of each day of a range */
  async #visitorsPerDay(
    range: AnalyticsRange,
    stored: Map<string, StoredDay>,
    index: LiveIndex
  ): Promise<number[]> {
    const liveDays = new Set([...index.pendingDays, ...index.uncommitted.map((flush) => flush.day)])
    return Promise.all(
      daysOf(range).map(async (day) => {
        const row = stored.get(day)
        if (!liveDays.has(day) && row) return row.uniqueVisitors
        if (this.#store.name === 'memory') {
          return Math.max(row?.uniqueVisitors ?? 0, await this.#store.getUniqueCount(day))
        }
        return this.#store.countUnion(row?.sketch ? [row.sketch] : [], [day])
      })
    )
  }

  /* -------------------------------------------------------------------------
   | One range
   */

  /** What a read of a range needs; path sketches only when it counts tracked pages */
  async #loadRange(
    client: QueryClientContract,
    range: AnalyticsRange,
    index: LiveIndex,
    withPaths = true
  ): Promise<LoadedRange> {
    const [stored, skipped, live] = await Promise.all([
      this.#storedDays(client, range, withPaths),
      this.#skippedPerDay(client, range),
      this.#liveDays(range, index),
    ])
    return { range, stored, skipped, live }
  }

  async #figures(
    client: QueryClientContract,
    loaded: LoadedRange
  ): Promise<RangeFigures & { viewsPerDay: number[] }> {
    const { range, stored, skipped, live } = loaded
    const viewsPerDay = this.#viewsPerDay(range, stored, skipped, live)
    const [uniqueVisitors, trackedPages] = await Promise.all([
      this.#unionVisitors(range, stored),
      this.#matchingPaths(client, loaded, ''),
    ])
    return {
      range,
      totalViews: viewsPerDay.reduce((sum, views) => sum + views, 0),
      uniqueVisitors,
      trackedPages,
      viewsPerDay,
    }
  }

  /* -------------------------------------------------------------------------
   | Public reads
   */

  /** Views of every path of a day: SQL rows + live counts, skipped paths hidden */
  async dailyCounts(day: string): Promise<Map<string, number>> {
    const range = this.#day(day)
    const client = this.#client()
    const [rows, live] = await Promise.all([
      this.#rows(client, range).select('path', 'views') as Promise<
        Array<{ path: string; views: unknown }>
      >,
      this.#liveIndex(client).then((index) => this.#liveDays(range, index)),
    ])
    const out = new Map<string, number>()
    for (const row of rows) out.set(row.path, Number(row.views ?? 0))
    for (const [path, views] of live.get(range.from) ?? [])
      out.set(path, (out.get(path) ?? 0) + views)
    return out
  }

  /** The most viewed paths of a day */
  async topPages(day: string, limit = DEFAULT_TOP_LIMIT): Promise<PageCount[]> {
    return this.topPagesForRange({ from: day, to: day }, limit)
  }

  /** The most viewed paths of a range (views summed over its days) */
  async topPagesForRange(input: RangeInput, limit = DEFAULT_TOP_LIMIT): Promise<PageCount[]> {
    const ranked = await this.pagesForRange(input, { page: 1, perPage: limit })
    return ranked.rows
  }

  /**
   * One page of the paths of a range ranked by views, with the number of
   * matching paths (see the class about estimates). `perPage` is not capped
   * here (the table caps it).
   */
  async pagesForRange(input: RangeInput, options: TableOptions = {}): Promise<RankedPage> {
    const range = this.resolveRange(input)
    const page = Math.max(1, Math.floor(options.page ?? 1))
    const perPage = Math.max(0, Math.floor(options.perPage ?? DEFAULT_PER_PAGE))
    const search = (options.search ?? '').trim()
    const client = this.#client()
    const index = await this.#liveIndex(client)
    const loaded = await this.#loadRange(client, range, index, search === '')
    const [rows, total] = await Promise.all([
      this.#rank(client, loaded, { offset: (page - 1) * perPage, limit: perPage, search }),
      this.#matchingPaths(client, loaded, search, page * perPage),
    ])
    return { rows, total }
  }

  /** Distinct visitors of a day (stored sketch and live visitors) */
  async uniqueVisitors(day: string): Promise<number> {
    return this.uniqueVisitorsForRange({ from: day, to: day })
  }

  /** Distinct visitors of a range: the union of its days, not a sum */
  async uniqueVisitorsForRange(input: RangeInput): Promise<number> {
    const range = this.resolveRange(input)
    return this.#unionVisitors(range, await this.#storedDays(this.#client(), range))
  }

  /** Views of a day, skipped paths excluded */
  async totalViews(day: string): Promise<number> {
    return this.totalViewsForRange({ from: day, to: day })
  }

  /** Views of a range, skipped paths excluded */
  async totalViewsForRange(input: RangeInput): Promise<number> {
    const totals = await this.#dayTotals(this.resolveRange(input))
    return totals.reduce((sum, views) => sum + views, 0)
  }

  /** Views of several days (any order, duplicates kept once): day -> views */
  async multiDayTotals(days: string[]): Promise<Map<string, number>> {
    const unique = [...new Set(days.map((day) => parseIsoDay(day, 'day').toISODate()!))].sort()
    const out = new Map<string, number>()
    if (unique.length === 0) return out
    const from = unique[0]
    const to = unique[unique.length - 1]
    const span = this.resolveRange({ from, to })
    const totals = await this.#dayTotals(span)
    daysOf(span).forEach((day, i) => out.set(day, totals[i]))
    return new Map(days.map((day) => [day, out.get(parseIsoDay(day, 'day').toISODate()!) ?? 0]))
  }

  async #dayTotals(range: AnalyticsRange): Promise<number[]> {
    const client = this.#client()
    const index = await this.#liveIndex(client)
    const { stored, skipped, live } = await this.#loadRange(client, range, index, false)
    return this.#viewsPerDay(range, stored, skipped, live)
  }

  /** Distinct paths with views in a range (an estimate beyond 2,048 paths, see the class) */
  async trackedPagesForRange(input: RangeInput): Promise<number> {
    const ranked = await this.pagesForRange(input, { perPage: 0 })
    return ranked.total
  }

  /** Distinct visitors of the last `minutes` minutes */
  async realtimeVisitors(minutes = 5): Promise<number> {
    return this.#store.realtimeVisitors(minutes)
  }

  /** The figures of a range and of the previous range of equal length */
  async compare(input?: RangeInput): Promise<RangeComparison> {
    const range = this.resolveRange(input)
    const client = this.#client()
    const index = await this.#liveIndex(client)
    const [current, previous] = await Promise.all([
      this.#loadRange(client, range, index).then((loaded) => this.#figures(client, loaded)),
      this.#loadRange(client, previousRange(range), index).then((loaded) =>
        this.#figures(client, loaded)
      ),
    ])
    const strip = ({ viewsPerDay: _, ...figures }: RangeFigures & { viewsPerDay: number[] }) =>
      figures
    return {
      current: strip(current),
      previous: strip(previous),
      trends: {
        totalViews: buildTrend(current.totalViews, previous.totalViews),
        uniqueVisitors: buildTrend(current.uniqueVisitors, previous.uniqueVisitors),
        trackedPages: buildTrend(current.trackedPages, previous.trackedPages),
      },
    }
  }

  /**
   * Every widget of the analytics page and dashboard for a range (default:
   * `analyticsDays` ending today), compared with the previous range of the
   * same length. The page-views table is paginated and searchable.
   */
  async getAnalyticsContext(
    input?: RangeInput,
    options: ContextOptions = {}
  ): Promise<AnalyticsContext> {
    const range = this.resolveRange(input)
    const previous = previousRange(range)
    const today = this.today()
    const page = Math.max(1, Math.floor(Number(options.page) || 1))
    const perPage = Math.min(
      MAX_PER_PAGE,
      Math.max(1, Math.floor(Number(options.perPage) || DEFAULT_PER_PAGE))
    )
    const search = String(options.search ?? '').trim()
    const topLimit = Math.max(1, Math.floor(options.topLimit ?? DEFAULT_TOP_LIMIT))
    const client = this.#client()

    const index = await this.#liveIndex(client)
    const [loaded, loadedPrevious] = await Promise.all([
      this.#loadRange(client, range, index),
      this.#loadRange(client, previous, index),
    ])
    /* without a search, one ranking serves the top pages and the table page */
    const firstRows = search === '' ? Math.max(topLimit, page * perPage) : topLimit
    const [current, before, visitorsPerDay, ranked, realtime] = await Promise.all([
      this.#figures(client, loaded),
      this.#figures(client, loadedPrevious),
      this.#visitorsPerDay(range, loaded.stored, index),
      this.#rank(client, loaded, { offset: 0, limit: firstRows, search: '' }),
      this.#store.realtimeVisitors(5),
    ])
    const top = ranked.slice(0, topLimit)
    let table: { rows: PageCount[]; total: number }
    if (search === '') {
      table = {
        rows: ranked.slice((page - 1) * perPage, page * perPage),
        total: await this.#matchingPaths(client, loaded, '', page * perPage),
      }
    } else {
      const [rows, total] = await Promise.all([
        this.#rank(client, loaded, { offset: (page - 1) * perPage, limit: perPage, search }),
        this.#matchingPaths(client, loaded, search),
      ])
      table = { rows, total }
    }

    const caption = rangeCaption(range, today)
    const compared = previousCaption(previous, today)
    debug('analytics context %s..%s (vs %s)', range.from, range.to, compared)
    return {
      range,
      previousRange: previous,
      trackingTotalViews: metricWidget({
        key: 'trackingTotalViews',
        title: 'Page views',
        caption,
        value: current.totalViews,
        previous: before.totalViews,
      }),
      trackingUniqueVisitors: metricWidget({
        key: 'trackingUniqueVisitors',
        title: 'Unique visitors',
        caption,
        value: current.uniqueVisitors,
        previous: before.uniqueVisitors,
      }),
      trackingTrackedPages: metricWidget({
        key: 'trackingTrackedPages',
        title: 'Tracked pages',
        caption,
        value: current.trackedPages,
        previous: before.trackedPages,
      }),
      trackingViewsChart: chartWidget({
        key: 'trackingViewsChart',
        title: 'Views per day',
        caption,
        labels: daysOf(range),
        series: [
          { key: 'views', name: 'Views', values: current.viewsPerDay },
          { key: 'visitors', name: 'Unique visitors', values: visitorsPerDay },
        ],
      }),
      trackingTopPages: listWidget({
        key: 'trackingTopPages',
        title: 'Top pages',
        caption,
        items: top.map((row) => ({ label: row.path, value: row.views })),
        total: current.totalViews,
      }),
      trackingRecentPageViews: tableWidget({
        key: 'trackingRecentPageViews',
        title: 'Page views',
        caption,
        columns: [
          { key: 'path', label: 'Path' },
          { key: 'views', label: 'Views' },
        ],
        rows: table.rows.map((row) => ({ path: row.path, views: row.views })),
        page,
        perPage,
        total: table.total,
      }),
      realtimeVisitors: realtime,
    }
  }
}
