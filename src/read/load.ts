import { daysOf } from '../ranges.ts'
import type { AnalyticsRange } from '../widgets/types.ts'
import { liveDays } from './live.ts'
import { skippedPerDay, storedDays } from './sql.ts'
import { matchingPaths } from './tracked_pages.ts'
import type { LiveIndex, LoadedRange, RangeFigures, ReadScope } from './types.ts'
import { unionVisitors } from './visitors.ts'

/** What a read of a range needs; path sketches only when it counts tracked pages */
export async function loadRange(
  scope: ReadScope,
  range: AnalyticsRange,
  index: LiveIndex,
  withPaths = true
): Promise<LoadedRange> {
  const [stored, skipped, live] = await Promise.all([
    storedDays(scope.client, range, withPaths),
    skippedPerDay(scope, range),
    liveDays(scope, range, index),
  ])
  return { range, stored, skipped, live }
}

/** Views per day of a range: stored totals - skipped paths + live */
export function viewsPerDay({ range, stored, skipped, live }: LoadedRange): number[] {
  return daysOf(range).map((day) => {
    let views = (stored.get(day)?.views ?? 0) - (skipped.get(day) ?? 0)
    for (const count of live.get(day)?.values() ?? []) views += count
    return views
  })
}

/** The headline figures of a loaded range, with its views per day */
export async function figuresOf(
  scope: ReadScope,
  loaded: LoadedRange
): Promise<RangeFigures & { viewsPerDay: number[] }> {
  const perDay = viewsPerDay(loaded)
  const [visitors, trackedPages] = await Promise.all([
    unionVisitors(scope.store, loaded.range, loaded.stored),
    matchingPaths(scope, loaded, ''),
  ])
  return {
    range: loaded.range,
    totalViews: perDay.reduce((sum, views) => sum + views, 0),
    uniqueVisitors: visitors.value,
    ...(visitors.upTo === null ? {} : { uniqueVisitorsUpTo: visitors.upTo }),
    trackedPages,
    viewsPerDay: perDay,
  }
}
