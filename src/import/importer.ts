import type { QueryClientContract, TransactionClientContract } from '@adonisjs/lucid/types/database'
import debug from '../debug.ts'
import { rebuildDailyStats, type RebuildSummary } from '../rebuild.ts'
import { TRACKING_TABLES } from '../tables.ts'
import { ensureDayRow, isUniqueViolation, sqlNow } from '../sql_writes.ts'
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
}

/** The tracking_imports table is missing: the app has not run the new migration */
export class MissingImportsTableError extends Error {
  constructor() {
    super(
      `the table ${TRACKING_TABLES.imports} is missing: run "node ace configure adonis-tracking" and "node ace migration:run" first`
    )
  }
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
  plan: ImportPlan,
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
 * cannot be unioned across days: the range total sums them (an upper
 * bound), see README "Importing".
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

/**
 * Adds what a plan read to SQL, once: rows in chunks of `chunkSize`, each
 * chunk in one transaction together with its ledger row in
 * tracking_imports (the import id is a hash of the source's bytes), so the
 * same file imported again adds nothing and an interrupted import resumes
 * where it stopped. Then the day totals of the imported days are rebuilt
 * from their rows (src/rebuild.ts).
 */
export async function runImport(
  db: ImportDatabase,
  plan: ImportPlan,
  options: ImportOptions = {}
): Promise<ImportSummary> {
  const client = db.connection(options.connection)
  if (!(await client.schema.hasTable(TRACKING_TABLES.imports))) throw new MissingImportsTableError()
  const dryRun = options.dryRun ?? false
  const size = Math.max(1, Math.floor(options.chunkSize ?? IMPORT_CHUNK_SIZE))
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
  }
  const days = new Set<string>()
  for (let index = 0; index < chunks; index++) {
    const chunk = plan.rows.slice(index * size, (index + 1) * size)
    const views = chunk.reduce((total, row) => total + row.views, 0)
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
    options.onProgress?.(Math.min(plan.rows.length, (index + 1) * size), plan.rows.length)
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
