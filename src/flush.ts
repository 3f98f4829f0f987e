import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { DateTime } from 'luxon'
import type { QueryClientContract, TransactionClientContract } from '@adonisjs/lucid/types/database'
import debug from './debug.ts'
import { E_TRACKING_INVALID_DATE } from './errors.ts'
import type { TakenFlush, TrackingStore } from './stores/types.ts'
import type { TrackingSettings } from './types.ts'

/** Tables written by the flush (see database/migrations) */
export const TRACKING_TABLES = Object.freeze({
  pageViews: 'tracking_page_views',
  dailyStats: 'tracking_daily_stats',
  flushes: 'tracking_flushes',
})

/** Longest path a page view row holds (varchar(500)) */
export const MAX_PATH_LENGTH = 500

/** Rows per multi-row upsert: well under every driver's bind-parameter limit */
const MAX_ROWS_PER_STATEMENT = 1000

/**
 * SQLite gets a multi-row insert as one compound SELECT, and a compound
 * SELECT has at most 500 terms (SQLITE_MAX_COMPOUND_SELECT); 300 rows also
 * stay under the 999 variables of older builds
 */
const MAX_ROWS_PER_SQLITE_STATEMENT = 300

function rowsPerStatement(client: QueryClientContract): number {
  const dialect = client.dialect.name
  return dialect.includes('sqlite') || dialect === 'libsql'
    ? MAX_ROWS_PER_SQLITE_STATEMENT
    : MAX_ROWS_PER_STATEMENT
}

/** Attempts of one flush transaction on deadlocks and busy databases */
const MAX_ATTEMPTS = 6

/**
 * What the flush needs from the manager (the TrackingManager satisfies it)
 */
export interface FlushTarget {
  readonly store: TrackingStore
  readonly settings: Pick<TrackingSettings, 'timezone'>
}

/**
 * What the flush needs from Lucid: the `db` service (or any Database)
 */
export interface FlushDatabase {
  connection(name?: string): QueryClientContract
}

/**
 * Points where a flush can be made to fail, for crash tests. A hook that
 * throws aborts the flush the way a crash would.
 */
export interface FlushHooks {
  /** Inside the transaction, after every count was written, before COMMIT */
  beforeCommit?(flush: TakenFlush): void | Promise<void>
  /** After COMMIT, before the taken-aside keys are deleted from the store */
  afterCommit?(flush: TakenFlush): void | Promise<void>
}

/**
 * Options of flushPageViews
 */
export interface FlushOptions {
  /** Only this day (YYYY-MM-DD) */
  date?: string
  /** First day of a range (inclusive, YYYY-MM-DD) */
  from?: string
  /** Last day of a range (inclusive, YYYY-MM-DD) */
  to?: string
  /** Paths read from the store at once (default 1000) */
  chunkSize?: number
  /** Lucid connection name (default: the app's default connection) */
  connection?: string
  /** Failure injection for tests */
  hooks?: FlushHooks
}

/**
 * What a flush did
 */
export interface FlushSummary {
  /** distinct days that received counts */
  days: number
  /** page view rows upserted (a path counted once per flushed day) */
  paths: number
  /** views added to SQL */
  views: number
  /** taken-aside flushes left by an earlier run that were applied or confirmed */
  recovered: number
}

/**
 * Returns the day when `value` is a real calendar day written YYYY-MM-DD,
 * throws E_TRACKING_INVALID_DATE naming the flag otherwise.
 */
export function parseDay(value: string, flag: string): string {
  const parsed = DateTime.fromFormat(String(value).trim(), 'yyyy-MM-dd', { zone: 'utc' })
  if (!parsed.isValid || parsed.toISODate() !== String(value).trim()) {
    throw new E_TRACKING_INVALID_DATE([flag, String(value)])
  }
  return parsed.toISODate()
}

/**
 * Validates the day selection of a flush: one day, a range (either end may
 * be open) or nothing (every pending day). Flags are named as the caller
 * spells them (`date` or `--date`).
 */
export function resolveDaySelection(
  options: Pick<FlushOptions, 'date' | 'from' | 'to'>,
  flagPrefix = ''
): { date?: string; from?: string; to?: string } {
  const date = options.date ? parseDay(options.date, `${flagPrefix}date`) : undefined
  const from = options.from ? parseDay(options.from, `${flagPrefix}from`) : undefined
  const to = options.to ? parseDay(options.to, `${flagPrefix}to`) : undefined
  if (date && (from || to)) {
    const error = new E_TRACKING_INVALID_DATE([`${flagPrefix}date`, date])
    error.message = `Invalid date for "${flagPrefix}date": cannot be combined with ${flagPrefix}from/${flagPrefix}to`
    throw error
  }
  if (from && to && from > to) {
    const error = new E_TRACKING_INVALID_DATE([`${flagPrefix}from`, from])
    error.message = `Invalid date for "${flagPrefix}from": "${from}" is after ${flagPrefix}to "${to}"`
    throw error
  }
  return { date, from, to }
}

/**
 * A path as SQL may store it: valid UTF-8 (lone surrogates and NUL become
 * U+FFFD), never empty, at most 500 characters (cut, never rejected).
 */
export function sqlPath(path: string): string {
  // eslint-disable-next-line no-control-regex
  let out = path.toWellFormed().replace(/\u0000/g, '\uFFFD')
  if (out.length > MAX_PATH_LENGTH) out = Array.from(out).slice(0, MAX_PATH_LENGTH).join('')
  return out === '' ? '/' : out
}

/**
 * The same row inserted twice in one statement is an error on PostgreSQL
 * ("cannot affect row a second time"): paths that became equal after
 * sqlPath are summed first.
 */
function coalesce(chunk: Array<[string, number]>): Map<string, number> {
  const rows = new Map<string, number>()
  for (const [rawPath, views] of chunk) {
    const count = Number(views)
    if (!Number.isFinite(count) || count === 0) continue
    const path = sqlPath(rawPath)
    rows.set(path, (rows.get(path) ?? 0) + count)
  }
  return rows
}

interface DriverError {
  code?: string
  errno?: number
}

/** The insert hit a primary or unique key (23505, ER_DUP_ENTRY, SQLITE_CONSTRAINT_*) */
function isUniqueViolation(error: unknown): boolean {
  const { code, errno } = (error ?? {}) as DriverError
  return (
    code === '23505' ||
    code === 'ER_DUP_ENTRY' ||
    errno === 1062 ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE'
  )
}

/** The transaction lost a lock race and can be run again as a whole */
function isRetryable(error: unknown): boolean {
  const { code, errno } = (error ?? {}) as DriverError
  return (
    code === '40P01' ||
    code === '40001' ||
    code === 'ER_LOCK_DEADLOCK' ||
    code === 'ER_LOCK_WAIT_TIMEOUT' ||
    errno === 1213 ||
    errno === 1205 ||
    (typeof code === 'string' &&
      (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')))
  )
}

async function withRetry<T>(label: string, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work()
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !isRetryable(error)) throw error
      debug('%s: retrying after %s (attempt %d)', label, (error as DriverError).code, attempt)
      await sleep(10 * 2 ** attempt + Math.floor(Math.random() * 20))
    }
  }
}

/** now, formatted the way the dialect stores timestamps (as Lucid's models do) */
function now(client: QueryClientContract): string {
  return DateTime.now().toFormat(client.dialect.dateTimeFormat)
}

function isMysql(client: QueryClientContract) {
  return client.dialect.name === 'mysql'
}

/**
 * `views = views + <inserted views>` for an upsert on each dialect
 */
function increment(trx: TransactionClientContract, table: string, column: string) {
  return isMysql(trx)
    ? trx.knexRawQuery('?? + VALUES(??)', [column, column])
    : trx.knexRawQuery('?? + ??', [`${table}.${column}`, `excluded.${column}`])
}

async function upsertPageViews(
  trx: TransactionClientContract,
  day: string,
  rows: Map<string, number>
) {
  const table = TRACKING_TABLES.pageViews
  const all = [...rows]
  const perStatement = rowsPerStatement(trx)
  for (let start = 0; start < all.length; start += perStatement) {
    const values = all
      .slice(start, start + perStatement)
      .map(([path, views]) => ({ path, date: day, views }))
    await trx
      .knexQuery()
      .table(table)
      .insert(values)
      .onConflict(['path', 'date'])
      .merge({ views: increment(trx, table, 'views') })
  }
}

async function addDayViews(trx: TransactionClientContract, day: string, views: number) {
  const table = TRACKING_TABLES.dailyStats
  await trx
    .knexQuery()
    .table(table)
    .insert({ date: day, views, unique_visitors: 0, updated_at: now(trx) })
    .onConflict(['date'])
    .merge({ views: increment(trx, table, 'views'), updated_at: now(trx) })
}

type Applied = { applied: true; paths: number; views: number } | { applied: false }

/**
 * Adds what flush `flushId` took aside to SQL, once. The flush id row is
 * inserted first: when it already exists the counts are in SQL (this run
 * recovers a flush that crashed after its commit, or another flusher got
 * there first) and only the store keys are dropped.
 */
async function applyFlush(
  store: TrackingStore,
  client: QueryClientContract,
  flush: TakenFlush,
  options: FlushOptions & { chunkSize: number }
): Promise<Applied> {
  const outcome = await withRetry(`flush ${flush.flushId}`, async (): Promise<Applied> => {
    const trx = await client.transaction()
    try {
      const expected = await store.takenTotal(flush.flushId)
      try {
        await trx
          .insertQuery()
          .table(TRACKING_TABLES.flushes)
          .insert({
            flush_id: flush.flushId,
            day: flush.day,
            views: expected,
            applied_at: now(trx),
          })
      } catch (error) {
        if (!isUniqueViolation(error)) throw error
        await trx.rollback()
        debug('flush %s was applied already', flush.flushId)
        return { applied: false }
      }

      /* the day row first: flushes of one day queue here, not on page rows in random order */
      await addDayViews(trx, flush.day, expected)

      let paths = 0
      let views = 0
      for await (const chunk of store.readTaken(flush.flushId, options.chunkSize)) {
        const rows = coalesce(chunk)
        await upsertPageViews(trx, flush.day, rows)
        paths += rows.size
        for (const count of rows.values()) views += count
      }

      /* the paths are what the rows received; a total key that disagrees is corrected */
      if (views !== expected) {
        debug('flush %s: total key said %d, paths sum to %d', flush.flushId, expected, views)
        await addDayViews(trx, flush.day, views - expected)
        await trx.from(TRACKING_TABLES.flushes).where('flush_id', flush.flushId).update({ views })
      }

      await options.hooks?.beforeCommit?.(flush)
      await trx.commit()
      return { applied: true, paths, views }
    } catch (error) {
      if (!trx.isCompleted) await trx.rollback().catch(() => {})
      throw error
    }
  })

  if (outcome.applied) await options.hooks?.afterCommit?.(flush)
  await store.dropTaken(flush.flushId)
  return outcome
}

/**
 * Unions the day's live visitors into the stored HyperLogLog and stores the
 * count. The row is touched first so two flushers merge one after the other
 * (a row lock on PostgreSQL/MySQL, the write lock on SQLite).
 */
async function mergeVisitors(store: TrackingStore, client: QueryClientContract, day: string) {
  const table = TRACKING_TABLES.dailyStats
  await withRetry(`visitors ${day}`, async () => {
    const trx = await client.transaction()
    try {
      await trx
        .from(table)
        .where('date', day)
        .update({ updated_at: now(trx) })
      const row = await trx
        .from(table)
        .where('date', day)
        .select('visitors_sketch', 'unique_visitors')
        .first()
      if (!row) {
        await trx.rollback()
        return
      }
      const stored = row.visitors_sketch ? Buffer.from(row.visitors_sketch) : null
      const merged = await store.mergeSketch(day, stored, Number(row.unique_visitors ?? 0))
      const update: Record<string, unknown> = { unique_visitors: merged.count }
      if (merged.sketch) update.visitors_sketch = merged.sketch
      await trx.from(table).where('date', day).update(update)
      await trx.commit()
    } catch (error) {
      if (!trx.isCompleted) await trx.rollback().catch(() => {})
      throw error
    }
  })
}

/**
 * Moves live page view counts from the store into SQL, exactly once.
 *
 * 1. Recovers every flush an earlier (crashed or concurrent) run took aside
 *    and did not confirm.
 * 2. For every day to flush, takes the day's live keys aside under a new
 *    flush id and adds them to SQL in one transaction that also records the
 *    flush id, then deletes them.
 * 3. Unions each flushed day's visitors into the stored HyperLogLog.
 */
export async function flushPageViews(
  target: FlushTarget,
  db: FlushDatabase,
  options: FlushOptions = {}
): Promise<FlushSummary> {
  const { date, from, to } = resolveDaySelection(options)
  const chunkSize = Math.max(1, Math.floor(options.chunkSize ?? 1000))
  const settings = { ...options, chunkSize }
  const store = target.store
  const client = db.connection(options.connection)
  const summary: FlushSummary = { days: 0, paths: 0, views: 0, recovered: 0 }
  const touchedDays = new Set<string>()

  const record = (flush: TakenFlush, outcome: Applied) => {
    if (!outcome.applied) return
    touchedDays.add(flush.day)
    summary.paths += outcome.paths
    summary.views += outcome.views
  }

  for (const flush of await store.takenFlushes()) {
    debug('recovering flush %s of %s', flush.flushId, flush.day)
    record(flush, await applyFlush(store, client, flush, settings))
    summary.recovered++
  }

  let days: string[]
  if (date) {
    days = [date]
  } else {
    const pending = await store.pendingDays()
    days = pending.filter((day) => (!from || day >= from) && (!to || day <= to))
  }

  for (const day of days) {
    const flush = { flushId: randomUUID(), day }
    if (!(await store.takeAside(day, flush.flushId))) continue
    record(flush, await applyFlush(store, client, flush, settings))
  }

  for (const day of [...touchedDays].sort()) await mergeVisitors(store, client, day)

  summary.days = touchedDays.size
  debug(
    'flushed %d views, %d paths, %d days (%d recovered)',
    summary.views,
    summary.paths,
    summary.days,
    summary.recovered
  )
  return summary
}
