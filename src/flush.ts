import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { QueryClientContract, TransactionClientContract } from '@adonisjs/lucid/types/database'
import debug from './debug.ts'
import { resolveDaySelection } from './ranges.ts'
import { parseDimensionKey, storedDimensionValue } from './stores/batch.ts'
import { MAX_EVENT_VALUE_LENGTH, MAX_VALUE_LENGTH, maxValueLength } from './dimensions/names.ts'
import { PathSketch } from './stores/path_sketch.ts'
import { RedisHll } from './stores/redis_hll.ts'
import type {
  StoreFlusher,
  TakenDimension,
  TakenFlush,
  TrackingStore,
  VisitCounts,
} from './stores/types.ts'
import type { TrackingSettings } from './types.ts'
import { MAX_PATH_LENGTH, sqlPath, TRACKING_TABLES, VISIT_TABLES } from './tables.ts'
import { isUniqueViolation, sqlNow, type DriverError } from './sql_writes.ts'

/* kept here too for the `./flush` entry point and its callers */
export { MAX_PATH_LENGTH, sqlPath, TRACKING_TABLES }
export { parseDay, resolveDaySelection } from './ranges.ts'

/**
 * Rows per multi-row upsert on MySQL: 3 bind parameters a row, well under
 * its 65,535 placeholders and a default max_allowed_packet
 */
const MAX_ROWS_PER_MYSQL_STATEMENT = 5000

/** Paths read from the store at once, and upserted by one statement on PostgreSQL and SQLite */
const DEFAULT_CHUNK_SIZE = 5000

/**
 * Dimension rows read from the store and upserted at once: each carries a
 * visitor sketch of up to 12 KB, so a chunk stays within a few MB (the stored
 * sketches read back for the merge included), and 6 bind parameters a row
 * stay far below every database's limit
 */
const DIMENSION_CHUNK_SIZE = 500

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
  /** Paths read from the store at once (default 5,000) */
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
  /** distinct page view rows upserted (a SQL path counted once per flushed day and flush) */
  paths: number
  /** views added to SQL */
  views: number
  /** taken-aside flushes left by an earlier run that were applied or confirmed */
  recovered: number
}

/**
 * Whether another raw path may end up as this SQL path too: sqlPath only
 * changes a path into `/`, one holding U+FFFD or one of exactly 500 code
 * points, so only such paths can meet again in a later chunk
 */
function mayCollide(path: string): boolean {
  return (
    path === '/' ||
    path.includes('\uFFFD') ||
    (path.length >= MAX_PATH_LENGTH && Array.from(path).length === MAX_PATH_LENGTH)
  )
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

/**
 * Adds a chunk of rows to the day's page views. PostgreSQL and SQLite get
 * the whole chunk in one statement with a fixed number of parameters (two
 * arrays, one JSON text): short to parse and never near a bind-parameter
 * limit, whatever the chunk size. MySQL gets multi-row inserts.
 */
async function upsertPageViews(
  trx: TransactionClientContract,
  day: string,
  rows: Map<string, number>
) {
  if (rows.size === 0) return
  const table = TRACKING_TABLES.pageViews
  const dialect = trx.dialect.name
  if (dialect === 'postgres') {
    await trx.rawQuery(
      `INSERT INTO ${table} (path, date, views)
       SELECT path, ?::date, views FROM unnest(?::text[], ?::bigint[]) AS chunk(path, views)
       ON CONFLICT (path, date) DO UPDATE SET views = ${table}.views + excluded.views`,
      [day, [...rows.keys()], [...rows.values()]]
    )
    return
  }
  if (dialect.includes('sqlite')) {
    /* `WHERE true` tells SQLite's parser that ON CONFLICT is the upsert clause, not a join's */
    await trx.rawQuery(
      `INSERT INTO ${table} (path, date, views)
       SELECT json_extract(value, '$[0]'), ?, json_extract(value, '$[1]') FROM json_each(?) WHERE true
       ON CONFLICT (path, date) DO UPDATE SET views = ${table}.views + excluded.views`,
      [day, JSON.stringify([...rows])]
    )
    return
  }
  const all = [...rows]
  for (let start = 0; start < all.length; start += MAX_ROWS_PER_MYSQL_STATEMENT) {
    const values = all
      .slice(start, start + MAX_ROWS_PER_MYSQL_STATEMENT)
      .map(([path, views]) => ({ path, date: day, views }))
    await trx
      .knexQuery()
      .table(table)
      .insert(values)
      .onConflict(['path', 'date'])
      .merge({ views: increment(trx, table, 'views') })
  }
}

/**
 * Unions the paths of a flush into the day's stored path sketch. The day
 * row is already locked by addDayViews in the same transaction, so the
 * read-merge-write of two flushers of one day cannot interleave.
 */
async function mergePaths(trx: TransactionClientContract, day: string, paths: PathSketch) {
  const table = TRACKING_TABLES.dailyStats
  const query = trx.from(table).where('date', day).select('paths_sketch')
  if (trx.dialect.name === 'postgres' || isMysql(trx)) query.forUpdate()
  const row = await query.first()
  const stored = row?.paths_sketch
  /* bytes that are not a sketch are replaced: the selector recounts such days from the rows */
  if (stored && stored.length > 0) paths.merge(Buffer.from(stored))
  await trx.from(table).where('date', day).update({ paths_sketch: paths.toBuffer() })
}

async function addDayViews(trx: TransactionClientContract, day: string, views: number) {
  const table = TRACKING_TABLES.dailyStats
  await trx
    .knexQuery()
    .table(table)
    .insert({ date: day, views, unique_visitors: 0, updated_at: sqlNow(trx) })
    .onConflict(['date'])
    .merge({ views: increment(trx, table, 'views'), updated_at: sqlNow(trx) })
}

/** One tracking_dimension_stats row of a chunk: what the flush adds to it */
interface DimensionRow {
  dimension: string
  value: string
  views: number
  sketch: RedisHll | null
}

/**
 * Rows of a chunk keyed by (dimension, stored value): values the store kept
 * apart that SQL would take for one are summed, their sketches unioned (a
 * row inserted twice in one statement is an error on PostgreSQL)
 */
function dimensionRows(
  chunk: TakenDimension[],
  flushId: string,
  width: number
): Map<string, DimensionRow> {
  const rows = new Map<string, DimensionRow>()
  for (const taken of chunk) {
    const value = storedDimensionValue(
      taken.value,
      Math.min(width, maxValueLength(taken.dimension))
    )
    const views = Number(taken.views)
    if (value === null || !Number.isFinite(views)) continue
    let sketch = taken.sketch ? RedisHll.fromBuffer(taken.sketch) : null
    if (taken.sketch && !sketch)
      debug('flush %s: %s:%s has no valid sketch', flushId, taken.dimension, value)
    const key = `${taken.dimension}\u0000${value}`
    const row = rows.get(key)
    if (!row) {
      rows.set(key, { dimension: taken.dimension, value, views, sketch })
      continue
    }
    row.views += views
    if (sketch && row.sketch) row.sketch.mergeFrom(sketch)
    else if (sketch) row.sketch = sketch
  }
  return rows
}

/**
 * Adds a chunk of taken dimension counts to the day's rows: views are
 * added, the taken visitors unioned into the stored sketch (the row is read
 * FOR UPDATE on PostgreSQL and MySQL; the day row addDayViews locked already
 * queues flushers of one day, and on SQLite the transaction holds the write
 * lock) and unique_visitors is the count of the union.
 */
async function upsertDimensions(
  trx: TransactionClientContract,
  day: string,
  rows: Map<string, DimensionRow>
): Promise<number> {
  if (rows.size === 0) return 0
  const table = TRACKING_TABLES.dimensionStats
  const byDimension = new Map<string, string[]>()
  for (const row of rows.values()) {
    let values = byDimension.get(row.dimension)
    if (!values) byDimension.set(row.dimension, (values = []))
    values.push(row.value)
  }
  const query = trx
    .from(table)
    .where('date', day)
    .where((where) => {
      for (const [dimension, values] of byDimension) {
        where.orWhere((one) => one.where('dimension', dimension).whereIn('value', values))
      }
    })
    .select('dimension', 'value', 'unique_visitors', 'visitors_sketch')
  if (trx.dialect.name === 'postgres' || isMysql(trx)) query.forUpdate()
  const stored = new Map<string, { count: number; sketch: Buffer | null }>()
  for (const row of await query) {
    stored.set(`${row.dimension}\u0000${row.value}`, {
      count: Number(row.unique_visitors ?? 0),
      sketch: row.visitors_sketch ? Buffer.from(row.visitors_sketch) : null,
    })
  }
  const values = []
  for (const [key, row] of rows) {
    const before = stored.get(key)
    let sketch: Buffer | null = before?.sketch ?? null
    let count = before?.count ?? 0
    if (row.sketch) {
      /* bytes that are not a sketch are replaced by the taken visitors */
      const merged = (before?.sketch && RedisHll.fromBuffer(before.sketch)) || null
      if (merged) merged.mergeFrom(row.sketch)
      const result = merged ?? row.sketch
      count = result.count()
      sketch = result.toBuffer()
    }
    values.push({
      date: day,
      dimension: row.dimension,
      value: row.value,
      views: row.views,
      unique_visitors: count,
      visitors_sketch: sketch,
    })
  }
  for (let start = 0; start < values.length; start += DIMENSION_CHUNK_SIZE) {
    await trx
      .knexQuery()
      .table(table)
      .insert(values.slice(start, start + DIMENSION_CHUNK_SIZE))
      .onConflict(['date', 'dimension', 'value'])
      .merge({
        views: increment(trx, table, 'views'),
        unique_visitors: excluded(trx, 'unique_visitors'),
        visitors_sketch: excluded(trx, 'visitors_sketch'),
      })
  }
  return values.length
}

/** The inserted value of a column in an upsert's update clause */
function excluded(trx: TransactionClientContract, column: string) {
  return isMysql(trx)
    ? trx.knexRawQuery('VALUES(??)', [column])
    : trx.knexRawQuery('??', [`excluded.${column}`])
}

/** Rows of a visit table upserted by one statement (at most 6 bind parameters a row) */
const VISIT_CHUNK_SIZE = 500

/** Inserts rows in chunks, adding to the given columns of the rows that exist */
async function upsertAdding(
  trx: TransactionClientContract,
  table: string,
  keys: string[],
  columns: string[],
  rows: Array<Record<string, unknown>>
) {
  const merge = Object.fromEntries(columns.map((column) => [column, increment(trx, table, column)]))
  for (let start = 0; start < rows.length; start += VISIT_CHUNK_SIZE) {
    await trx
      .knexQuery()
      .table(table)
      .insert(rows.slice(start, start + VISIT_CHUNK_SIZE))
      .onConflict(keys)
      .merge(merge)
  }
}

/**
 * Adds the visit figures a flush took aside (by start day) to SQL: the
 * day's totals, its duration buckets, entries and exits per path (paths as
 * SQL stores them, coalesced) and visits per source and channel. Negative
 * deltas (a bounce taken back, an exit moved after an earlier flush) are
 * added like the rest.
 */
async function upsertVisits(trx: TransactionClientContract, day: string, counts: VisitCounts) {
  const { visitStats, visitDurations, visitPages, visitSources } = TRACKING_TABLES
  if (counts.visits || counts.views || counts.bounces || counts.duration) {
    await upsertAdding(
      trx,
      visitStats,
      ['date'],
      ['visits', 'views', 'bounces', 'duration_seconds'],
      [
        {
          date: day,
          visits: counts.visits,
          views: counts.views,
          bounces: counts.bounces,
          duration_seconds: counts.duration,
        },
      ]
    )
  }
  const durations = [...counts.durations]
    .filter(([, bucket]) => bucket.visits !== 0 || bucket.seconds !== 0)
    .map(([bucket, { visits, seconds }]) => ({
      date: day,
      bucket,
      visits,
      duration_seconds: seconds,
    }))
  await upsertAdding(
    trx,
    visitDurations,
    ['date', 'bucket'],
    ['visits', 'duration_seconds'],
    durations
  )

  const pages = new Map<string, { entries: number; exits: number }>()
  const page = (path: string) => {
    const stored = sqlPath(path)
    let row = pages.get(stored)
    if (!row) pages.set(stored, (row = { entries: 0, exits: 0 }))
    return row
  }
  for (const [path, n] of counts.entries) page(path).entries += n
  for (const [path, n] of counts.exits) page(path).exits += n
  await upsertAdding(
    trx,
    visitPages,
    ['date', 'path'],
    ['entries', 'exits'],
    [...pages]
      .filter(([, row]) => row.entries !== 0 || row.exits !== 0)
      .map(([path, row]) => ({ date: day, path, ...row }))
  )

  const sources = new Map<string, { dimension: string; value: string; visits: number }>()
  for (const [key, n] of counts.sources) {
    const parsed = parseDimensionKey(key)
    if (parsed === null || n === 0) continue
    const id = `${parsed[0]}\u0000${parsed[1]}`
    const row = sources.get(id)
    if (row) row.visits += n
    else sources.set(id, { dimension: parsed[0], value: parsed[1], visits: n })
  }
  await upsertAdding(
    trx,
    visitSources,
    ['date', 'dimension', 'value'],
    ['visits'],
    [...sources.values()].map((row) => ({ date: day, ...row }))
  )
}

/**
 * Unions the live unique-visitor sketches of some paths of a day (those of
 * a chunk of the flush's views: a path's sketch only changes with its
 * views) into their SQL rows, and stores the count of each union. The
 * rows are read FOR UPDATE on PostgreSQL and MySQL (the day row locked by
 * addDayViews queues flushers of one day already; SQLite's transaction
 * holds the write lock). A union is idempotent: the live sketches stay in
 * the store until their TTL, and a flush run again changes nothing.
 */
async function mergePageVisitors(
  trx: TransactionClientContract,
  store: StoreFlusher,
  day: string,
  rawPaths: string[]
) {
  const live = await store.pageVisitorSketches(day, rawPaths)
  if (live.size === 0) return
  const sketches = new Map<string, RedisHll>()
  for (const [raw, bytes] of live) {
    const sketch = RedisHll.fromBuffer(bytes)
    if (!sketch) continue
    const path = sqlPath(raw)
    const held = sketches.get(path)
    if (held) held.mergeFrom(sketch)
    else sketches.set(path, sketch)
  }
  const table = TRACKING_TABLES.pageVisitors
  const paths = [...sketches.keys()]
  for (let start = 0; start < paths.length; start += VISIT_CHUNK_SIZE) {
    const chunk = paths.slice(start, start + VISIT_CHUNK_SIZE)
    const query = trx
      .from(table)
      .where('date', day)
      .whereIn('path', chunk)
      .select('path', 'visitors_sketch')
    if (trx.dialect.name === 'postgres' || isMysql(trx)) query.forUpdate()
    const stored = new Map<string, Buffer>()
    for (const row of await query) {
      if (row.visitors_sketch) stored.set(row.path, Buffer.from(row.visitors_sketch))
    }
    const rows = chunk.map((path) => {
      const sketch = sketches.get(path)!
      /* bytes that are not a sketch are replaced by the live visitors */
      const before = RedisHll.fromBuffer(stored.get(path) ?? null)
      if (before) sketch.mergeFrom(before)
      return { date: day, path, visitors: sketch.count(), visitors_sketch: sketch.toBuffer() }
    })
    await trx
      .knexQuery()
      .table(table)
      .insert(rows)
      .onConflict(['path', 'date'])
      .merge({
        visitors: excluded(trx, 'visitors'),
        visitors_sketch: excluded(trx, 'visitors_sketch'),
      })
  }
}

let missingVisitTablesWarned = false

/**
 * Whether the database has the visit tables (tracking_visit_*; asked once
 * per flush). Without them page views and dimensions still flush; the
 * visit figures stay live in the store (bounded, with the store's TTL)
 * until the tables exist. Warns once per process, naming the two commands.
 */
async function hasVisitTables(client: QueryClientContract): Promise<boolean> {
  const present = await Promise.all(VISIT_TABLES.map((table) => client.schema.hasTable(table)))
  if (present.every(Boolean)) return true
  if (!missingVisitTablesWarned) {
    missingVisitTablesWarned = true
    process.emitWarning(
      `adonis-tracking: the tables ${VISIT_TABLES.join(', ')} are missing, so visits, bounce rate, visit duration, entry and exit pages and visitors per page are kept in the store and not flushed: run "node ace configure adonis-tracking && node ace migration:run"`,
      { code: 'E_TRACKING_MISSING_TABLE' }
    )
  }
  debug('visit tables are missing: visit figures stay in the store')
  return false
}

let missingTableWarned = false

/**
 * Whether the database has tracking_dimension_stats (asked once per flush:
 * one catalog query). An app that upgraded the package without running the
 * new migration still flushes its page views; its dimension counts stay live
 * in the store (not lost, bounded by the cap, with their TTL) until the
 * table exists. Warns once per process, naming the two commands to run.
 */
async function hasDimensionTable(client: QueryClientContract): Promise<boolean> {
  if (await client.schema.hasTable(TRACKING_TABLES.dimensionStats)) return true
  if (!missingTableWarned) {
    missingTableWarned = true
    process.emitWarning(
      `adonis-tracking: the table ${TRACKING_TABLES.dimensionStats} is missing, so sources, browsers, countries and the other dimensions are kept in the store and not flushed: run "node ace configure adonis-tracking && node ace migration:run"`,
      { code: 'E_TRACKING_MISSING_TABLE' }
    )
  }
  debug('%s is missing: dimension counts stay in the store', TRACKING_TABLES.dimensionStats)
  return false
}

let narrowColumnWarned = false

/**
 * The longest value tracking_dimension_stats.value holds (asked once per
 * flush: one catalog query). Event values may be longer than the 100
 * characters of the table's first migration: the upgrade migration widens
 * the column to MAX_EVENT_VALUE_LENGTH. Until it ran, the flush cuts values
 * to the column (an event value cut so loses its prop or page, never a
 * count) and warns once per process, naming the two commands to run.
 * SQLite enforces no length: nothing is cut there.
 */
async function dimensionValueWidth(client: QueryClientContract): Promise<number> {
  if (client.dialect.name.includes('sqlite')) return MAX_EVENT_VALUE_LENGTH
  let width = MAX_VALUE_LENGTH
  try {
    const info = await client.knexQuery().table(TRACKING_TABLES.dimensionStats).columnInfo('value')
    width = Number((info as unknown as { maxLength?: unknown }).maxLength) || MAX_VALUE_LENGTH
  } catch (error) {
    debug('cannot read the width of %s.value: %s', TRACKING_TABLES.dimensionStats, error)
  }
  if (width < MAX_EVENT_VALUE_LENGTH && !narrowColumnWarned) {
    narrowColumnWarned = true
    process.emitWarning(
      `adonis-tracking: ${TRACKING_TABLES.dimensionStats}.value holds ${width} characters, so long event names, props and goal paths are cut when they are flushed: run "node ace configure adonis-tracking && node ace migration:run"`,
      { code: 'E_TRACKING_NARROW_COLUMN' }
    )
  }
  return Math.min(width, MAX_EVENT_VALUE_LENGTH)
}

/** true when a flush took dimension counts aside */
async function hasTakenDimensions(store: StoreFlusher, flushId: string): Promise<boolean> {
  for await (const chunk of store.readTakenDimensions(flushId, 1)) if (chunk.length > 0) return true
  return false
}

/** true when a flush took visit figures aside */
async function hasTakenVisits(store: StoreFlusher, flushId: string): Promise<boolean> {
  return (await store.readTakenVisits(flushId)) !== null
}

type Applied =
  { applied: true; paths: number; views: number; dimensions: number } | { applied: false }

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
  options: FlushOptions & {
    chunkSize: number
    dimensions: boolean
    valueWidth: number
    visits: boolean
  }
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
            applied_at: sqlNow(trx),
          })
      } catch (error) {
        if (!isUniqueViolation(error)) throw error
        await trx.rollback()
        debug('flush %s was applied already', flush.flushId)
        return { applied: false }
      }

      /* the day row first: flushes of one day queue here, not on page rows in random order */
      await addDayViews(trx, flush.day, expected)

      /*
       * Rows are counted per chunk; a SQL path that two raw paths became
       * (see mayCollide) is remembered so a later chunk does not count it again
       */
      let paths = 0
      let views = 0
      const sketch = new PathSketch()
      const colliding = new Set<string>()
      const chunks = store.readTaken(flush.flushId, options.chunkSize)[Symbol.asyncIterator]()
      let next = chunks.next()
      for (;;) {
        const { value: chunk, done } = await next
        if (done) break
        /*
         * the store reads the next chunk while SQL writes this one (at most
         * two chunks in memory); if the write fails, the read is dropped
         */
        next = chunks.next()
        next.catch(() => {})
        const rows = coalesce(chunk)
        await upsertPageViews(trx, flush.day, rows)
        if (options.visits) {
          await mergePageVisitors(
            trx,
            store,
            flush.day,
            chunk.map(([path]) => path)
          )
        }
        for (const [path, count] of rows) {
          views += count
          sketch.add(path)
          if (!mayCollide(path)) paths++
          else if (!colliding.has(path)) {
            colliding.add(path)
            paths++
          }
        }
      }
      if (paths > 0) await mergePaths(trx, flush.day, sketch)

      /* dimension counts of the flush: the same transaction, so they are applied exactly once too */
      let dimensions = 0
      if (options.dimensions) {
        const size = Math.min(options.chunkSize, DIMENSION_CHUNK_SIZE)
        /* the store yields a dimension at a time: small ones are gathered into one statement */
        let pending: TakenDimension[] = []
        for await (const chunk of store.readTakenDimensions(flush.flushId, size)) {
          pending = pending.length === 0 ? chunk : [...pending, ...chunk]
          if (pending.length < size) continue
          dimensions += await upsertDimensions(
            trx,
            flush.day,
            dimensionRows(pending, flush.flushId, options.valueWidth)
          )
          pending = []
        }
        if (pending.length > 0) {
          dimensions += await upsertDimensions(
            trx,
            flush.day,
            dimensionRows(pending, flush.flushId, options.valueWidth)
          )
        }
      }

      /* visit figures of the flush (by start day): the same transaction, exactly once too */
      if (options.visits) {
        const visits = await store.readTakenVisits(flush.flushId)
        if (visits) await upsertVisits(trx, flush.day, visits)
      }

      /* the paths are what the rows received; a total key that disagrees is corrected */
      if (views !== expected) {
        debug('flush %s: total key said %d, paths sum to %d', flush.flushId, expected, views)
        await addDayViews(trx, flush.day, views - expected)
        await trx.from(TRACKING_TABLES.flushes).where('flush_id', flush.flushId).update({ views })
      }

      await options.hooks?.beforeCommit?.(flush)
      await trx.commit()
      return { applied: true, paths, views, dimensions }
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
async function mergeVisitors(store: StoreFlusher, client: QueryClientContract, day: string) {
  const table = TRACKING_TABLES.dailyStats
  await withRetry(`visitors ${day}`, async () => {
    const trx = await client.transaction()
    try {
      await trx
        .from(table)
        .where('date', day)
        .update({ updated_at: sqlNow(trx) })
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
 *    flush id and unions the paths into the day's path sketch (tracked
 *    pages, see src/stores/path_sketch.ts), then deletes them. The day's
 *    dimension counts and visit figures (of the visits that started that
 *    day) go in the same take-aside and the same transaction; the unique
 *    visitors of each flushed path are unioned into tracking_page_visitors
 *    there too.
 * 3. Unions each flushed day's visitors into the stored HyperLogLog.
 */
export async function flushPageViews(
  target: FlushTarget,
  db: FlushDatabase,
  options: FlushOptions = {}
): Promise<FlushSummary> {
  const { date, from, to } = resolveDaySelection(options)
  const chunkSize = Math.max(1, Math.floor(options.chunkSize ?? DEFAULT_CHUNK_SIZE))
  const store = target.store
  const client = db.connection(options.connection)
  const [dimensions, visits] = await Promise.all([
    hasDimensionTable(client),
    hasVisitTables(client),
  ])
  const valueWidth = dimensions ? await dimensionValueWidth(client) : MAX_VALUE_LENGTH
  const settings = { ...options, chunkSize, dimensions, valueWidth, visits }
  const summary: FlushSummary = { days: 0, paths: 0, views: 0, recovered: 0 }
  const touchedDays = new Set<string>()

  const record = (flush: TakenFlush, outcome: Applied) => {
    if (!outcome.applied) return
    touchedDays.add(flush.day)
    summary.paths += outcome.paths
    summary.views += outcome.views
  }

  for (const flush of await store.takenFlushes()) {
    /*
     * taken aside with its dimension counts while the table existed: it
     * waits, whole, until the table is back, rather than lose them
     */
    if (!settings.dimensions && (await hasTakenDimensions(store, flush.flushId))) {
      debug('flush %s of %s waits for %s', flush.flushId, flush.day, TRACKING_TABLES.dimensionStats)
      continue
    }
    if (!settings.visits && (await hasTakenVisits(store, flush.flushId))) {
      debug('flush %s of %s waits for the visit tables', flush.flushId, flush.day)
      continue
    }
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
    const moved = await store.takeAside(day, flush.flushId, {
      dimensions: settings.dimensions,
      visits: settings.visits,
    })
    if (!moved) continue
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
