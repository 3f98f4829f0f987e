import debug from '../debug.ts'
import { daysOf } from '../ranges.ts'
import { comparePaths, TRACKING_TABLES } from '../tables.ts'
import { livePaths as livePathsOf } from './live.ts'
import { matching, notSkipped, rangeRows, sumsOf } from './sql.ts'
import type { AnalyticsRange } from '../widgets/types.ts'
import type { LoadedRange, PageCount, ReadScope } from './types.ts'

/**
 * What rankBy ranks: a column of a table by day and path (with an index on
 * (path, date) and one on (date, column)), and the live additions
 */
export interface RankSource {
  range: AnalyticsRange
  table: string
  column: string
  /** the column's total per stored day (the busiest day seeds the ranking) */
  dayTotals: ReadonlyMap<string, number>
  /** live additions per path (search already applied); they may be negative */
  live: ReadonlyMap<string, number>
}

/** The k-th largest of `count` numbers (k >= 1), 0 when there are fewer than k */
function kthLargest(values: Iterable<number>, count: number, k: number): number {
  if (count < k) return 0
  /* a typed array sorts numbers natively, without a comparator call per pair */
  const sorted = Float64Array.from(values).sort()
  return sorted[sorted.length - k]
}

/** views desc, then path asc: the order of every ranked read */
export function byViews(a: PageCount, b: PageCount): number {
  return b.views - a.views || comparePaths(a.path, b.path)
}

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
export async function rank(
  scope: ReadScope,
  loaded: LoadedRange,
  options: { offset: number; limit: number; search: string }
): Promise<PageCount[]> {
  const dayTotals = new Map<string, number>()
  for (const [day, row] of loaded.stored) dayTotals.set(day, row.views)
  return rankBy(
    scope,
    {
      range: loaded.range,
      table: TRACKING_TABLES.pageViews,
      column: 'views',
      dayTotals,
      live: livePathsOf(loaded.live, options.search),
    },
    options
  )
}

/**
 * rank() over any column of a table by day and path whose rows are never
 * negative (entries and exits of visits: a decrement always follows its
 * increment on the same row). Live additions may be negative: a live path
 * still has C >= l, and L below is never less than 0, so the argument of
 * rank() holds. A total of 0 or less sorts last: when one is among the
 * rows, fewer than offset + limit paths are positive, the threshold is
 * at most 0 and every path was summed.
 */
export async function rankBy(
  scope: ReadScope,
  source: RankSource,
  options: { offset: number; limit: number; search: string }
): Promise<PageCount[]> {
  const { client } = scope
  const { range, table, column, dayTotals } = source
  const { offset, limit, search } = options
  const k = offset + limit
  if (k === 0) return []
  const livePaths = source.live

  /* 1. exact C of the busiest day's top paths and of the top live paths */
  const exactPaths = new Set<string>()
  const liveKth = kthLargest(livePaths.values(), livePaths.size, k)
  for (const [path, views] of livePaths) if (views > liveKth) exactPaths.add(path)
  for (const [path, views] of livePaths) {
    if (exactPaths.size >= k) break
    if (views === liveKth) exactPaths.add(path)
  }
  let busiest: string | null = null
  for (const [day, total] of dayTotals) {
    if (busiest === null || total > dayTotals.get(busiest)!) busiest = day
  }
  if (busiest !== null) {
    /* `date = ?`, not a range: the (date, views) index then yields the rows in order */
    const day = client.from(table).where('date', busiest)
    const seeds = (await matching(client, notSkipped(scope, day), search)
      .select('path')
      .orderBy(column, 'desc')
      .limit(k)) as Array<{ path: string }>
    for (const row of seeds) exactPaths.add(row.path)
  }
  const sums = await sumsOf(client, range, [...exactPaths], table, column)

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
    const found = (await matching(client, notSkipped(scope, client.from(table)), search)
      .whereIn('date', daysOf(range))
      .where(column, '>=', minDayViews)
      .distinct('path')) as Array<{ path: string }>
    const more = found.map((row) => row.path).filter((path) => !exactPaths.has(path))
    for (const [path, views] of await sumsOf(client, range, more, table, column)) {
      sums.set(path, views)
    }
    listed = found.length
  } else {
    const rows = (await rangeRows(scope, range, search, table)
      .groupBy('path')
      .select('path')
      .sum(`${column} as views`)) as Array<{ path: string; views: unknown }>
    for (const row of rows) sums.set(row.path, Number(row.views ?? 0))
    listed = rows.length
  }
  const candidates = new Set([...sums.keys(), ...exactPaths])
  /* unrestricted, every SQL path was summed: a live path without a sum has no row */
  if (!restricted) for (const path of livePaths.keys()) candidates.add(path)
  debug(
    'rank %s %s..%s k=%d: %d live, threshold %d (rows >= %d), %d summed',
    column,
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
