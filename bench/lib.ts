/**
 * Small helpers shared by the benchmarks of bench/run.ts.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { Redis } from 'ioredis'
import knex from 'knex'
import { AppFactory } from '@adonisjs/core/factories/app'
import { Emitter } from '@adonisjs/core/events'
import { Logger } from '@adonisjs/core/logger'
import { Database } from '@adonisjs/lucid/database'
import type { QueryClientContract } from '@adonisjs/lucid/types/database'
import {
  DIMENSIONS,
  eventPageValue,
  eventPropValue,
  type StoredDimensionName,
} from '../src/dimensions/names.ts'
import { funnelStepValue, MAX_FUNNEL_STEPS } from '../src/funnels.ts'
import { TRACKING_TABLES } from '../src/tables.ts'
import type { TrackingFunnel, TrackingGoal } from '../src/types.ts'

/** The repository root (the demo app and the package) */
export const ROOT = new URL('../', import.meta.url)

/**
 * Distinct values of each view dimension on a seeded day, in DIMENSIONS
 * order (726 rows a day): what a busy site's day holds (100 sources, 50
 * browser versions, 100 countries, ...)
 */
const VIEW_DIMENSION_VALUES = [100, 8, 50, 10, 100, 50, 50, 20, 100, 15, 60, 3, 100, 60]

/** Event names, and goals of each kind, of a seeded day and of BENCH_GOALS */
const BENCH_EVENTS = 50
const BENCH_FUNNELS = 20

/**
 * The goals of the benchmarks' config (#16: "100 goals"): an event goal per
 * event name of a seeded day and 50 path goals
 */
export const BENCH_GOALS: TrackingGoal[] = [
  ...Array.from({ length: BENCH_EVENTS }, (_, v) => ({
    name: `Event goal ${v}`,
    event: benchValue('event', v),
  })),
  ...Array.from({ length: 50 }, (_, v) => ({
    name: `Path goal ${v}`,
    path: benchValue('goal', v),
  })),
]

/** 20 funnels of 8 steps each over BENCH_GOALS */
export const BENCH_FUNNEL_CONFIG: TrackingFunnel[] = Array.from(
  { length: BENCH_FUNNELS },
  (_, f) => ({
    name: `Funnel ${f}`,
    steps: Array.from(
      { length: MAX_FUNNEL_STEPS },
      (_step, s) => BENCH_GOALS[(f * 5 + s * 11) % 100].name
    ),
  })
)

/**
 * Every dimension of a seeded day and its distinct values (2,036 rows a
 * day): the view dimensions, then events with goals and funnels on (#16:
 * 1,000 distinct prop values a day, 100 goals, 20 funnels of 8 steps)
 */
export const BENCH_DIMENSIONS: ReadonlyArray<readonly [StoredDimensionName, number]> = [
  ...DIMENSIONS.map((dimension, d) => [dimension, VIEW_DIMENSION_VALUES[d]] as const),
  ['event', BENCH_EVENTS],
  ['event_prop', 1000],
  ['event_page', BENCH_EVENTS],
  ['goal', 50],
  ['funnel', BENCH_FUNNELS * MAX_FUNNEL_STEPS],
]

/** The v-th value of a dimension on a seeded day (those of goal, event and funnel match BENCH_GOALS and BENCH_FUNNEL_CONFIG) */
export function benchValue(dimension: StoredDimensionName, v: number): string {
  switch (dimension) {
    case 'event':
      return `event-value-${v}`
    case 'event_prop':
      return eventPropValue(`event-value-${v % BENCH_EVENTS}`, `key-${v % 10}`, `value-${v}`)
    case 'event_page':
      return eventPageValue(`event-value-${v}`, `/page-${v}`)
    case 'goal':
      return `/goal-${v}/*`
    case 'funnel': {
      const funnel = BENCH_FUNNEL_CONFIG[Math.floor(v / MAX_FUNNEL_STEPS)]
      const step = v % MAX_FUNNEL_STEPS
      return funnelStepValue(funnel.name, step + 1, funnel.steps[step])
    }
    default:
      return `${dimension}-value-${v}`
  }
}

/** Dimension rows of a seeded day in tracking_dimension_stats */
export const DIMENSION_ROWS = BENCH_DIMENSIONS.reduce((sum, [, n]) => sum + n, 0)

/**
 * What must be stopped when the run is interrupted (servers in child
 * processes); bench/run.ts calls them on SIGINT and SIGTERM
 */
export const cleanups = new Set<() => unknown>()

/** Median of a list of numbers (the mean of the two middle ones for an even count); NaN when empty */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  /* an even count has two middle values: their mean, not the upper one (which flatters a ratio) */
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** A whole number with thousands separators */
export function int(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a'
}

/** A number with a fixed count of decimals */
export function fixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a'
}

/** Mebibytes with one decimal */
export function mib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : 'n/a'
}

let collector: (() => void) | undefined

/**
 * Full garbage collection without --expose-gc on the command line (npm run
 * bench keeps its flags short): the flag is set at run time and the gc
 * function is taken from a fresh context.
 */
export function collectGarbage() {
  if (!collector) {
    setFlagsFromString('--expose-gc')
    collector = runInNewContext('gc') as () => void
  }
  collector()
  collector()
}

/**
 * Samples heap and RSS every few milliseconds while `work` runs, from a
 * baseline taken after a full GC. Peaks include garbage not collected yet,
 * so they are an upper bound of what the work keeps alive.
 */
export async function withMemorySampling<T>(
  work: () => Promise<T>,
  everyMs = 5
): Promise<{ result: T; ms: number; peakHeapDelta: number; peakRssDelta: number }> {
  collectGarbage()
  const base = process.memoryUsage()
  let peakHeap = base.heapUsed
  let peakRss = base.rss
  const sample = () => {
    const now = process.memoryUsage()
    if (now.heapUsed > peakHeap) peakHeap = now.heapUsed
    if (now.rss > peakRss) peakRss = now.rss
  }
  const timer = setInterval(sample, everyMs)
  const start = performance.now()
  try {
    const result = await work()
    const ms = performance.now() - start
    sample()
    return {
      result,
      ms,
      peakHeapDelta: peakHeap - base.heapUsed,
      peakRssDelta: peakRss - base.rss,
    }
  } finally {
    clearInterval(timer)
  }
}

/** An ioredis client on a loopback port that gives up at once when nobody answers */
export function redisClient(port: number): Redis {
  return new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 })
}

/**
 * Parses INFO output ("key:value" lines) into a map
 */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':')
    if (colon > 0 && !line.startsWith('#')) out.set(line.slice(0, colon), line.slice(colon + 1))
  }
  return out
}

/**
 * Calls per command from INFO commandstats (`cmdstat_hincrby:calls=3,...`)
 */
export function commandCalls(info: Map<string, string>): Map<string, number> {
  const out = new Map<string, number>()
  for (const [key, value] of info) {
    if (!key.startsWith('cmdstat_')) continue
    const calls = /(?:^|,)calls=(\d+)/.exec(value)
    if (calls) out.set(key.slice('cmdstat_'.length), Number(calls[1]))
  }
  return out
}

/**
 * The package's migrations, in order: every file of database/migrations (the
 * same as the stubs configure publishes), so a new table is created here too
 */
const MIGRATIONS = readdirSync(new URL('database/migrations/', ROOT))
  .filter((file) => /^\d+_.*\.ts$/.test(file))
  .sort()

/**
 * PostgreSQL of the benchmarks: PG_HOST, PG_PORT, PG_USER, PG_PASSWORD and
 * PG_DATABASE (or DB_DATABASE; default tracking_bench)
 */
export function pgConnection() {
  return {
    host: process.env.PG_HOST ?? '127.0.0.1',
    port: Number(process.env.PG_PORT ?? 5432),
    user: process.env.PG_USER ?? 'postgres',
    password: process.env.PG_PASSWORD ?? '',
    database: process.env.PG_DATABASE ?? process.env.DB_DATABASE ?? 'tracking_bench',
  }
}

/** Creates the PostgreSQL database when missing; returns the server version */
export async function preparePg(): Promise<string> {
  const { database, ...server } = pgConnection()
  const admin = knex({ client: 'pg', connection: { ...server, database: 'postgres' } })
  try {
    const found = await admin.raw('SELECT 1 FROM pg_database WHERE datname = ?', [database])
    if (found.rows.length === 0) await admin.raw('CREATE DATABASE ??', [database])
    const version = await admin.raw('SHOW server_version')
    return String(version.rows[0].server_version)
  } finally {
    await admin.destroy()
  }
}

/**
 * A Lucid Database on SQLite (a fresh file in tmp/) or PostgreSQL (created
 * when missing), with its emitter (db:query events when `debug`)
 */
export async function openBenchDatabase(
  name: 'sqlite' | 'pg',
  options: { sqliteFile: string; debug?: boolean }
) {
  const app = new AppFactory().create(ROOT, () => {})
  await app.init()
  const sqliteFile = new URL(`tmp/${options.sqliteFile}`, ROOT)
  if (name === 'sqlite') {
    mkdirSync(new URL('tmp/', ROOT), { recursive: true })
    rmSync(sqliteFile, { force: true })
  } else {
    await preparePg()
  }
  const emitter = new Emitter<any>(app)
  const db = new Database(
    {
      connection: name,
      connections: {
        sqlite: {
          client: 'better-sqlite3',
          connection: { filename: sqliteFile.pathname },
          useNullAsDefault: true,
          debug: options.debug,
        },
        pg: { client: 'pg', connection: pgConnection(), debug: options.debug },
      },
    },
    new Logger({ enabled: false }),
    emitter
  )
  return { db, emitter }
}

/** The package's tables, dropped and migrated from scratch */
export async function migrateFresh(client: QueryClientContract) {
  for (const table of Object.values(TRACKING_TABLES).reverse()) {
    await client.schema.dropTableIfExists(table)
  }
  for (const file of MIGRATIONS) {
    const { default: Migration } = await import(new URL(`database/migrations/${file}`, ROOT).href)
    await new Migration(client, file).execUp()
  }
}

/** Deletes every key of a tracking key prefix (all carry the `{prefix}` hash tag) */
export async function deleteKeysOf(redis: Redis, keyPrefix: string) {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `{${keyPrefix}}*`, 'COUNT', 1000)
    if (keys.length > 0) await redis.unlink(...keys)
    cursor = next
  } while (cursor !== '0')
}
