import type { DriverError } from '../sql_writes.ts'
import { RedisHll } from '../stores/redis_hll.ts'
import {
  addVisitCounts,
  emptyVisitCounts,
  medianDuration,
  type DurationBucket,
  type VisitCounts,
} from '../stores/visits.ts'
import { comparePaths, isoDay, sqlPath, toBuffer, TRACKING_TABLES } from '../tables.ts'
import type { AnalyticsRange } from '../widgets/types.ts'
import { isSkipped } from './live.ts'
import { rankBy } from './rank.ts'
import { IN_CHUNK } from './sql.ts'
import type { LiveDays, LiveIndex, ReadScope } from './types.ts'

/** The headline visit figures of a range */
export interface VisitFigures {
  visits: number
  /** views in those visits */
  views: number
  /** visits of exactly one view */
  bounces: number
  /** summed duration of the visits (first to last view), seconds */
  durationSeconds: number
  /** views / visits, 2 decimals (0 without visits) */
  viewsPerVisit: number
  /** bounces / visits in percent 0..100, 1 decimal (0 without visits) */
  bounceRate: number
  /** median visit duration in whole seconds (one-view visits count 0) */
  durationMedian: number
  /** mean visit duration in whole seconds (one-view visits count 0) */
  durationMean: number
}

/** A path and the visits that entered (or left) there */
export interface VisitPage {
  path: string
  visits: number
}

/** A source (or channel) value and the visits that came from it */
export interface VisitSource {
  value: string
  visits: number
}

/** Everything the selector reads about the visits of a range */
export interface RangeVisits extends VisitFigures {
  range: AnalyticsRange
  /** top entry pages: visits desc, then path asc */
  entryPages: VisitPage[]
  /** top exit pages: visits desc, then path asc */
  exitPages: VisitPage[]
  /** top sources of visits (the first view's source) */
  sources: VisitSource[]
  /** top channels of visits */
  channels: VisitSource[]
}

/**
 * A missing visit table (an app that updated the package and has not run
 * the new migration yet): the reads show the live figures and no SQL ones
 * rather than fail the page
 */
function isMissingTable(error: unknown): boolean {
  const { code, errno, message } = (error ?? {}) as DriverError & { message?: string }
  return (
    code === '42P01' ||
    code === 'ER_NO_SUCH_TABLE' ||
    errno === 1146 ||
    (typeof message === 'string' && message.includes('no such table'))
  )
}

async function unlessMissing<T>(query: Promise<T>, fallback: T): Promise<T> {
  try {
    return await query
  } catch (error) {
    if (isMissingTable(error)) return fallback
    throw error
  }
}

/**
 * The live visit figures of a range (by start day): the pending days and
 * the figures taken aside by flushes SQL has not committed, the same days
 * and flushes as the live page views (src/read/live.ts)
 */
export async function liveVisits(
  scope: ReadScope,
  range: AnalyticsRange,
  index: LiveIndex
): Promise<VisitCounts> {
  const inRange = (day: string) => day >= range.from && day <= range.to
  const days = [...index.pendingDays].filter(inRange)
  const taken = index.uncommitted.filter((flush) => inRange(flush.day))
  const [pending, uncommitted] = await Promise.all([
    scope.store.getVisits(days),
    Promise.all(taken.map((flush) => scope.store.readTakenVisits(flush.flushId))),
  ])
  const out = emptyVisitCounts()
  for (const counts of pending.values()) addVisitCounts(out, counts)
  for (const counts of uncommitted) if (counts) addVisitCounts(out, counts)
  return out
}

/**
 * The stored visit totals (and the visits of each day) and the duration
 * buckets of a range, in ONE query (the range's tracking_visit_stats rows,
 * at most one a day, and tracking_visit_durations summed per bucket)
 */
async function storedVisits(
  scope: ReadScope,
  range: AnalyticsRange
): Promise<{ counts: VisitCounts; perDay: Map<string, number> }> {
  const { client } = scope
  const { visitStats, visitDurations } = TRACKING_TABLES
  const rows = (await unlessMissing(
    client.rawQuery(
      `SELECT date AS day, -1 AS bucket, visits, views, bounces, duration_seconds AS seconds
         FROM ${visitStats} WHERE date BETWEEN ? AND ?
       UNION ALL
       SELECT NULL, bucket, SUM(visits), 0, 0, SUM(duration_seconds) FROM ${visitDurations}
         WHERE date BETWEEN ? AND ? GROUP BY bucket`,
      [range.from, range.to, range.from, range.to]
    ),
    null
  )) as unknown
  const out = emptyVisitCounts()
  const perDay = new Map<string, number>()
  for (const row of rawRows(rows)) {
    const bucket = Number(row.bucket)
    if (bucket < 0) {
      const visits = Number(row.visits ?? 0)
      perDay.set(isoDay(row.day), visits)
      out.visits += visits
      out.views += Number(row.views ?? 0)
      out.bounces += Number(row.bounces ?? 0)
      out.duration += Number(row.seconds ?? 0)
    } else {
      out.durations.set(bucket, {
        visits: Number(row.visits ?? 0),
        seconds: Number(row.seconds ?? 0),
      })
    }
  }
  return { counts: out, perDay }
}

/** The rows of a raw query on each driver (better-sqlite3: an array, pg: .rows, mysql2: [rows]) */
function rawRows(result: unknown): Array<Record<string, unknown>> {
  if (result === null || result === undefined) return []
  if (Array.isArray(result)) {
    return Array.isArray(result[0]) ? (result[0] as Array<Record<string, unknown>>) : result
  }
  const rows = (result as { rows?: unknown }).rows
  return Array.isArray(rows) ? rows : []
}

/** The headline figures of visit counts */
export function visitFigures(counts: VisitCounts): VisitFigures {
  const { visits, views, bounces, duration } = counts
  const durations = new Map<number, DurationBucket>()
  for (const [bucket, held] of counts.durations) if (held.visits > 0) durations.set(bucket, held)
  return {
    visits,
    views,
    bounces,
    durationSeconds: duration,
    viewsPerVisit: visits > 0 ? Math.round((views / visits) * 100) / 100 : 0,
    bounceRate: visits > 0 ? Math.round((bounces / visits) * 1000) / 10 : 0,
    durationMedian: medianDuration(durations),
    durationMean: visits > 0 ? Math.round(duration / visits) : 0,
  }
}

/** The visit totals of a range: SQL + live */
export async function rangeVisitCounts(
  scope: ReadScope,
  range: AnalyticsRange,
  index: LiveIndex
): Promise<{ counts: VisitCounts; live: VisitCounts; perDay: Map<string, number> }> {
  const [stored, live] = await Promise.all([
    storedVisits(scope, range),
    liveVisits(scope, range, index),
  ])
  const counts = addVisitCounts(emptyVisitCounts(), stored.counts)
  addVisitCounts(counts, live)
  return { counts, live, perDay: stored.perDay }
}

/** visits desc, then key asc (code point order, as the path and value columns sort) */
function byVisits(a: [string, number], b: [string, number]): number {
  return b[1] - a[1] || comparePaths(a[0], b[0])
}

/**
 * The top `limit` of SQL sums + live deltas, exact: SQL gave its top `cap`
 * = limit + live keys (ranked like byVisits) and whether it was cut there;
 * a live key absent from a cut answer is summed exactly (`exact`). Every
 * other key has no live delta and a SQL sum no larger than the answer's
 * rows, at most `live` of which are live: `limit` rows rank at least as
 * high (as src/read/dimensions.ts argues).
 */
async function topOf(
  sql: Map<string, number>,
  cut: boolean,
  live: Map<string, number>,
  limit: number,
  exact: (keys: string[]) => Promise<Map<string, number>>
): Promise<Array<[string, number]>> {
  const sums = new Map(sql)
  const missing = [...live.keys()].filter((key) => !sums.has(key))
  if (cut && missing.length > 0) for (const [key, n] of await exact(missing)) sums.set(key, n)
  const totals = new Map<string, number>()
  for (const key of new Set([...sums.keys(), ...live.keys()])) {
    totals.set(key, (sums.get(key) ?? 0) + (live.get(key) ?? 0))
  }
  return [...totals]
    .filter(([, n]) => n > 0)
    .sort(byVisits)
    .slice(0, limit)
}

/** Live entries (or exits) per path as SQL stores them, skipped paths removed */
function livePaths(scope: ReadScope, counts: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>()
  for (const [raw, n] of counts) {
    const path = sqlPath(raw)
    if (!Number.isFinite(n) || n === 0 || isSkipped(scope, path)) continue
    out.set(path, (out.get(path) ?? 0) + n)
  }
  return out
}

/**
 * The top entry and exit pages of a range, SQL + live, exact: ranked the
 * way the top pages are (rankBy, src/read/rank.ts), so a read costs a few
 * indexed queries whatever the number of paths, not an aggregate of the
 * range's rows. A day's entries and exits both sum to its visits, which
 * find the busiest day. Skipped paths are hidden.
 */
async function visitPages(
  scope: ReadScope,
  range: AnalyticsRange,
  live: VisitCounts,
  perDay: Map<string, number>,
  limit: number
): Promise<{ entryPages: VisitPage[]; exitPages: VisitPage[] }> {
  const ranked = async (column: 'entries' | 'exits', counts: Map<string, number>) => {
    const liveOf = livePaths(scope, counts)
    const rows = await unlessMissing(
      rankBy(
        scope,
        { range, table: TRACKING_TABLES.visitPages, column, dayTotals: perDay, live: liveOf },
        { offset: 0, limit, search: '' }
      ),
      /* no table yet: the live figures alone */
      [...liveOf]
        .map(([path, views]) => ({ path, views }))
        .sort((a, b) => b.views - a.views || comparePaths(a.path, b.path))
        .slice(0, limit)
    )
    return rows.filter((row) => row.views > 0).map((row) => ({ path: row.path, visits: row.views }))
  }
  const [entryPages, exitPages] = await Promise.all([
    ranked('entries', live.entries),
    ranked('exits', live.exits),
  ])
  return { entryPages, exitPages }
}

/** The top sources and channels of the visits of a range, SQL + live, in ONE ranked query */
async function visitSources(
  scope: ReadScope,
  range: AnalyticsRange,
  live: VisitCounts,
  limit: number
): Promise<{ sources: VisitSource[]; channels: VisitSource[] }> {
  const { client } = scope
  const table = TRACKING_TABLES.visitSources
  const lives = { source: new Map<string, number>(), channel: new Map<string, number>() }
  for (const [key, n] of live.sources) {
    const colon = key.indexOf(':')
    const dimension = key.slice(0, colon)
    if (dimension !== 'source' && dimension !== 'channel') continue
    const values = lives[dimension]
    const value = key.slice(colon + 1)
    values.set(value, (values.get(value) ?? 0) + n)
  }
  const cap = limit + Math.max(lives.source.size, lives.channel.size)
  const grouped = client
    .from(table)
    .whereBetween('date', [range.from, range.to])
    .whereIn('dimension', ['source', 'channel'])
    .groupBy('dimension', 'value')
    .select('dimension', 'value')
    .select(client.raw('SUM(visits) AS visits'))
    .select(
      client.raw(
        'ROW_NUMBER() OVER (PARTITION BY dimension ORDER BY SUM(visits) DESC, value ASC) AS value_rank'
      )
    )
  const rows = (await unlessMissing(
    client
      .query()
      .from(grouped.as('ranked'))
      .where('value_rank', '<=', cap)
      .select('dimension', 'value', 'visits'),
    []
  )) as Array<{ dimension: 'source' | 'channel'; value: string; visits: unknown }>
  const sql = { source: new Map<string, number>(), channel: new Map<string, number>() }
  for (const row of rows) sql[row.dimension]?.set(row.value, Number(row.visits ?? 0))
  const exact = (dimension: string) => async (values: string[]) => {
    const out = new Map<string, number>()
    for (let start = 0; start < values.length; start += IN_CHUNK) {
      const sums = (await client
        .from(table)
        .whereBetween('date', [range.from, range.to])
        .where('dimension', dimension)
        .whereIn('value', values.slice(start, start + IN_CHUNK))
        .groupBy('value')
        .select('value')
        .sum('visits as total')) as Array<{ value: string; total: unknown }>
      for (const row of sums) out.set(row.value, Number(row.total ?? 0))
    }
    return out
  }
  const [sources, channels] = await Promise.all(
    (['source', 'channel'] as const).map((dimension) =>
      topOf(sql[dimension], sql[dimension].size >= cap, lives[dimension], limit, exact(dimension))
    )
  )
  const row = ([value, visits]: [string, number]) => ({ value, visits })
  return { sources: sources.map(row), channels: channels.map(row) }
}

/** The visits of a range: figures, entry and exit pages, sources and channels */
export async function rangeVisits(
  scope: ReadScope,
  range: AnalyticsRange,
  index: LiveIndex,
  options: { limit: number }
): Promise<RangeVisits> {
  const { counts, live, perDay } = await rangeVisitCounts(scope, range, index)
  const [pages, sources] = await Promise.all([
    visitPages(scope, range, live, perDay, options.limit),
    visitSources(scope, range, live, options.limit),
  ])
  return { range, ...visitFigures(counts), ...pages, ...sources }
}

/**
 * Distinct visitors of some paths over a range (visitors who viewed the
 * path at least once): per path the union of its stored day sketches
 * (tracking_page_visitors, ONE query for all paths) and its live sketches
 * on the live days where it has live views (a path's sketch only changes
 * with its views, and each flush unions the live sketches into SQL).
 */
export async function pageVisitors(
  scope: ReadScope,
  range: AnalyticsRange,
  paths: readonly string[],
  live: LiveDays
): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  if (paths.length === 0) return out
  const wanted = [...new Set(paths)].slice(0, IN_CHUNK)
  const liveAsked: Array<[string, string[]]> = []
  for (const [day, views] of live) {
    const onDay = wanted.filter((path) => views.has(path))
    if (onDay.length > 0) liveAsked.push([day, onDay])
  }
  const [rows, liveSketches] = await Promise.all([
    unlessMissing(
      scope.client
        .from(TRACKING_TABLES.pageVisitors)
        .whereIn('path', wanted)
        .whereBetween('date', [range.from, range.to])
        .select('path', 'visitors', 'visitors_sketch') as Promise<
        Array<{ path: string; visitors: unknown; visitors_sketch: unknown }>
      >,
      []
    ),
    Promise.all(liveAsked.map(([day, onDay]) => scope.store.pageVisitorSketches(day, onDay))),
  ])
  const registers = new Map<string, Uint8Array>()
  const withoutSketch = new Map<string, number>()
  const merge = (path: string, bytes: Buffer | null) => {
    const sketch = RedisHll.fromBuffer(bytes)
    if (!sketch) return false
    let into = registers.get(path)
    if (!into) registers.set(path, (into = new Uint8Array(RedisHll.REGISTERS)))
    sketch.maxInto(into)
    return true
  }
  for (const row of rows) {
    if (merge(row.path, toBuffer(row.visitors_sketch))) continue
    /* a row without a sketch: its count is a floor of the union */
    withoutSketch.set(row.path, (withoutSketch.get(row.path) ?? 0) + Number(row.visitors ?? 0))
  }
  for (const sketches of liveSketches) for (const [path, bytes] of sketches) merge(path, bytes)
  for (const path of wanted) {
    const held = registers.get(path)
    const union = held ? RedisHll.countRegisters(held) : 0
    out.set(path, Math.max(union, withoutSketch.get(path) ?? 0))
  }
  return out
}
