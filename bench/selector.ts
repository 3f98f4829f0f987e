/**
 * Selector benchmark: the analytics context over 30 days (compared with the
 * 30 days before, so 60 days of data) with 1k and 10k paths per day, on
 * SQLite and PostgreSQL, with real Redis.
 *
 *   node --conditions=tracking-source --import=@poppinss/ts-exec bench/selector.ts [--json <file>] [--quick]
 *
 * 59 days are flushed (rows, day totals, visitor and path sketches in SQL,
 * as the flush writes them; DIMENSION_ROWS dimension rows a day with their
 * visitor sketches, whatever the paths); today is live in Redis with every
 * path and dimension value. Views
 * follow a Zipf-like law (page r gets ~1/r of the traffic), as web traffic
 * does. Prints t(10k)/t(1k) of a cold context (median of BENCH_ROUNDS, goal
 * <= 3) and cold vs cached through the dashboard provider cache (goal >=
 * 100x), each with MET or MISSED, and writes the details to
 * tmp/bench-selector.json.
 *
 * --json <file> writes {"sizes": {"days", "small", "large"}, "results":
 * {"sqlite" | "pg": {t1kMs, t10kMs, ratio, cachedMs, cachedSpeedup}}}: the
 * cold medians of the small and large sizes, their ratio, and the worst
 * (largest) cached time and worst (smallest) cold/cached speedup of the two.
 * Seeding takes most of the ~1 minute; --quick takes 5 cold rounds instead
 * of 15, 1 s of warm-up instead of 2 and 500 cached calls instead of 2000
 * (the same sizes, a few seconds less; the medians are noisier).
 *
 * Then the CSV export (`TrackingSelector.exportPages` through the streaming
 * CSV writer, what `export.csv?dataset=pages` does) of BENCH_EXPORT_PATHS
 * paths a day over 30 days (29 flushed, today live) against the JSON
 * context of the same range, median of 5 rounds (3 with --quick), on
 * BENCH_EXPORT_DBS; --json adds {"exports": {db: {paths, days, csvRows,
 * exportMs, contextMs, ratio}}}.
 *
 * Env: REDIS_HOST/REDIS_PORT, PG_HOST/PG_PORT/PG_USER/PG_PASSWORD,
 * PG_DATABASE or DB_DATABASE (default `tracking_bench`, created when missing; its tracking
 * tables are dropped), BENCH_DBS=sqlite,pg, BENCH_PATHS=1000,10000,
 * BENCH_ROUNDS=15 (5 with --quick), BENCH_EXPORT_DBS=sqlite,pg, BENCH_EXPORT_PATHS=12000.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { randomUUID } from 'node:crypto'
import { DateTime } from 'luxon'
import { Redis } from 'ioredis'
import type { QueryClientContract } from '@adonisjs/lucid/types/database'
import { resolveSettings } from '../src/settings.ts'
import { TrackingManager } from '../src/manager.ts'
import { RedisStore } from '../src/stores/redis_store.ts'
import { TRACKING_TABLES } from '../src/tables.ts'
import { PathSketch } from '../src/stores/path_sketch.ts'
import { TrackingSelector } from '../src/selector.ts'
import { Cabinet } from '../src/cabinet/registry.ts'
import { EXPORT_MAX_ROWS } from '../src/http/analytics_controller.ts'
import { csvStream } from '../src/http/csv.ts'
import { declareTrackingCabinet } from '../src/cabinet/tracking.ts'
import { dimensionKey } from '../src/dimensions/names.ts'
import type { DimensionCount } from '../src/stores/types.ts'
import {
  deleteKeysOf,
  DIMENSION_ROWS,
  BENCH_DIMENSIONS,
  BENCH_FUNNEL_CONFIG,
  BENCH_GOALS,
  benchValue,
  median,
  migrateFresh,
  openBenchDatabase,
  ROOT,
} from './lib.ts'

const { values: flags } = parseArgs({
  options: { json: { type: 'string' }, quick: { type: 'boolean', default: false } },
})
const DAYS_SHOWN = 30
const DAYS_STORED = 2 * DAYS_SHOWN
/* 15 rounds: on a shared machine the median of a few is at the mercy of the load */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (flags.quick ? 5 : 15))
const CACHED_CALLS = flags.quick ? 500 : 2000
/** Cold contexts computed and thrown away before the measured rounds (at least 3) */
const WARM_UP_MS = flags.quick ? 1000 : 2000
const DBS = (process.env.BENCH_DBS ?? 'sqlite,pg').split(',') as Array<'sqlite' | 'pg'>
const PATH_COUNTS = (process.env.BENCH_PATHS ?? '1000,10000').split(',').map(Number)
/** The CSV export case: its databases, paths a day (over DAYS_SHOWN days) and rounds */
const EXPORT_DBS = (process.env.BENCH_EXPORT_DBS ?? 'sqlite,pg')
  .split(',')
  .filter(Boolean) as Array<'sqlite' | 'pg'>
const EXPORT_PATHS = Number(process.env.BENCH_EXPORT_PATHS ?? 12_000)
const EXPORT_ROUNDS = flags.quick ? 3 : 5
/** BENCH_PROFILE=1: time of each SQL statement of one cold context */
const PROFILE = process.env.BENCH_PROFILE === '1'
const profile = new Map<string, { count: number; ms: number }>()
let profiling = false

/** BENCH_PROFILE=1: the time of each SQL statement of one call */
async function printProfile(label: string, work: () => Promise<unknown>) {
  profile.clear()
  profiling = true
  const t0 = performance.now()
  await work()
  profiling = false
  console.log(`  profile of ${label} (${Math.round(performance.now() - t0)} ms):`)
  for (const [sql, entry] of [...profile].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12)) {
    console.log(
      `    ${entry.ms.toFixed(1).padStart(8)} ms ${String(entry.count).padStart(4)}x  ${sql}`
    )
  }
}

/** Deterministic pseudo-random numbers */
function lcg(initial: number) {
  let state = initial
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31
    return state / 2 ** 31
  }
}

async function openDatabase(name: 'sqlite' | 'pg') {
  const { db, emitter } = await openBenchDatabase(name, {
    sqliteFile: 'bench-selector.sqlite3',
    debug: PROFILE,
  })
  if (PROFILE) {
    emitter.on('db:query', (query: any) => {
      if (!profiling) return
      const key = String(query.sql).replace(/\s+/g, ' ').slice(0, 140)
      const entry = profile.get(key) ?? { count: 0, ms: 0 }
      entry.count++
      const [s, ns] = query.duration ?? [0, 0]
      entry.ms += s * 1000 + ns / 1e6
      profile.set(key, entry)
    })
  }
  return db
}

/** The package's own migrations, run from scratch */
/**
 * 59 flushed days and today's live counts, `paths` paths a day, Zipf-like
 */
async function seed(options: {
  client: QueryClientContract
  manager: TrackingManager
  redis: Redis
  keyPrefix: string
  paths: number
  days: string[]
}) {
  const { client, manager, redis, paths, days } = options
  const random = lcg(42)
  const today = days[days.length - 1]
  const viewsOf = () => {
    const views = new Map<string, number>()
    for (let rank = 1; rank <= paths; rank++) {
      const count = Math.max(1, Math.round((20_000 / rank) * (0.7 + 0.6 * random())))
      views.set(`/pages/${rank}-${(rank * 7919) % 1000}`, count)
    }
    return views
  }
  const scratch = `{${options.keyPrefix}}:bench:${randomUUID()}`
  for (const [index, day] of days.entries()) {
    const views = viewsOf()
    const visitors = Array.from({ length: 2000 }, (_, i) => `v${index * 700 + i}`)
    const dimensions = dimensionsOf(visitors)
    if (day === today) {
      await manager.store.write({
        days: new Map([[day, { views, visitors: new Set(visitors), dimensions }]]),
        minutes: new Map([[Math.floor(Date.now() / 60_000), new Set(visitors.slice(0, 50))]]),
      })
      continue
    }
    const rows = [...views].map(([path, count]) => ({ path, date: day, views: count }))
    const pathSketch = new PathSketch()
    for (const row of rows) pathSketch.add(row.path)
    await client.transaction(async (trx) => {
      for (let start = 0; start < rows.length; start += 400) {
        await trx
          .insertQuery()
          .table(TRACKING_TABLES.pageViews)
          .multiInsert(rows.slice(start, start + 400))
      }
      await redis.del(scratch)
      for (let start = 0; start < visitors.length; start += 500) {
        await redis.pfadd(scratch, ...visitors.slice(start, start + 500))
      }
      const sketch = await redis.getBuffer(scratch)
      await insertDimensionRows(trx, redis, scratch, day, dimensions)
      await trx
        .insertQuery()
        .table(TRACKING_TABLES.dailyStats)
        .insert({
          date: day,
          views: rows.reduce((sum, row) => sum + row.views, 0),
          unique_visitors: await redis.pfcount(scratch),
          visitors_sketch: sketch,
          paths_sketch: pathSketch.toBuffer(),
          updated_at: DateTime.now().toFormat(client.dialect.dateTimeFormat),
        })
    })
  }
  await redis.del(scratch)
  if (client.dialect.name === 'postgres') {
    await client.rawQuery(`ANALYZE ${TRACKING_TABLES.pageViews}`)
    await client.rawQuery(`ANALYZE ${TRACKING_TABLES.dailyStats}`)
    await client.rawQuery(`ANALYZE ${TRACKING_TABLES.dimensionStats}`)
  }
}

/**
 * The dimension counts of a day, the same whatever the paths: DIMENSION_ROWS
 * values (BENCH_DIMENSIONS: view dimensions, events, goals and funnels), the value of rank r with
 * ~1/r of the day's visitors (at least one) and twice as many views
 */
function dimensionsOf(visitors: string[]): Map<string, DimensionCount> {
  const dimensions = new Map<string, DimensionCount>()
  for (const [dimension, values] of BENCH_DIMENSIONS) {
    for (let v = 0; v < values; v++) {
      const count = Math.max(1, Math.round(visitors.length / 2 / (v + 1)))
      const start = (v * 37) % visitors.length
      const few = new Set(visitors.slice(start, start + count))
      dimensions.set(dimensionKey(dimension, benchValue(dimension, v)), {
        views: 2 * few.size,
        visitors: few,
      })
    }
  }
  return dimensions
}

/** A flushed day's tracking_dimension_stats rows, with their visitor sketches (Redis HLL bytes) */
async function insertDimensionRows(
  trx: QueryClientContract,
  redis: Redis,
  scratch: string,
  day: string,
  dimensions: Map<string, DimensionCount>
) {
  /* one round trip for the day: a scratch sketch per value */
  const pipeline = redis.pipeline()
  const entries = [...dimensions]
  entries.forEach(([, count], i) => {
    const key = `${scratch}:${i}`
    pipeline
      .del(key)
      .pfadd(key, ...count.visitors)
      .pfcount(key)
      .getBuffer(key)
      .del(key)
  })
  const replies = (await pipeline.exec())!
  const rows = entries.map(([key, count], i) => {
    const colon = key.indexOf(':')
    return {
      date: day,
      dimension: key.slice(0, colon),
      value: key.slice(colon + 1),
      views: count.views,
      unique_visitors: Number(replies[i * 5 + 2][1]),
      visitors_sketch: replies[i * 5 + 3][1] as Buffer,
    }
  })
  for (let start = 0; start < rows.length; start += 200) {
    await trx
      .insertQuery()
      .table(TRACKING_TABLES.dimensionStats)
      .multiInsert(rows.slice(start, start + 200))
  }
}

interface CaseResult {
  db: 'sqlite' | 'pg'
  paths: number
  rows: number
  coldMs: number
  coldSamplesMs: number[]
  firstDashboardMs: number
  cachedMs: number
  cachedSpeedup: number
}

/** A database with `days` days of `paths` paths a day seeded (today live), and its selector */
async function prepareCase(name: 'sqlite' | 'pg', paths: number, daysStored: number, redis: Redis) {
  const db = await openDatabase(name)
  const client = db.connection()
  const keyPrefix = `bench-selector-${process.pid}-${randomUUID().slice(0, 8)}`
  /* every feature on: 100 goals and 20 funnels read with the context (#16) */
  const settings = resolveSettings({
    keyPrefix,
    timezone: 'UTC',
    analyticsDays: DAYS_SHOWN,
    goals: BENCH_GOALS,
    funnels: BENCH_FUNNEL_CONFIG,
  })
  const manager = new TrackingManager(
    settings,
    new RedisStore({ client: () => redis, keyPrefix, ttlSeconds: settings.ttlSeconds })
  )
  const close = async () => {
    await deleteKeysOf(redis, keyPrefix)
    await db.manager.closeAll()
  }
  try {
    await migrateFresh(client)
    const selector = new TrackingSelector(manager, db)
    const today = DateTime.fromISO(selector.today(), { zone: 'utc' })
    const days = Array.from({ length: daysStored }, (_, i) =>
      today.minus({ days: daysStored - 1 - i }).toISODate()!
    )
    const seeding = performance.now()
    await seed({ client, manager, redis, keyPrefix, paths, days })
    const rowCount = await client.from(TRACKING_TABLES.pageViews).count('* as total').first()
    console.log(
      `  ${name} ${paths} paths/day + ${DIMENSION_ROWS} dimension rows/day x ${daysStored} days: seeded ${rowCount.total} path rows in ${Math.round(performance.now() - seeding)} ms`
    )
    return { manager, selector, rows: Number(rowCount.total), close }
  } catch (error) {
    await close()
    throw error
  }
}

async function runCase(name: 'sqlite' | 'pg', paths: number, redis: Redis): Promise<CaseResult> {
  const { manager, selector, rows, close } = await prepareCase(name, paths, DAYS_STORED, redis)
  try {
    /*
     * cold: a full computation each time. Warm-up first (JIT, query plans):
     * without it the first case of a run is about twice as slow as the same
     * case run later, which would flatter t(10k)/t(1k)
     */
    const warmUntil = performance.now() + WARM_UP_MS
    for (let round = 0; round < 3 || performance.now() < warmUntil; round++) {
      await selector.getAnalyticsContext(DAYS_SHOWN)
    }
    const cold: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const start = performance.now()
      await selector.getAnalyticsContext(DAYS_SHOWN)
      cold.push(performance.now() - start)
    }

    if (PROFILE) await printProfile('one context', () => selector.getAnalyticsContext(DAYS_SHOWN))

    /* cached: the dashboard provider serves the range from its cache */
    const cabinet = declareTrackingCabinet(new Cabinet(), {
      settings: () => manager.settings,
      selector: () => selector,
    })
    const range = selector.resolveRange(DAYS_SHOWN)
    let start = performance.now()
    await cabinet.dashboardWidgets({ range })
    const firstDashboardMs = performance.now() - start
    const cachedCalls = CACHED_CALLS
    start = performance.now()
    for (let i = 0; i < cachedCalls; i++) await cabinet.dashboardWidgets({ range })
    const cachedMs = (performance.now() - start) / cachedCalls

    const coldMs = median(cold)
    return {
      db: name,
      paths,
      rows,
      coldMs,
      coldSamplesMs: cold.map((value) => Math.round(value * 100) / 100),
      firstDashboardMs,
      cachedMs,
      cachedSpeedup: coldMs / cachedMs,
    }
  } finally {
    await close()
  }
}

interface ExportResult {
  db: 'sqlite' | 'pg'
  paths: number
  days: number
  rows: number
  csvRows: number
  exportMs: number
  contextMs: number
  ratio: number
}

/** A CSV consumer that keeps nothing: what the export costs without the network */
async function drain(stream: NodeJS.ReadableStream): Promise<number> {
  let bytes = 0
  for await (const chunk of stream) bytes += (chunk as Buffer).length
  return bytes
}

/**
 * The CSV export of every path of DAYS_SHOWN days (what
 * `export.csv?dataset=pages` writes: exportPages through csvStream) against
 * the JSON context of the same range (getAnalyticsContext + JSON.stringify)
 */
async function runExport(name: 'sqlite' | 'pg', redis: Redis): Promise<ExportResult> {
  const { selector, rows, close } = await prepareCase(name, EXPORT_PATHS, DAYS_SHOWN, redis)
  try {
    const exportOnce = async () => {
      const exported = await selector.exportPages(DAYS_SHOWN, { limit: EXPORT_MAX_ROWS })
      let count = 0
      const records = function* () {
        for (const row of exported) {
          count++
          yield [row.path, row.views]
        }
      }
      await drain(csvStream(['Path', 'Views'], records()))
      return count
    }
    const contextOnce = async () => JSON.stringify(await selector.getAnalyticsContext(DAYS_SHOWN))
    /* warm-up: JIT and query plans */
    let csvRows = await exportOnce()
    if (PROFILE) await printProfile('one CSV export', exportOnce)
    await contextOnce()
    const exportSamples: number[] = []
    const contextSamples: number[] = []
    for (let round = 0; round < EXPORT_ROUNDS; round++) {
      let start = performance.now()
      csvRows = await exportOnce()
      exportSamples.push(performance.now() - start)
      start = performance.now()
      await contextOnce()
      contextSamples.push(performance.now() - start)
    }
    const exportMs = median(exportSamples)
    const contextMs = median(contextSamples)
    console.log(
      `  ${name} CSV export of ${csvRows} rows: ${exportMs.toFixed(1)} ms, JSON context ${contextMs.toFixed(1)} ms`
    )
    return {
      db: name,
      paths: EXPORT_PATHS,
      days: DAYS_SHOWN,
      rows,
      csvRows,
      exportMs,
      contextMs,
      ratio: exportMs / contextMs,
    }
  } finally {
    await close()
  }
}

const redis = new Redis({
  host: process.env.REDIS_HOST ?? '127.0.0.1',
  port: Number(process.env.REDIS_PORT ?? 6379),
})
const results: CaseResult[] = []
const exports: ExportResult[] = []
try {
  console.log(
    `Analytics context over ${DAYS_SHOWN} days (+ the previous ${DAYS_SHOWN} for trends), ${ROUNDS} rounds, median`
  )
  for (const name of DBS) {
    for (const paths of PATH_COUNTS) results.push(await runCase(name, paths, redis))
  }
  console.log(`CSV export of ${EXPORT_PATHS} paths x ${DAYS_SHOWN} days vs the JSON context`)
  for (const name of EXPORT_DBS) exports.push(await runExport(name, redis))
} finally {
  redis.disconnect()
}

const verdict = (ok: boolean) => (ok ? 'MET' : 'MISSED')
const small = Math.min(...PATH_COUNTS)
const large = Math.max(...PATH_COUNTS)
const summary: Record<string, { ratio: number | null; ok: boolean | null }> = {}
/** The --json figures of one database */
const perDb: Record<
  string,
  { t1kMs: number; t10kMs: number; ratio: number; cachedMs: number; cachedSpeedup: number }
> = {}
const round = (value: number, digits: number) => Number(value.toFixed(digits))
console.log('\n db      paths/day   rows      cold (ms)   cached (ms)   cold/cached')
for (const result of results) {
  console.log(
    ` ${result.db.padEnd(7)} ${String(result.paths).padStart(9)}   ${String(result.rows).padStart(7)}   ${result.coldMs.toFixed(1).padStart(9)}   ${result.cachedMs.toFixed(4).padStart(11)}   ${Math.round(result.cachedSpeedup).toString().padStart(9)}x`
  )
}
for (const name of DBS) {
  const cases = results.filter((result) => result.db === name)
  const first = cases.find((result) => result.paths === small)
  const last = cases.find((result) => result.paths === large)
  const ratio = first && last && first !== last ? last.coldMs / first.coldMs : null
  summary[name] = { ratio, ok: ratio === null ? null : ratio <= 3 }
  if (ratio !== null) {
    console.log(
      `${name}: t(${large})/t(${small}) = ${ratio.toFixed(2)} (goal <= 3: ${verdict(ratio <= 3)})`
    )
  }
  if (first && last) {
    perDb[name] = {
      t1kMs: round(first.coldMs, 2),
      t10kMs: round(last.coldMs, 2),
      ratio: round(ratio ?? 1, 3),
      cachedMs: round(Math.max(...cases.map((result) => result.cachedMs)), 5),
      cachedSpeedup: Math.round(Math.min(...cases.map((result) => result.cachedSpeedup))),
    }
  }
}
const minSpeedup = Math.min(...results.map((result) => result.cachedSpeedup))
console.log(
  `cached vs cold: at least ${Math.round(minSpeedup)}x (goal >= 100x: ${verdict(minSpeedup >= 100)})`
)

mkdirSync(new URL('tmp/', ROOT), { recursive: true })
writeFileSync(
  new URL('tmp/bench-selector.json', ROOT),
  JSON.stringify(
    {
      benchmark: 'selector.getAnalyticsContext',
      date: new Date().toISOString(),
      node: process.version,
      daysShown: DAYS_SHOWN,
      daysStored: DAYS_STORED,
      rounds: ROUNDS,
      results,
      ratios: summary,
      minCachedSpeedup: minSpeedup,
      exports,
    },
    null,
    2
  )
)
console.log('figures written to tmp/bench-selector.json')
if (flags.json) {
  writeFileSync(
    flags.json,
    JSON.stringify(
      {
        sizes: { days: DAYS_SHOWN, small, large },
        results: perDb,
        exports: Object.fromEntries(
          exports.map((result) => [
            result.db,
            {
              paths: result.paths,
              days: result.days,
              csvRows: result.csvRows,
              exportMs: round(result.exportMs, 2),
              contextMs: round(result.contextMs, 2),
              ratio: round(result.ratio, 3),
            },
          ])
        ),
      },
      null,
      2
    ) + '\n'
  )
  console.log(`summary written to ${flags.json}`)
}
