import { daysOf } from '../ranges.ts'
import type { TrackingStore } from '../stores/types.ts'
import type { AnalyticsRange } from '../widgets/types.ts'
import type { LiveIndex, StoredDay } from './types.ts'

/**
 * Unique visitors of a range as far as they are known. `value` is exact
 * when every day with visitors has a sketch (or one day only has a daily
 * count); when days have only a daily count (imported days, days whose
 * sketch was dropped), the counts of several days cannot be combined: a
 * visitor of two days may be one visitor or two. Then `value` is what is
 * known for sure, the larger of the union of the sketches and the largest
 * daily count, and `upTo` the most it can be, their sum.
 */
export interface VisitorBounds {
  value: number
  /** null when `value` is exact */
  upTo: number | null
}

/**
 * The bounds of a union of sketches (`union` distinct visitors) and daily
 * counts without sketch (`daily`, one per day: they are not mergeable)
 */
export function visitorBounds(union: number, daily: Iterable<number>): VisitorBounds {
  let largest = 0
  let sum = 0
  for (const count of daily) {
    if (!(count > 0)) continue
    sum += count
    if (count > largest) largest = count
  }
  const value = Math.max(union, largest)
  const upTo = union + sum
  return { value, upTo: upTo > value ? upTo : null }
}

/**
 * Unique visitors of the days of a range together: the union of the stored
 * sketches and the live sketches of the days, the same on every store;
 * with the daily counts of days without a sketch, bounds (VisitorBounds)
 */
export async function unionVisitors(
  store: TrackingStore,
  range: AnalyticsRange,
  stored: Map<string, StoredDay>
): Promise<VisitorBounds> {
  const days = daysOf(range)
  const sketches: Buffer[] = []
  const daily: number[] = []
  for (const row of stored.values()) {
    if (row.sketch) sketches.push(row.sketch)
    else daily.push(row.uniqueVisitors)
  }
  /* every day of the range: a day whose live key expired is an empty source */
  const union = await store.countUnion(sketches, days)
  return visitorBounds(union, daily)
}

/** Unique visitors of each day of a range */
export async function visitorsPerDay(
  store: TrackingStore,
  range: AnalyticsRange,
  stored: Map<string, StoredDay>,
  index: LiveIndex
): Promise<number[]> {
  const liveDays = new Set([...index.pendingDays, ...index.uncommitted.map((flush) => flush.day)])
  return Promise.all(
    daysOf(range).map(async (day) => {
      const row = stored.get(day)
      if (!liveDays.has(day) && row) return row.uniqueVisitors
      return store.countUnion(row?.sketch ? [row.sketch] : [], [day])
    })
  )
}
