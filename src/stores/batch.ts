import {
  isStoredDimension,
  MAX_VALUE_LENGTH,
  maxValueLength,
  type StoredDimensionName,
} from '../dimensions/names.ts'
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

/**
 * Entries of a batch, as the write buffer counts them against
 * bufferMaxEntries: each visit segment, each funnel trail and each (visitor, path) pair of the
 * unique visitors per page count too
 */
export function batchEntries(batch: TrackingBatch): number {
  let entries = (batch.visits?.length ?? 0) + (batch.funnels?.trails.length ?? 0)
  for (const day of batch.days.values()) {
    entries += day.views.size + day.visitors.size
    if (day.dimensions) {
      entries += day.dimensions.size
      for (const count of day.dimensions.values()) entries += count.visitors.size
    }
    if (day.pageVisitors) for (const visitors of day.pageVisitors.values()) entries += visitors.size
  }
  for (const visitors of batch.minutes.values()) entries += visitors.size
  return entries
}

/**
 * A dimension value as the stores and SQL keep it: valid UTF-8 (lone
 * surrogates and NUL become U+FFFD), no surrounding white space (MySQL's
 * PAD SPACE collations would take `a` and `a ` for one row), at most
 * `maxLength` code points (MAX_VALUE_LENGTH, or maxValueLength() of an
 * event dimension); null for a value that is empty then.
 */
export function storedDimensionValue(
  value: string,
  maxLength: number = MAX_VALUE_LENGTH
): string | null {
  if (
    value.length > 0 &&
    value.length <= maxLength &&
    !value.includes('\u0000') &&
    value.isWellFormed() &&
    value.trim() === value
  ) {
    return value
  }

  let out = value.toWellFormed().replaceAll('\u0000', '\uFFFD').trim()
  if (out.length > maxLength) out = Array.from(out).slice(0, maxLength).join('').trim()
  return out === '' ? null : out
}

/**
 * The dimension and the stored value of a dimensionKey() (`source:github.com`),
 * or null when the dimension is unknown or the value empty
 */
export function parseDimensionKey(
  key: string
): [dimension: StoredDimensionName, value: string] | null {
  const colon = key.indexOf(':')
  if (colon <= 0) return null
  const dimension = key.slice(0, colon)
  if (!isStoredDimension(dimension)) return null
  const value = storedDimensionValue(key.slice(colon + 1), maxValueLength(dimension))
  return value === null ? null : [dimension, value]
}
