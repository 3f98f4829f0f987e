import type { AnalyticsRange } from '../widgets/types.ts'
import { liveDays, livePaths } from './live.ts'
import { byViews } from './rank.ts'
import { rankedSums, sumsOf } from './sql.ts'
import type { LiveIndex, PageCount, ReadScope } from './types.ts'

/**
 * Every path of a range ranked by views (SQL + live), search applied, up
 * to `limit` rows: the rows of an export, read once.
 *
 * ONE query reads the paths' SQL sums in rank order (rankedSums),
 * `limit` + the live paths at most. A live path (a
 * few live days at most) takes its SQL sum from that answer; only when
 * the answer was cut short are the live paths it lacks summed exactly
 * (by the (path, date) index). The live paths, sorted by their totals,
 * and the other SQL rows, whose sum is their whole count, are two
 * sorted sequences: merging them gives the exact order of the ranked
 * reads. The queries run before the first row is taken, so a failure is
 * an error answer, not a cut stream.
 */
export async function exportRows(
  scope: ReadScope,
  range: AnalyticsRange,
  index: LiveIndex,
  search: string,
  limit: number
): Promise<Iterable<PageCount>> {
  const live = livePaths(await liveDays(scope, range, index), search)
  /* `limit` rows are left once the live paths among them are set aside */
  const cap = limit + live.size
  const sqlRows = await rankedSums(scope, range, search, cap)
  const sums = new Map<string, number>()
  for (const row of sqlRows) if (live.has(row.path)) sums.set(row.path, Number(row.views ?? 0))
  if (sqlRows.length === cap) {
    const missing = [...live.keys()].filter((path) => !sums.has(path))
    for (const [path, views] of await sumsOf(scope.client, range, missing)) sums.set(path, views)
  }
  const liveRows = [...live]
    .map(([path, views]) => ({ path, views: views + (sums.get(path) ?? 0) }))
    .sort(byViews)
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
