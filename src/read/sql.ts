import type { QueryClientContract } from '@adonisjs/lucid/types/database'
import { isoDay, toBuffer, TRACKING_TABLES } from '../tables.ts'
import type { AnalyticsRange } from '../widgets/types.ts'
import type { ReadScope, StoredDay } from './types.ts'

/** Paths per `WHERE path IN (...)`: well under every driver's bind limit */
export const IN_CHUNK = 500

/** `%part%` for LIKE with `!` as the escape character */
function likePattern(search: string): string {
  return `%${search.toLowerCase().replace(/[!%_]/g, '!$&')}%`
}

/** The smallest string greater than every string starting with `prefix` (code point order) */
function prefixUpperBound(prefix: string): string | null {
  const points = Array.from(prefix)
  const last = points.pop()?.codePointAt(0)
  if (last === undefined || last >= 0x10ffff || (last >= 0xd7ff && last < 0xe000)) return null
  return points.join('') + String.fromCodePoint(last + 1)
}

/**
 * How a path condition is added: to the rows (`whereRaw`) or, on a query
 * grouped by path, to the groups (`havingRaw`, tested once a path)
 */
type PathFilter = 'whereRaw' | 'havingRaw'

/** Hides the paths under the current skip prefixes */
export function notSkipped(scope: ReadScope, query: any, filter: PathFilter = 'whereRaw') {
  for (const prefix of scope.settings.skipPrefixes) {
    query[filter](`substr(path, 1, ${Array.from(prefix).length}) <> ?`, [prefix])
  }
  return query
}

/** Keeps the paths holding `search` (case-insensitive); an empty search keeps all */
export function matching(
  client: QueryClientContract,
  query: any,
  search: string,
  filter: PathFilter = 'whereRaw'
) {
  if (search === '') return query
  /* the column's "C" collation would lower ASCII letters only on PostgreSQL */
  const path = client.dialect.name === 'postgres' ? 'path COLLATE "default"' : 'path'
  return query[filter](`LOWER(${path}) LIKE ? ESCAPE '!'`, [likePattern(search)])
}

/**
 * SQL sums per path over a range, skipped paths hidden, search applied,
 * ranked (views desc, path asc: the path column sorts by code point on
 * every database, as comparePaths does). The path tests run once a path
 * (HAVING), not once a row.
 */
export function rankedSums(scope: ReadScope, range: AnalyticsRange, search: string, limit: number) {
  const query = scope.client
    .from(TRACKING_TABLES.pageViews)
    .whereBetween('date', [range.from, range.to])
    .groupBy('path')
  return matching(scope.client, notSkipped(scope, query, 'havingRaw'), search, 'havingRaw')
    .select('path')
    .sum('views as views')
    .orderByRaw('SUM(views) DESC, path ASC')
    .limit(limit) as Promise<Array<{ path: string; views: unknown }>>
}

/**
 * Page view rows of a range (or the rows of another table by day and path),
 * skipped paths hidden, search applied
 */
export function rangeRows(
  scope: ReadScope,
  range: AnalyticsRange,
  search = '',
  table: string = TRACKING_TABLES.pageViews
) {
  const query = scope.client.from(table).whereBetween('date', [range.from, range.to])
  return matching(scope.client, notSkipped(scope, query), search)
}

/** The stored days of a range: views, unique visitors and sketches */
export async function storedDays(
  client: QueryClientContract,
  range: AnalyticsRange,
  withPaths = false
): Promise<Map<string, StoredDay>> {
  const columns = ['date', 'views', 'unique_visitors', 'visitors_sketch']
  if (withPaths) columns.push('paths_sketch')
  const rows = await client
    .from(TRACKING_TABLES.dailyStats)
    .whereBetween('date', [range.from, range.to])
    .select(columns)
  const out = new Map<string, StoredDay>()
  for (const row of rows) {
    out.set(isoDay(row.date), {
      views: Number(row.views ?? 0),
      uniqueVisitors: Number(row.unique_visitors ?? 0),
      sketch: toBuffer(row.visitors_sketch),
      paths: withPaths ? toBuffer(row.paths_sketch) : null,
    })
  }
  return out
}

/**
 * Queries of the rows of a range under the current skip prefixes, whose
 * results add up: prefixes under another one are dropped, so no row
 * is in two of them. The path column sorts by code point on every
 * database (BINARY, utf8mb4_bin, COLLATE "C", see the migration), so a
 * prefix is a range of the (path, date) index and the cost follows the
 * skipped rows, not the rows of the range; substr keeps the test exact.
 * SQLite gets one query per prefix (its planner scans the range for a
 * long OR), the others one query with an OR of ranges.
 */
export function skippedRows(scope: ReadScope, range: AnalyticsRange): any[] {
  const { client } = scope
  const all = [...new Set(scope.settings.skipPrefixes)]
  const prefixes = all.filter((prefix) => !all.some((o) => o !== prefix && prefix.startsWith(o)))
  if (prefixes.length === 0) return []
  const sqlite = client.dialect.name.includes('sqlite')
  const underPrefix = (query: any, prefix: string) => {
    const upper = prefixUpperBound(prefix)
    if (upper !== null) query.where('path', '>=', prefix).where('path', '<', upper)
    return query.whereRaw(`substr(path, 1, ${Array.from(prefix).length}) = ?`, [prefix])
  }
  const inRange = () => {
    const query = client.from(TRACKING_TABLES.pageViews)
    /* on SQLite, `+date` keeps the planner on the (path, date) index of the prefix range */
    if (sqlite) return query.whereRaw('+date BETWEEN ? AND ?', [range.from, range.to])
    return query.whereBetween('date', [range.from, range.to])
  }
  if (sqlite) return prefixes.map((prefix) => underPrefix(inRange(), prefix))
  return [
    inRange().where((group: any) => {
      for (const prefix of prefixes) group.orWhere((one: any) => underPrefix(one, prefix))
    }),
  ]
}

/** Views of skipped paths per day, to take off the stored day totals */
export async function skippedPerDay(
  scope: ReadScope,
  range: AnalyticsRange
): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (const query of skippedRows(scope, range)) {
    const rows = await query.groupBy('date').select('date').sum('views as views')
    for (const row of rows) {
      const day = isoDay(row.date)
      out.set(day, (out.get(day) ?? 0) + Number(row.views ?? 0))
    }
  }
  return out
}

/**
 * Exact SQL sums over a range of the given paths (skip and search already
 * applied by the caller): their views, or another column of a table by day
 * and path
 */
export async function sumsOf(
  client: QueryClientContract,
  range: AnalyticsRange,
  paths: string[],
  table: string = TRACKING_TABLES.pageViews,
  column = 'views'
): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (let start = 0; start < paths.length; start += IN_CHUNK) {
    const rows = await client
      .from(table)
      .whereBetween('date', [range.from, range.to])
      .whereIn('path', paths.slice(start, start + IN_CHUNK))
      .groupBy('path')
      .select('path')
      .sum(`${column} as views`)
    for (const row of rows) out.set(row.path, Number(row.views ?? 0))
  }
  return out
}
