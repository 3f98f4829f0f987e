/*
|--------------------------------------------------------------------------
| Helpers of the visit specs
|--------------------------------------------------------------------------
|
| Visit segments as the write buffer sends them, and the figures of a day
| as plain objects that assert.deepEqual can compare.
|
*/

import type { TrackingBatch, VisitCounts, VisitSegment } from '../src/stores/types.ts'

/** 2026-03-10 08:00 UTC */
export const T0 = Date.UTC(2026, 2, 10, 8, 0, 0)
export const MINUTE = 60_000

/**
 * A segment of `views` views: its first view `from` minutes after T0 on
 * `firstPath`, its last `to` minutes after T0 on `lastPath`
 */
export function segment(
  visitor: string,
  from: [minutes: number, path: string],
  to: [minutes: number, path: string] = from,
  views = 1,
  extra: Partial<VisitSegment> = {}
): VisitSegment {
  return {
    visitor,
    day: '2026-03-10',
    first: T0 + from[0] * MINUTE,
    firstPath: from[1],
    last: T0 + to[0] * MINUTE,
    lastPath: to[1],
    views,
    ...extra,
  }
}

/** A batch of visit segments only (in this order) */
export function visitBatch(segments: VisitSegment[], id?: string): TrackingBatch {
  return { id, days: new Map(), minutes: new Map(), visits: segments }
}

/** Visit figures as a plain object, zero entries left out */
export interface VisitSummary {
  visits: number
  views: number
  bounces: number
  duration: number
  /** bucket -> [visits, seconds] */
  durations: Record<string, [number, number]>
  entries: Record<string, number>
  exits: Record<string, number>
  sources: Record<string, number>
}

function plain(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries(
    [...map].filter(([, n]) => n !== 0).sort(([a], [b]) => (a < b ? -1 : 1))
  )
}

/** The figures of VisitCounts (or none) as a VisitSummary */
export function summary(counts: VisitCounts | null | undefined): VisitSummary {
  const durations: Record<string, [number, number]> = {}
  for (const [bucket, { visits, seconds }] of [...(counts?.durations ?? [])].sort(
    (a, b) => a[0] - b[0]
  )) {
    if (visits !== 0 || seconds !== 0) durations[String(bucket)] = [visits, seconds]
  }
  return {
    visits: counts?.visits ?? 0,
    views: counts?.views ?? 0,
    bounces: counts?.bounces ?? 0,
    duration: counts?.duration ?? 0,
    durations,
    entries: plain(counts?.entries ?? new Map()),
    exits: plain(counts?.exits ?? new Map()),
    sources: plain(counts?.sources ?? new Map()),
  }
}
