import type { TrackingBatch } from './types.ts'

/** The row that counts a day's new paths beyond `maxPathsPerDay` (never a request path: those start with "/") */
export const OTHER_PATH = '(other)'

/** Default of `maxPathsPerDay` */
export const DEFAULT_MAX_PATHS_PER_DAY = 10_000

/**
 * Seconds a store remembers that a batch id was applied. The write buffer
 * gives up resending a batch well before (BATCH_RESEND_MAX_AGE_MS), so a
 * resend that arrives is always recognised.
 */
export const BATCH_TTL_SECONDS = 24 * 3600

/** Age after which the write buffer drops a batch it could not write, rather than risk a double count */
export const BATCH_RESEND_MAX_AGE_MS = (BATCH_TTL_SECONDS - 3600) * 1000

/** Page views of a batch */
export function batchViews(batch: TrackingBatch): number {
  let views = 0
  for (const day of batch.days.values()) for (const n of day.views.values()) views += n
  return views
}

/** Entries of a batch, as the write buffer counts them against bufferMaxEntries */
export function batchEntries(batch: TrackingBatch): number {
  let entries = 0
  for (const day of batch.days.values()) entries += day.views.size + day.visitors.size
  for (const visitors of batch.minutes.values()) entries += visitors.size
  return entries
}
