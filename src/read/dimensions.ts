import {
  dimensionKey,
  isStoredDimension,
  type DimensionName,
  type StoredDimensionName,
} from '../dimensions/names.ts'
import { E_TRACKING_INVALID_FILTER } from '../errors.ts'
import { daysOf } from '../ranges.ts'
import { RedisHll } from '../stores/redis_hll.ts'
import { comparePaths, isoDay, toBuffer, TRACKING_TABLES } from '../tables.ts'
import type { AnalyticsRange } from '../widgets/types.ts'
import type { DimensionFilter } from './filter.ts'
import { IN_CHUNK } from './sql.ts'
import type { LiveIndex, ReadScope } from './types.ts'
import { visitorBounds, type VisitorBounds } from './visitors.ts'

/** One value of a dimension over a range: views and distinct visitors */
export interface DimensionRow {
  value: string
  views: number
  /** distinct visitors; "at least" this many when visitorsUpTo is set */
  visitors: number
  /**
   * Set only when days of the range have daily visitor counts of the value
   * without a sketch (imported) that cannot be combined: the most it can be
   */
  visitorsUpTo?: number
}

/** The top values of a dimension over a range, and the views of all its values */
export interface DimensionBreakdown<D extends StoredDimensionName = DimensionName> {
  dimension: D
  rows: DimensionRow[]
  /** views of every value of the dimension (the base of the shares) */
  total: number
}

/** Stored rows of sketches read per query, at most (a dense sketch is 12 KB) */
const SKETCH_ROWS_PER_QUERY = 1000

/**
 * Live (not yet in SQL) dimension counts of a range: the pending days
 * (store.getDimension) and the counts taken aside by flushes SQL has not
 * committed, exactly the days and flushes the page reads count as live
 * (src/read/live.ts), so a view is never counted twice or missed around a
 * flush.
 */
export interface LiveDimensions {
  /** dimension -> day -> value -> views */
  views: Map<StoredDimensionName, Map<string, Map<string, number>>>
  /** dimensionKey -> visitor sketches taken aside by uncommitted flushes, with their day */
  takenSketches: Map<string, Array<{ day: string; sketch: Buffer }>>
}

/** Loads the live dimension counts of the days of a range */
export async function liveDimensions(
  scope: ReadScope,
  range: AnalyticsRange,
  index: LiveIndex,
  dimensions: readonly StoredDimensionName[]
): Promise<LiveDimensions> {
  const { store } = scope
  const wanted = new Set(dimensions)
  const out: LiveDimensions = { views: new Map(), takenSketches: new Map() }
  const add = (dimension: StoredDimensionName, day: string, value: string, views: number) => {
    if (!Number.isFinite(views) || views === 0) return
    let days = out.views.get(dimension)
    if (!days) out.views.set(dimension, (days = new Map()))
    let values = days.get(day)
    if (!values) days.set(day, (values = new Map()))
    values.set(value, (values.get(value) ?? 0) + views)
  }
  const inRange = (day: string) => day >= range.from && day <= range.to
  const days = [...index.pendingDays].filter(inRange)
  const pending = days.flatMap((day) => dimensions.map((dimension) => ({ day, dimension })))
  const [answers] = await Promise.all([
    Promise.all(pending.map(({ day, dimension }) => store.getDimension(day, dimension))),
    Promise.all(
      index.uncommitted
        .filter((flush) => inRange(flush.day))
        .map(async (flush) => {
          for await (const chunk of store.readTakenDimensions(flush.flushId, 1000)) {
            for (const taken of chunk) {
              if (!wanted.has(taken.dimension)) continue
              add(taken.dimension, flush.day, taken.value, Number(taken.views))
              if (!taken.sketch) continue
              const key = dimensionKey(taken.dimension, taken.value)
              const list = out.takenSketches.get(key) ?? []
              list.push({ day: flush.day, sketch: taken.sketch })
              out.takenSketches.set(key, list)
            }
          }
        })
    ),
  ])
  pending.forEach(({ day, dimension }, i) => {
    for (const [value, views] of answers[i]) add(dimension, day, value, views)
  })
  return out
}

/** Live views per value of a dimension over every live day */
export function liveValues(
  live: LiveDimensions,
  dimension: StoredDimensionName
): Map<string, number> {
  const out = new Map<string, number>()
  for (const values of live.views.get(dimension)?.values() ?? []) {
    for (const [value, views] of values) out.set(value, (out.get(value) ?? 0) + views)
  }
  return out
}

/** views desc, then value asc (code point order, as the value column sorts) */
function byViews(a: { value: string; views: number }, b: { value: string; views: number }) {
  return b.views - a.views || comparePaths(a.value, b.value)
}

/**
 * ONE query for several dimensions: per dimension, its values ranked by
 * their SQL sum over the range (views desc, value asc), the first `cap`,
 * and the dimension's SQL total (window functions: SQLite >= 3.25,
 * PostgreSQL, MySQL 8, MariaDB 10.2).
 */
async function rankedSqlValues(
  scope: ReadScope,
  range: AnalyticsRange,
  dimensions: readonly StoredDimensionName[],
  cap: number
): Promise<
  Map<StoredDimensionName, { rows: Array<{ value: string; views: number }>; total: number }>
> {
  const { client } = scope
  const out = new Map<
    StoredDimensionName,
    { rows: Array<{ value: string; views: number }>; total: number }
  >()
  for (const dimension of dimensions) out.set(dimension, { rows: [], total: 0 })
  const grouped = client
    .from(TRACKING_TABLES.dimensionStats)
    .whereBetween('date', [range.from, range.to])
    .whereIn('dimension', [...dimensions])
    .groupBy('dimension', 'value')
    .select('dimension', 'value')
    .select(client.raw('SUM(views) AS views'))
    .select(client.raw('SUM(SUM(views)) OVER (PARTITION BY dimension) AS dimension_total'))
    .select(
      client.raw(
        'ROW_NUMBER() OVER (PARTITION BY dimension ORDER BY SUM(views) DESC, value ASC) AS value_rank'
      )
    )
  const rows = (await client
    .query()
    .from(grouped.as('ranked'))
    .where('value_rank', '<=', Math.max(1, cap))
    .select('dimension', 'value', 'views', 'dimension_total')) as Array<{
    dimension: StoredDimensionName
    value: string
    views: unknown
    dimension_total: unknown
  }>
  for (const row of rows) {
    const entry = out.get(row.dimension)
    if (!entry) continue
    entry.rows.push({ value: row.value, views: Number(row.views ?? 0) })
    entry.total = Number(row.dimension_total ?? 0)
  }
  return out
}

/** Exact SQL sums over a range of some values of a dimension */
export async function valueSums(
  scope: ReadScope,
  range: AnalyticsRange,
  dimension: StoredDimensionName,
  values: string[]
): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (let start = 0; start < values.length; start += IN_CHUNK) {
    const rows = await scope.client
      .from(TRACKING_TABLES.dimensionStats)
      .whereBetween('date', [range.from, range.to])
      .where('dimension', dimension)
      .whereIn('value', values.slice(start, start + IN_CHUNK))
      .groupBy('value')
      .select('value')
      .sum('views as views')
    for (const row of rows) out.set(row.value, Number(row.views ?? 0))
  }
  return out
}

/**
 * Distinct visitors over a range of some values of a dimension: the union
 * of their stored sketches (merged as they are read, a bounded number of
 * rows per query), the sketches of uncommitted flushes and the values' live
 * visitors of every day of the range (a day whose live key expired is an
 * empty source, as for the page visitors). Rows without a sketch
 * (imported days) give daily counts: see VisitorBounds.
 */
export async function valueVisitors(
  scope: ReadScope,
  range: AnalyticsRange,
  live: LiveDimensions,
  dimension: StoredDimensionName,
  values: string[]
): Promise<Map<string, VisitorBounds>> {
  const out = new Map<string, VisitorBounds>()
  /* a value has live visitors only on the live days it has views (they are written together) */
  const liveDays = live.views.get(dimension) ?? new Map<string, Map<string, number>>()
  const step = Math.max(1, Math.floor(SKETCH_ROWS_PER_QUERY / range.days))
  for (let start = 0; start < values.length; start += step) {
    const chunk = values.slice(start, start + step)
    const daysOfValue = new Map(
      chunk.map((value) => [
        value,
        [...liveDays].filter(([, views]) => views.has(value)).map(([day]) => day),
      ])
    )
    const [rows, liveSketches] = await Promise.all([
      scope.client
        .from(TRACKING_TABLES.dimensionStats)
        .whereBetween('date', [range.from, range.to])
        .where('dimension', dimension)
        .whereIn('value', chunk)
        .select('value', 'unique_visitors', 'visitors_sketch'),
      scope.store.liveDimensionSketches(dimension, daysOfValue),
    ])
    /* per value: the registers of the union of its sketches, stored, taken aside and live */
    const registers = new Map<string, Uint8Array>()
    const withoutSketch = new Map<string, number[]>()
    const merge = (value: string, bytes: Buffer | null) => {
      const sketch = RedisHll.fromBuffer(bytes)
      if (!sketch) return false
      let into = registers.get(value)
      if (!into) registers.set(value, (into = new Uint8Array(RedisHll.REGISTERS)))
      sketch.maxInto(into)
      return true
    }
    for (const row of rows) {
      if (merge(row.value, toBuffer(row.visitors_sketch))) continue
      const counts = withoutSketch.get(row.value) ?? []
      counts.push(Number(row.unique_visitors ?? 0))
      withoutSketch.set(row.value, counts)
    }
    for (const value of chunk) {
      for (const one of live.takenSketches.get(dimensionKey(dimension, value)) ?? []) {
        merge(value, one.sketch)
      }
      for (const bytes of liveSketches.get(value) ?? []) merge(value, bytes)
      const held = registers.get(value)
      const union = held ? RedisHll.countRegisters(held) : 0
      out.set(value, visitorBounds(union, withoutSketch.get(value) ?? []))
    }
  }
  return out
}

/**
 * The top `limit` values of each dimension over a range, SQL + live, exact:
 * one ranked SQL query reads `limit` + the live values of the dimension
 * (at most); a live value absent from a cut answer is summed exactly. Every
 * other value has no live views and a SQL sum no larger than the answer's
 * last, so `limit` values of the answer rank at least as high (the
 * argument of src/read/export.ts). Visitors are counted for the returned
 * rows only. A filter on one of the dimensions keeps only its value there.
 */
export async function breakdowns<D extends StoredDimensionName>(
  scope: ReadScope,
  range: AnalyticsRange,
  index: LiveIndex,
  dimensions: readonly D[],
  options: {
    limit: number
    filter?: DimensionFilter | null
    live?: LiveDimensions
    /** false: the rows' visitors are not counted (0), only their views */
    visitors?: boolean
  }
): Promise<Map<D, DimensionBreakdown<D>>> {
  for (const name of dimensions) {
    if (!isStoredDimension(name))
      throw new E_TRACKING_INVALID_FILTER([`unknown dimension "${name}"`])
  }
  const limit = Math.max(0, Math.floor(options.limit))
  const live = options.live ?? (await liveDimensions(scope, range, index, dimensions))
  const lives = new Map(dimensions.map((dimension) => [dimension, liveValues(live, dimension)]))
  const cap = limit + Math.max(0, ...[...lives.values()].map((values) => values.size))
  const sql = await rankedSqlValues(scope, range, dimensions, cap)
  const lists = await Promise.all(
    dimensions.map(async (dimension): Promise<DimensionBreakdown<D>> => {
      const liveOf = lives.get(dimension)!
      const { rows, total: sqlTotal } = sql.get(dimension)!
      const sums = new Map(rows.map((row) => [row.value, row.views]))
      const filter = options.filter?.dimension === dimension ? options.filter.value : null
      const asked = filter === null ? [...liveOf.keys()] : [filter]
      const missing = asked.filter((value) => !sums.has(value))
      if (missing.length > 0 && (filter !== null || rows.length >= cap)) {
        for (const [value, views] of await valueSums(scope, range, dimension, missing))
          sums.set(value, views)
      }
      const candidates = filter === null ? new Set([...sums.keys(), ...liveOf.keys()]) : [filter]
      let liveTotal = 0
      for (const views of liveOf.values()) liveTotal += views
      const top = [...candidates]
        .map((value) => ({ value, views: (sums.get(value) ?? 0) + (liveOf.get(value) ?? 0) }))
        .filter((row) => row.views > 0)
        .sort(byViews)
        .slice(0, limit)
      const visitors =
        options.visitors === false
          ? new Map<string, VisitorBounds>()
          : await valueVisitors(
              scope,
              range,
              live,
              dimension,
              top.map((row) => row.value)
            )
      return {
        dimension,
        rows: top.map((row) => {
          const bounds = visitors.get(row.value)
          return {
            ...row,
            visitors: bounds?.value ?? 0,
            ...(bounds === undefined || bounds.upTo === null ? {} : { visitorsUpTo: bounds.upTo }),
          }
        }),
        total: sqlTotal + liveTotal,
      }
    })
  )
  /* in the order asked for (the CSV rows follow it) */
  return new Map(lists.map((list) => [list.dimension, list]))
}

/**
 * Views and distinct visitors over a range of some given values of a
 * dimension (the events of goals, the patterns of path goals): SQL sums +
 * live counts, and the union of their sketches; a value without any count
 * has 0 and 0
 */
export async function valueFigures(
  scope: ReadScope,
  range: AnalyticsRange,
  live: LiveDimensions,
  dimension: StoredDimensionName,
  values: string[]
): Promise<Map<string, { views: number; visitors: number }>> {
  const unique = [...new Set(values)]
  const out = new Map<string, { views: number; visitors: number }>()
  if (unique.length === 0) return out
  const liveOf = liveValues(live, dimension)
  const sums = await valueSums(scope, range, dimension, unique)
  const counted = unique.filter((value) => (sums.get(value) ?? 0) + (liveOf.get(value) ?? 0) > 0)
  const visitors = await valueVisitors(scope, range, live, dimension, counted)
  for (const value of unique) {
    out.set(value, {
      views: (sums.get(value) ?? 0) + (liveOf.get(value) ?? 0),
      visitors: visitors.get(value)?.value ?? 0,
    })
  }
  return out
}

/** What a filter narrows: the views and visitors of one value, per day and over the range */
export interface FilteredFigures {
  figures: {
    totalViews: number
    /** "at least" this many when uniqueVisitorsUpTo is set (see VisitorBounds) */
    uniqueVisitors: number
    uniqueVisitorsUpTo?: number
    viewsPerDay: number[]
  }
  /** distinct visitors of the value per day (empty unless asked for) */
  visitorsPerDay: number[]
}

/**
 * The views and distinct visitors of one dimension value over a range, and
 * per day: its stored rows (at most one a day) + its live counts.
 */
export async function filteredFigures(
  scope: ReadScope,
  range: AnalyticsRange,
  index: LiveIndex,
  filter: DimensionFilter,
  withDays = true
): Promise<FilteredFigures> {
  const { dimension, value } = filter
  const [rows, live] = await Promise.all([
    scope.client
      .from(TRACKING_TABLES.dimensionStats)
      .whereBetween('date', [range.from, range.to])
      .where('dimension', dimension)
      .where('value', value)
      .select('date', 'views', 'unique_visitors', 'visitors_sketch'),
    liveDimensions(scope, range, index, [dimension]),
  ])
  const stored = new Map<string, { views: number; visitors: number; sketch: Buffer | null }>()
  for (const row of rows) {
    stored.set(isoDay(row.date), {
      views: Number(row.views ?? 0),
      visitors: Number(row.unique_visitors ?? 0),
      sketch: toBuffer(row.visitors_sketch),
    })
  }
  const liveDays = live.views.get(dimension) ?? new Map<string, Map<string, number>>()
  const days = daysOf(range)
  const viewsPerDay = days.map(
    (day) => (stored.get(day)?.views ?? 0) + (liveDays.get(day)?.get(value) ?? 0)
  )
  const taken = live.takenSketches.get(dimensionKey(dimension, value)) ?? []
  const sketches = [...stored.values()].flatMap((row) => (row.sketch ? [row.sketch] : []))
  const daily: number[] = []
  for (const row of stored.values()) if (!row.sketch) daily.push(row.visitors)
  const liveSet = new Set([...index.pendingDays, ...index.uncommitted.map((flush) => flush.day)])
  const [union, visitorsPerDay] = await Promise.all([
    scope.store.countDimensionUnion(
      dimension,
      value,
      [...sketches, ...taken.map((one) => one.sketch)],
      days
    ),
    withDays
      ? Promise.all(
          days.map(async (day) => {
            const row = stored.get(day)
            if (!liveSet.has(day) && row) return row.visitors
            const own = row?.sketch ? [row.sketch] : []
            const dayTaken = taken.filter((one) => one.day === day).map((one) => one.sketch)
            return scope.store.countDimensionUnion(dimension, value, [...own, ...dayTaken], [day])
          })
        )
      : Promise.resolve([]),
  ])
  const bounds = visitorBounds(union, daily)
  return {
    figures: {
      totalViews: viewsPerDay.reduce((sum, views) => sum + views, 0),
      uniqueVisitors: bounds.value,
      ...(bounds.upTo === null ? {} : { uniqueVisitorsUpTo: bounds.upTo }),
      viewsPerDay,
    },
    visitorsPerDay,
  }
}
