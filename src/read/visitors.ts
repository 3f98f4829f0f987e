import { daysOf } from '../ranges.ts'
import type { TrackingStore } from '../stores/types.ts'
import type { AnalyticsRange } from '../widgets/types.ts'
import type { LiveIndex, StoredDay } from './types.ts'

/**
 * Unique visitors of the days of a range together: the union of the stored
 * sketches and the live sketches of the days, the same on every store
 */
export async function unionVisitors(
  store: TrackingStore,
  range: AnalyticsRange,
  stored: Map<string, StoredDay>
): Promise<number> {
  const days = daysOf(range)
  const sketches: Buffer[] = []
  let withoutSketch = 0
  for (const row of stored.values()) {
    if (row.sketch) sketches.push(row.sketch)
    else withoutSketch += row.uniqueVisitors
  }
  /* every day of the range: a day whose live key expired is an empty source */
  const union = await store.countUnion(sketches, days)
  return withoutSketch > 0 ? Math.max(union, withoutSketch) : union
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
