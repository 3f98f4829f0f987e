import { PathSketch } from '../stores/path_sketch.ts'
import { TRACKING_TABLES } from '../tables.ts'
import { livePaths } from './live.ts'
import { IN_CHUNK, rangeRows, skippedRows, sumsOf } from './sql.ts'
import type { LoadedRange, ReadScope, TrackedPages } from './types.ts'

/**
 * A page whose last row is within this share of an estimated path count
 * gets the exact count, so the estimate (about 1% off) never hides a last page
 */
const ESTIMATE_MARGIN = 0.05

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
export async function matchingPaths(
  scope: ReadScope,
  loaded: LoadedRange,
  search: string,
  upTo = 0
): Promise<number> {
  if (search !== '') return countPaths(scope, loaded, search)
  loaded.trackedPages ??= trackedPages(scope, loaded)
  const tracked = await loaded.trackedPages
  if (tracked.exact || upTo < tracked.total * (1 - ESTIMATE_MARGIN)) return tracked.total
  return countPaths(scope, loaded, '')
}

/** Exact distinct paths: SQL counts its rows, live paths are looked up to count each once */
async function countPaths(scope: ReadScope, loaded: LoadedRange, search: string): Promise<number> {
  const live = [...livePaths(loaded.live, search).keys()]
  const [row, inSql] = await Promise.all([
    rangeRows(scope, loaded.range, search).countDistinct('path as total').first(),
    sumsOf(scope.client, loaded.range, live),
  ])
  let total = Number(row?.total ?? 0)
  for (const path of live) if (!inSql.has(path)) total++
  return total
}

/** Distinct paths of a range without a search, from the sketches (see matchingPaths) */
async function trackedPages(scope: ReadScope, loaded: LoadedRange): Promise<TrackedPages> {
  const { range, stored, live } = loaded
  const sketch = new PathSketch()
  const unsketched: string[] = []
  for (const [day, row] of stored) {
    if (!(row.paths && sketch.merge(row.paths)) && row.views !== 0) unsketched.push(day)
  }
  for (let start = 0; start < unsketched.length; start += IN_CHUNK) {
    const rows = (await scope.client
      .from(TRACKING_TABLES.pageViews)
      .whereIn('date', unsketched.slice(start, start + IN_CHUNK))
      .distinct('path')) as Array<{ path: string }>
    for (const row of rows) sketch.add(row.path)
  }
  for (const paths of live.values()) for (const path of paths.keys()) sketch.add(path)
  /* the sketches hold every recorded path: take the skipped ones off (if any has a row) */
  const exact = sketch.exact
  let skipped = 0
  const queries = loaded.skipped.size > 0 ? skippedRows(scope, range) : []
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
