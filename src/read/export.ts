import type { AnalyticsRange } from '../widgets/types.ts'
import { liveDays, livePaths } from './live.ts'
import { byViews } from './rank.ts'
import { rangeRows, sumsOf } from './sql.ts'
import type { LiveIndex, PageCount, ReadScope } from './types.ts'

/**
 * Every path of a range ranked by views (SQL + live), search applied, up
 * to `limit` rows: the rows of an export, read once.
 *
 * The live paths (a few live days at most) get their exact SQL sums
 * first and are sorted by their total. ONE query then reads the other
 * paths' sums in the same order (views desc, path asc: the path column
 * sorts by code point on every database, as comparePaths does); for
 * them SQL is the whole count. Merging the two sorted sequences gives
 * the exact order of the ranked reads without holding more than
 * `limit` + live rows. The queries run before the first row is taken,
 * so a failure is an error answer, not a cut stream.
 */
export async function exportRows(
  scope: ReadScope,
  range: AnalyticsRange,
  index: LiveIndex,
  search: string,
  limit: number
): Promise<Iterable<PageCount>> {
  const live = livePaths(await liveDays(scope, range, index), search)
  const sums = await sumsOf(scope.client, range, [...live.keys()])
  const liveRows = [...live]
    .map(([path, views]) => ({ path, views: views + (sums.get(path) ?? 0) }))
    .sort(byViews)
  const sqlRows = (await rangeRows(scope, range, search)
    .groupBy('path')
    .select('path')
    .sum('views as views')
    .orderByRaw('SUM(views) DESC, path ASC')
    .limit(limit + live.size)) as Array<{ path: string; views: unknown }>
  return merge(liveRows, sqlRows, live, limit)
}

function* merge(
  liveRows: PageCount[],
  sqlRows: Array<{ path: string; views: unknown }>,
  live: ReadonlyMap<string, number>,
  limit: number
): Generator<PageCount> {
  let i = 0
  let j = 0
  for (let emitted = 0; emitted < limit; emitted++) {
    /* a live path's SQL row is already in its live total */
    while (j < sqlRows.length && live.has(sqlRows[j].path)) j++
    const fromSql =
      j < sqlRows.length ? { path: sqlRows[j].path, views: Number(sqlRows[j].views ?? 0) } : null
    const fromLive = i < liveRows.length ? liveRows[i] : null
    if (!fromSql && !fromLive) return
    if (fromLive && (!fromSql || byViews(fromLive, fromSql) <= 0)) {
      i++
      yield fromLive
    } else {
      j++
      yield fromSql!
    }
  }
}
