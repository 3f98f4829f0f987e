import { daysOf } from '../ranges.ts'
import type { TrackingStore } from '../stores/types.ts'
import type { AnalyticsRange } from '../widgets/types.ts'
import type { LiveIndex, StoredDay } from './types.ts'

/**
 * TEMPORARY, the only place that knows the memory store: its countUnion
 * ignores stored sketches, so it answers from its exact in-memory sets
 * (kept until their TTL) and adds the stored count of the other days (an
 * upper bound when summed). Returns null for every other store. Delete it
 * (and its two calls) once MemoryStore.countUnion merges stored sketches.
 */
async function memoryStoreVisitors(
  store: TrackingStore,
  days: string[],
  stored: Map<string, StoredDay>
): Promise<number | null> {
  if (store.name !== 'memory') return null
  const liveDays: string[] = []
  let offline = 0
  for (const day of days) {
    if ((await store.getUniqueCount(day)) > 0) liveDays.push(day)
    else offline += stored.get(day)?.uniqueVisitors ?? 0
  }
  return (await store.countUnion([], liveDays)) + offline
}

/** Unique visitors of the days of a range together (HLL union) */
export async function unionVisitors(
  store: TrackingStore,
  range: AnalyticsRange,
  stored: Map<string, StoredDay>
): Promise<number> {
  const days = daysOf(range)
  const memory = await memoryStoreVisitors(store, days, stored)
  if (memory !== null) return memory
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
      const memory = await memoryStoreVisitors(store, [day], stored)
      if (memory !== null) return Math.max(row?.uniqueVisitors ?? 0, memory)
      return store.countUnion(row?.sketch ? [row.sketch] : [], [day])
    })
  )
}
