import type { QueryClientContract, TransactionClientContract } from '@adonisjs/lucid/types/database'
import debug from '../debug.ts'
import { rebuildDailyStats, type RebuildSummary } from '../rebuild.ts'
import { isoDay, TRACKING_TABLES } from '../tables.ts'
import { ensureDayRow, isUniqueViolation, sqlNow } from '../sql_writes.ts'
import { DEFAULT_MAX_VALUES_PER_DIMENSION, OTHER_VALUE } from '../dimensions/names.ts'
import type { DimensionFilePlan, DimensionImportRow } from './plausible_dimensions.ts'
import type { ImportPlan, ImportRow } from './sources.ts'

/** Rows per chunk: one transaction and one ledger row each */
export const IMPORT_CHUNK_SIZE = 1000

/** Rows per multi-row upsert statement (3 bind parameters a row) */
const ROWS_PER_STATEMENT = 500

/** The ledger chunk number of an import's daily unique visitors */
export const VISITORS_CHUNK = -1

/**
 * What the importer needs from Lucid: the `db` service (or any Database)
 */
export interface ImportDatabase {
  connection(name?: string): QueryClientContract
}

/**
 * Options of runImport
 */
export interface ImportOptions {
  /** Read and compare with the ledger, write nothing */
  dryRun?: boolean
  /** Lucid connection name (default: the app's default connection) */
  connection?: string
  /** Rows per chunk (default 1,000); the same file must be imported with the same size */
  chunkSize?: number
  /**
   * Distinct values a dimension keeps per day (the app's
   * `maxValuesPerDimension`, default 1,000): counting the values a day has
   * in SQL already, the file's later new values go to `(other)`
   */
  maxValuesPerDimension?: number
  /** Called after every chunk with the rows done so far and the rows in all */
  onProgress?(done: number, total: number): void
}

/**
 * What an import did (or would do, on a dry run)
 */
export interface ImportSummary {
  importId: string
  dryRun: boolean
  /** good rows of the source */
  rows: number
  /** rows of chunks added by this run (or that a dry run would add) */
  added: number
  /** views added (or that would be added) */
  views: number
  /** days that received views (or would) */
  days: number
  /** chunks of the source, and how many an earlier run had added already */
  chunks: number
  alreadyImported: number
  /** days whose unique visitors were added (or would be) */
  visitorDays: number
  /** the rebuild of the source's days' totals (null on a dry run or for an empty source) */
  rebuild: RebuildSummary | null
  /** dimension files of the source (Plausible's sources, browsers, ...) and their rows */
  dimensionFiles: number
  dimensionRows: number
  /** dimension rows added by this run (or that a dry run would add) */
  dimensionAdded: number
  /** dimension rows whose chunk an earlier run had added already */
  dimensionAlreadyImported: number
}

/** A table the import writes is missing: the app has not run the migration that makes it */
export class MissingImportsTableError extends Error {
  constructor(table: string = TRACKING_TABLES.imports) {
    super(
      `the table ${table} is missing: run "node ace configure adonis-tracking" and "node ace migration:run" first`
    )
  }
}

/** Who a ledger row of tracking_imports belongs to */
interface LedgerEntry {
  importId: string
  source: string
  name: string
}

function isMysql(client: QueryClientContract) {
  return client.dialect.name === 'mysql'
}

/** Rows of a chunk summed per (day, path): one row may not be upserted twice in a statement */
function coalesce(chunk: ImportRow[]): Map<string, { day: string; path: string; views: number }> {
  const out = new Map<string, { day: string; path: string; views: number }>()
  for (const row of chunk) {
    if (row.views === 0) continue
    const key = `${row.day}\u0000${row.path}`
    const seen = out.get(key)
    if (seen) seen.views += row.views
    else out.set(key, { day: row.day, path: row.path, views: row.views })
  }
  return out
}

/** Adds rows to tracking_page_views (`views = views + n`) */
async function addPageViews(
  trx: TransactionClientContract,
  rows: Array<{ day: string; path: string; views: number }>
) {
  const table = TRACKING_TABLES.pageViews
  const sum = isMysql(trx)
    ? trx.knexRawQuery('?? + VALUES(??)', ['views', 'views'])
    : trx.knexRawQuery('?? + ??', [`${table}.views`, 'excluded.views'])
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
    await trx
      .knexQuery()
      .table(table)
      .insert(
        rows
          .slice(start, start + ROWS_PER_STATEMENT)
          .map((row) => ({ path: row.path, date: row.day, views: row.views }))
      )
      .onConflict(['path', 'date'])
      .merge({ views: sum })
  }
}

/**
 * Inserts the chunk's ledger row, then runs `work` in the same
 * transaction; false (and nothing written) when the chunk was added before
 */
async function applyOnce(
  client: QueryClientContract,
  plan: LedgerEntry,
  chunk: number,
  figures: { rows: number; views: number },
  work: (trx: TransactionClientContract) => Promise<void>
): Promise<boolean> {
  const trx = await client.transaction()
  try {
    try {
      await trx
        .insertQuery()
        .table(TRACKING_TABLES.imports)
        .insert({
          import_id: plan.importId,
          chunk,
          source: plan.source,
          name: plan.name.slice(-255),
          rows: figures.rows,
          views: figures.views,
          imported_at: sqlNow(trx),
        })
    } catch (error) {
      if (!isUniqueViolation(error)) throw error
      await trx.rollback()
      return false
    }
    await work(trx)
    await trx.commit()
    return true
  } catch (error) {
    if (!trx.isCompleted) await trx.rollback().catch(() => {})
    throw error
  }
}

/**
 * Adds the unique visitors a source counted per day to days that have no
 * visitor sketch (a day the flush wrote keeps its own count). Such counts
 * cannot be unioned across days: a range over several of them is shown as
 * "at least" / "up to" (src/read/visitors.ts), see README "Importing history".
 */
async function addVisitors(trx: TransactionClientContract, visitors: Map<string, number>) {
  const table = TRACKING_TABLES.dailyStats
  for (const [day, count] of [...visitors].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (count <= 0) continue
    await ensureDayRow(trx, day)
    await trx
      .from(table)
      .where('date', day)
      .whereNull('visitors_sketch')
      .increment('unique_visitors', count)
  }
}

/** `unique_visitors + n` on rows without a sketch; a row the flush wrote keeps its own count */
function addDailyVisitors(trx: TransactionClientContract, table: string) {
  return isMysql(trx)
    ? trx.knexRawQuery('CASE WHEN ?? IS NULL THEN ?? + VALUES(??) ELSE ?? END', [
        'visitors_sketch',
        'unique_visitors',
        'unique_visitors',
        'unique_visitors',
      ])
    : trx.knexRawQuery('CASE WHEN ?? IS NULL THEN ?? + ?? ELSE ?? END', [
        `${table}.visitors_sketch`,
        `${table}.unique_visitors`,
        'excluded.unique_visitors',
        `${table}.unique_visitors`,
      ])
}

/**
 * Adds a chunk of dimension rows to tracking_dimension_stats: views added,
 * the file's daily visitors added to rows that have no sketch (they stay
 * without one: not mergeable across days, as the days' imported visitors).
 * The days' rows of tracking_daily_stats are locked first, as the flush
 * locks its day before its dimension rows, so the two queue instead of
 * deadlocking. A value the day does not have yet, once the day has
 * `cap` values of the dimension in SQL, is added to `(other)`.
 */
async function addDimensionRows(
  trx: TransactionClientContract,
  rows: DimensionImportRow[],
  cap: number
) {
  const table = TRACKING_TABLES.dimensionStats
  const days = [...new Set(rows.map((row) => row.day))].sort()
  for (const day of days) await ensureDayRow(trx, day)
  if (trx.dialect.name === 'postgres' || isMysql(trx)) {
    await trx
      .from(TRACKING_TABLES.dailyStats)
      .whereIn('date', days)
      .orderBy('date')
      .select('date')
      .forUpdate()
  }
  const dimensions = [...new Set(rows.map((row) => row.dimension))]
  const stored = new Map<string, Set<string>>()
  const existing = (await trx
    .from(table)
    .whereIn('date', days)
    .whereIn('dimension', dimensions)
    .select('date', 'dimension', 'value')) as Array<{
    date: unknown
    dimension: string
    value: string
  }>
  for (const row of existing) {
    const key = `${isoDay(row.date)}\u0000${row.dimension}`
    let values = stored.get(key)
    if (!values) stored.set(key, (values = new Set()))
    values.add(row.value)
  }
  const out = new Map<
    string,
    { date: string; dimension: string; value: string; views: number; unique_visitors: number }
  >()
  for (const row of rows) {
    const key = `${row.day}\u0000${row.dimension}`
    let values = stored.get(key)
    if (!values) stored.set(key, (values = new Set()))
    let value = row.value
    if (!values.has(value) && value !== OTHER_VALUE) {
      const kept = values.size - (values.has(OTHER_VALUE) ? 1 : 0)
      if (kept >= cap) value = OTHER_VALUE
      else values.add(value)
    }
    const rowKey = `${key}\u0000${value}`
    const sum = out.get(rowKey)
    if (sum) {
      sum.views += row.views
      sum.unique_visitors += row.visitors
    } else {
      out.set(rowKey, {
        date: row.day,
        dimension: row.dimension,
        value,
        views: row.views,
        unique_visitors: row.visitors,
      })
    }
  }
  const values = [...out.values()]
  for (let start = 0; start < values.length; start += ROWS_PER_STATEMENT) {
    await trx
      .knexQuery()
      .table(table)
      .insert(values.slice(start, start + ROWS_PER_STATEMENT))
      .onConflict(['date', 'dimension', 'value'])
      .merge({
        views: isMysql(trx)
          ? trx.knexRawQuery('?? + VALUES(??)', ['views', 'views'])
          : trx.knexRawQuery('?? + ??', [`${table}.views`, 'excluded.views']),
        unique_visitors: addDailyVisitors(trx, table),
      })
  }
}

/** What importing the dimension files of a plan did, or would do */
async function importDimensionFiles(
  client: QueryClientContract,
  plan: ImportPlan,
  options: { dryRun: boolean; size: number; cap: number; onChunk(rows: number): void }
): Promise<{ added: number; alreadyImported: number }> {
  const outcome = { added: 0, alreadyImported: 0 }
  for (const file of plan.dimensionFiles) {
    const ledger = await client
      .from(TRACKING_TABLES.imports)
      .where('import_id', file.importId)
      .select('chunk')
    const applied = new Set<number>(ledger.map((row) => Number(row.chunk)))
    const entry: LedgerEntry = {
      importId: file.importId,
      source: plan.source,
      name: ledgerName(plan, file),
    }
    const chunks = Math.ceil(file.rows.length / options.size)
    for (let index = 0; index < chunks; index++) {
      const chunk = file.rows.slice(index * options.size, (index + 1) * options.size)
      const views = chunk.reduce((total, row) => total + row.views, 0)
      const done = applied.has(index)
        ? false
        : options.dryRun
          ? true
          : await applyOnce(client, entry, index, { rows: chunk.length, views }, (trx) =>
              addDimensionRows(trx, chunk, options.cap)
            )
      if (done) outcome.added += chunk.length
      else outcome.alreadyImported += chunk.length
      options.onChunk(chunk.length)
    }
  }
  return outcome
}

/** The name a dimension file's ledger rows keep: the file within the directory given */
function ledgerName(plan: ImportPlan, file: DimensionFilePlan): string {
  return plan.name.endsWith(file.file) ? plan.name : `${plan.name.replace(/\/+$/, '')}/${file.file}`
}

/**
 * Adds what a plan read to SQL, once: rows in chunks of `chunkSize`, each
 * chunk in one transaction together with its ledger row in
 * tracking_imports (the import id is a hash of the source's bytes), so the
 * same file imported again adds nothing and an interrupted import resumes
 * where it stopped. Then the day totals of the imported days are rebuilt
 * from their rows (src/rebuild.ts). Dimension files (a Plausible export's
 * sources, browsers, ...) are imports of their own, chunked the same way.
 */
export async function runImport(
  db: ImportDatabase,
  plan: ImportPlan,
  options: ImportOptions = {}
): Promise<ImportSummary> {
  const client = db.connection(options.connection)
  if (!(await client.schema.hasTable(TRACKING_TABLES.imports))) throw new MissingImportsTableError()
  const dimensionRows = plan.dimensionFiles.reduce((total, file) => total + file.rows.length, 0)
  if (dimensionRows > 0 && !(await client.schema.hasTable(TRACKING_TABLES.dimensionStats))) {
    throw new MissingImportsTableError(TRACKING_TABLES.dimensionStats)
  }
  const dryRun = options.dryRun ?? false
  const size = Math.max(1, Math.floor(options.chunkSize ?? IMPORT_CHUNK_SIZE))
  const cap = Math.max(
    1,
    Math.floor(options.maxValuesPerDimension ?? DEFAULT_MAX_VALUES_PER_DIMENSION)
  )
  const chunks = Math.ceil(plan.rows.length / size)
  const ledger = await client
    .from(TRACKING_TABLES.imports)
    .where('import_id', plan.importId)
    .select('chunk')
  const applied = new Set<number>(ledger.map((row) => Number(row.chunk)))
  const summary: ImportSummary = {
    importId: plan.importId,
    dryRun,
    rows: plan.rows.length,
    added: 0,
    views: 0,
    days: 0,
    chunks,
    alreadyImported: 0,
    visitorDays: 0,
    rebuild: null,
    dimensionFiles: plan.dimensionFiles.length,
    dimensionRows,
    dimensionAdded: 0,
    dimensionAlreadyImported: 0,
  }
  const total = plan.rows.length + dimensionRows
  const days = new Set<string>()
  for (let index = 0; index < chunks; index++) {
    const chunk = plan.rows.slice(index * size, (index + 1) * size)
    const views = chunk.reduce((sum, row) => sum + row.views, 0)
    const done = applied.has(index)
      ? false
      : dryRun
        ? true
        : await applyOnce(client, plan, index, { rows: chunk.length, views }, (trx) =>
            addPageViews(trx, [...coalesce(chunk).values()])
          )
    if (done) {
      summary.added += chunk.length
      summary.views += views
      for (const row of chunk) if (row.views > 0) days.add(row.day)
    } else {
      summary.alreadyImported++
    }
    options.onProgress?.(Math.min(plan.rows.length, (index + 1) * size), total)
  }
  const visitorDays = [...plan.visitors].filter(([, count]) => count > 0).length
  if (visitorDays > 0 && !applied.has(VISITORS_CHUNK)) {
    const added =
      dryRun ||
      (await applyOnce(client, plan, VISITORS_CHUNK, { rows: visitorDays, views: 0 }, (trx) =>
        addVisitors(trx, plan.visitors)
      ))
    if (added) {
      summary.visitorDays = visitorDays
      for (const [day, count] of plan.visitors) if (count > 0) days.add(day)
    }
  }
  let done = plan.rows.length
  const dimensions = await importDimensionFiles(client, plan, {
    dryRun,
    size,
    cap,
    onChunk: (rows) => {
      done += rows
      options.onProgress?.(done, total)
    },
  })
  summary.dimensionAdded = dimensions.added
  summary.dimensionAlreadyImported = dimensions.alreadyImported
  summary.days = days.size
  if (!dryRun) {
    /* every day of the source, not only this run's: a run that stopped before its rebuild is completed */
    const all = new Set(plan.rows.map((row) => row.day))
    for (const day of plan.visitors.keys()) all.add(day)
    if (all.size > 0) {
      summary.rebuild = await rebuildDailyStats(db, { days: all, connection: options.connection })
    }
  }
  debug('import %s: %o', plan.importId, summary)
  return summary
}
