import type { QueryClientContract, TransactionClientContract } from '@adonisjs/lucid/types/database'
import debug from './debug.ts'
import { resolveDaySelection } from './ranges.ts'
import { PathSketch } from './stores/path_sketch.ts'
import { isoDay, toBuffer, TRACKING_TABLES } from './tables.ts'
import { ensureDayRow, sqlNow } from './sql_writes.ts'

/**
 * What rebuilding needs from Lucid: the `db` service (or any Database)
 */
export interface RebuildDatabase {
  connection(name?: string): QueryClientContract
}

/**
 * Options of rebuildDailyStats
 */
export interface RebuildOptions {
  /** First day to rebuild (YYYY-MM-DD, inclusive) */
  from?: string
  /** Last day to rebuild (YYYY-MM-DD, inclusive) */
  to?: string
  /** Exactly these days (YYYY-MM-DD), instead of from/to (what an import touched) */
  days?: Iterable<string>
  /** Compute what would change without writing */
  dryRun?: boolean
  /** Lucid connection name (default: the app's default connection) */
  connection?: string
}

/**
 * What a rebuild did (or would do, on a dry run)
 */
export interface RebuildSummary {
  /** days looked at: days with page view rows or a daily stats row in the selection */
  days: number
  /** days whose row was written (created, or views / paths sketch corrected) */
  changed: number
  /** views of the looked-at days after the rebuild (sum of their rows) */
  views: number
  /** views the changed days gained (negative when rows were deleted by hand) */
  delta: number
  dryRun: boolean
}

/** Days per `WHERE date IN (...)` */
const DAYS_PER_QUERY = 500

function isLocking(client: QueryClientContract) {
  return client.dialect.name === 'postgres' || client.dialect.name === 'mysql'
}

/** The days of a selection that have page view rows or a daily stats row, oldest first */
async function selectedDays(
  client: QueryClientContract,
  options: RebuildOptions
): Promise<string[]> {
  if (options.days) return [...new Set(options.days)].sort()
  const { from, to } = resolveDaySelection({ from: options.from, to: options.to })
  const days = new Set<string>()
  for (const table of [TRACKING_TABLES.pageViews, TRACKING_TABLES.dailyStats]) {
    const query = client.from(table).distinct('date')
    if (from) query.where('date', '>=', from)
    if (to) query.where('date', '<=', to)
    for (const row of await query) days.add(isoDay(row.date))
  }
  return [...days].sort()
}

/** The day's views total and path sketch, from its page view rows */
async function fromRows(client: QueryClientContract, day: string) {
  const rows = (await client
    .from(TRACKING_TABLES.pageViews)
    .where('date', day)
    .select('path', 'views')) as Array<{ path: string; views: unknown }>
  let views = 0
  const sketch = new PathSketch()
  for (const row of rows) {
    const count = Number(row.views ?? 0)
    if (count === 0) continue
    views += count
    sketch.add(row.path)
  }
  return { views, paths: views === 0 && rows.length === 0 ? null : sketch.toBuffer() }
}

/**
 * Rebuilds one day in its own transaction. The day row is created when
 * missing, then locked (FOR UPDATE on PostgreSQL and MySQL; the write lock
 * on SQLite) before its rows are summed: a flush of the same day locks the
 * same row first, so either it committed before the sum or it waits.
 */
async function rebuildDay(
  client: QueryClientContract,
  day: string,
  dryRun: boolean
): Promise<{ views: number; delta: number; changed: boolean }> {
  const table = TRACKING_TABLES.dailyStats
  const work = async (trx: QueryClientContract) => {
    const query = trx.from(table).where('date', day).select('views', 'paths_sketch')
    if (!dryRun && isLocking(trx)) query.forUpdate()
    const stored = await query.first()
    const computed = await fromRows(trx, day)
    const before = stored ? Number(stored.views ?? 0) : null
    const sketch = stored ? toBuffer(stored.paths_sketch) : null
    const samePaths =
      (computed.paths === null && sketch === null) ||
      (computed.paths !== null && sketch !== null && computed.paths.equals(sketch))
    const changed = before === null || before !== computed.views || !samePaths
    if (changed && !dryRun) {
      if (before === null) {
        await trx
          .insertQuery()
          .table(table)
          .insert({
            date: day,
            views: computed.views,
            unique_visitors: 0,
            paths_sketch: computed.paths,
            updated_at: sqlNow(trx),
          })
      } else {
        await trx
          .from(table)
          .where('date', day)
          .update({ views: computed.views, paths_sketch: computed.paths, updated_at: sqlNow(trx) })
      }
    }
    return { views: computed.views, delta: computed.views - (before ?? 0), changed }
  }
  if (dryRun) return work(client)
  const trx: TransactionClientContract = await client.transaction()
  try {
    /* the row exists before it is locked: an insert of an existing row would wait on the flush too */
    await ensureDayRow(trx, day)
    const outcome = await work(trx)
    await trx.commit()
    return outcome
  } catch (error) {
    if (!trx.isCompleted) await trx.rollback().catch(() => {})
    throw error
  }
}

/**
 * Recomputes tracking_daily_stats from tracking_page_views, for rows that
 * reached the table another way than the flush (copied in, imported):
 *
 * - `views` becomes the sum of the day's page view rows;
 * - `paths_sketch` is recomputed from the day's paths;
 * - `unique_visitors` and `visitors_sketch` are kept as they are (only the
 *   flush sees visitors; a new row gets 0 and no sketch).
 *
 * A day is written only when a figure differs, so a second run changes
 * nothing. Each day is one transaction.
 */
export async function rebuildDailyStats(
  db: RebuildDatabase,
  options: RebuildOptions = {}
): Promise<RebuildSummary> {
  const client = db.connection(options.connection)
  const dryRun = options.dryRun ?? false
  const days = await selectedDays(client, options)
  const summary: RebuildSummary = { days: 0, changed: 0, views: 0, delta: 0, dryRun }
  for (let start = 0; start < days.length; start += DAYS_PER_QUERY) {
    for (const day of days.slice(start, start + DAYS_PER_QUERY)) {
      const outcome = await rebuildDay(client, day, dryRun)
      summary.days++
      summary.views += outcome.views
      if (outcome.changed) {
        summary.changed++
        summary.delta += outcome.delta
      }
    }
  }
  debug('rebuilt %d days (%d changed, %s)', summary.days, summary.changed, dryRun ? 'dry' : 'wet')
  return summary
}
