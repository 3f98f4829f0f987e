/**
 * The SQL tables and path helpers shared by the write side (the flush) and
 * the read side (the selector): neither imports the other.
 */

/** Tables written by the flush (see database/migrations) */
export const TRACKING_TABLES = Object.freeze({
  pageViews: 'tracking_page_views',
  dailyStats: 'tracking_daily_stats',
  flushes: 'tracking_flushes',
  dimensionStats: 'tracking_dimension_stats',
  imports: 'tracking_imports',
  visitStats: 'tracking_visit_stats',
  visitDurations: 'tracking_visit_durations',
  visitPages: 'tracking_visit_pages',
  visitSources: 'tracking_visit_sources',
  pageVisitors: 'tracking_page_visitors',
})

/** The tables of the visit figures (one migration creates them together) */
export const VISIT_TABLES = Object.freeze([
  TRACKING_TABLES.visitStats,
  TRACKING_TABLES.visitDurations,
  TRACKING_TABLES.visitPages,
  TRACKING_TABLES.visitSources,
  TRACKING_TABLES.pageVisitors,
])

/** Longest path a page view row holds (varchar(500)) */
export const MAX_PATH_LENGTH = 500

/**
 * A path as SQL may store it: valid UTF-8 (lone surrogates and NUL become
 * U+FFFD), never empty, at most 500 characters (cut, never rejected).
 */
export function sqlPath(path: string): string {
  /* the common case, on every live path of every read: nothing to change */
  if (path.length > 0 && path.length <= MAX_PATH_LENGTH && !path.includes('\u0000')) {
    if (path.isWellFormed()) return path
  }
  // eslint-disable-next-line no-control-regex
  let out = path.toWellFormed().replace(/\u0000/g, '\uFFFD')
  if (out.length > MAX_PATH_LENGTH) out = Array.from(out).slice(0, MAX_PATH_LENGTH).join('')
  return out === '' ? '/' : out
}

/**
 * Code point order (what SQLite BINARY, MySQL utf8mb4_bin and PostgreSQL
 * COLLATE "C" sort by), not UTF-16 code unit order
 */
export function comparePaths(a: string, b: string): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x === y) continue
    /* surrogates (U+10000 and above) sort after U+E000..U+FFFF */
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000
    return x - y
  }
  return a.length - b.length
}

/** The day a driver returned (string, or a Date at local midnight for pg and mysql2) */
export function isoDay(value: unknown): string {
  if (value instanceof Date) {
    const month = String(value.getMonth() + 1).padStart(2, '0')
    const date = String(value.getDate()).padStart(2, '0')
    return `${value.getFullYear()}-${month}-${date}`
  }
  return String(value).slice(0, 10)
}

/** A binary column as a Buffer, null when empty or missing */
export function toBuffer(value: unknown): Buffer | null {
  if (value === null || value === undefined) return null
  if (Buffer.isBuffer(value)) return value.length > 0 ? value : null
  if (value instanceof Uint8Array) return value.length > 0 ? Buffer.from(value) : null
  return null
}
