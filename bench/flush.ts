/**
 * P4: flush of one day with many distinct paths (src/flush.ts
 * flushPageViews) against a naive loop that reads the day's hash and runs
 * one upsert query per path, as the original module does, on SQLite and
 * PostgreSQL, with a private Redis.
 *
 * The naive loop runs inside one transaction: the kindest form of it (with a
 * commit per row, as under Django's autocommit, SQLite pays an fsync per
 * path; that rate is measured on a small sample and reported separately).
 * Memory: heap and RSS sampled every 5 ms from a baseline taken after a full
 * GC; "flat" compares the flush's peak heap growth at the large size with
 * the small size (10x the paths).
 *
 * The flushed day also carries dimension counts as the recorder writes them:
 * the 14 view dimensions with 3 to 100 values each, events with 1,000
 * distinct prop values, 100 goals and 20 funnels of 8 steps
 * (BENCH_DIMENSIONS), views and a visitor sketch per value, so the flush
 * also upserts 2,036 tracking_dimension_stats rows (the naive loop has
 * none: the original module had no dimensions).
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { QueryClientContract } from '@adonisjs/lucid/types/database'
import { dimensionKey } from '../src/dimensions/names.ts'
import { flushPageViews, TRACKING_TABLES } from '../src/flush.ts'
import { RedisStore } from '../src/stores/redis_store.ts'
import type { DimensionCount, TrackingStore } from '../src/stores/types.ts'
import {
  collectGarbage,
  deleteKeysOf,
  BENCH_DIMENSIONS,
  benchValue,
  DIMENSION_ROWS,
  median,
  migrateFresh,
  openBenchDatabase,
  withMemorySampling,
} from './lib.ts'

/** Untimed flushes per size whose retained heap is sampled (the median counts) */
export const SAMPLED_RUNS = 3

/** The flushed day: a fixed past day, so no live traffic can mix in */
const DAY = '2025-06-01'

/** One flush or naive run */
export interface FlushRun {
  paths: number
  ms: number
  /** peak heapUsed over the baseline, sampled every 5 ms (garbage included) */
  peakHeapDelta: number
  /** peak RSS over the baseline, sampled every 5 ms */
  peakRssDelta: number
  /** largest heapUsed after a full GC, over the baseline, at chunk boundaries */
  retainedHeapDelta: number
}

/** What benchFlush measured on one database */
export interface FlushResult {
  db: 'sqlite' | 'pg'
  small: FlushRun
  large: FlushRun
  naive: FlushRun
  /** ms per row of the naive loop with a commit per row (small sample) */
  naiveAutocommitMsPerRow: number
  autocommitSample: number
}

/**
 * Live heap after a full GC, relative to a baseline: what the work keeps
 * alive at that point, garbage excluded
 */
function retainedSampler() {
  collectGarbage()
  const base = process.memoryUsage().heapUsed
  let peak = 0
  return {
    sample() {
      collectGarbage()
      peak = Math.max(peak, process.memoryUsage().heapUsed - base)
    },
    get peak() {
      return peak
    },
  }
}

/** The store, with a retained-heap sample before every chunk the flush reads */
function sampledStore(store: RedisStore, sample: () => void): TrackingStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'readTaken' || property === 'readTakenDimensions') {
        return async function* (flushId: string, chunkSize: number) {
          for await (const chunk of target[property](flushId, chunkSize)) {
            sample()
            yield chunk
          }
          sample()
        }
      }
      const value = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

async function emptyTables(client: QueryClientContract) {
  for (const table of Object.values(TRACKING_TABLES)) await client.from(table).delete()
}

/**
 * The day's live counts in Redis: `paths` distinct paths, 1..50 views each;
 * every write also carries every value of every dimension (DIMENSION_VALUES)
 * with some views and a few of its visitors
 */
async function seedDay(store: RedisStore, paths: number) {
  const chunk = 10_000
  for (let start = 0; start < paths; start += chunk) {
    const views = new Map<string, number>()
    for (let i = start; i < Math.min(paths, start + chunk); i++) {
      views.set(`/articles/${i}/${(i * 7919) % 10_007}`, 1 + (i % 50))
    }
    const list = Array.from({ length: 100 }, (_, v) => `visitor-${(start / chunk) * 100 + v}`)
    const visitors = new Set(list)
    const dimensions = new Map<string, DimensionCount>()
    for (const [dimension, values] of BENCH_DIMENSIONS) {
      for (let v = 0; v < values; v++) {
        const few = new Set(list.filter((_, i) => (i + v) % values === 0))
        dimensions.set(dimensionKey(dimension, benchValue(dimension, v)), {
          views: 1 + ((v * 31) % 200),
          visitors: few,
        })
      }
    }
    await store.write({
      days: new Map([[DAY, { views, visitors, dimensions }]]),
      minutes: new Map(),
    })
  }
}

/**
 * The naive flush: HGETALL, then one upsert per path (and one for the day
 * total), in one transaction or with a commit per row
 */
async function naiveFlush(
  redis: Redis,
  store: RedisStore,
  client: QueryClientContract,
  options: { transaction: boolean; sample?: () => void }
) {
  const raw = await redis.hgetall(store.keys.views(DAY))
  const entries = Object.entries(raw)
  /* four retained-heap samples: a few GCs in a loop of seconds */
  const every = Math.max(1, Math.ceil(entries.length / 4))
  const upsert = `INSERT INTO ${TRACKING_TABLES.pageViews} (path, date, views) VALUES (?, ?, ?)
    ON CONFLICT (path, date) DO UPDATE SET views = ${TRACKING_TABLES.pageViews}.views + excluded.views`
  const run = async (target: QueryClientContract) => {
    let total = 0
    let done = 0
    for (const [path, views] of entries) {
      await target.rawQuery(upsert, [path, DAY, Number(views)])
      total += Number(views)
      if (++done % every === 0) options.sample?.()
    }
    await target.rawQuery(
      `INSERT INTO ${TRACKING_TABLES.dailyStats} (date, views, unique_visitors, updated_at) VALUES (?, ?, 0, ?)
       ON CONFLICT (date) DO UPDATE SET views = ${TRACKING_TABLES.dailyStats}.views + excluded.views`,
      [DAY, total, new Date().toISOString().slice(0, 19).replace('T', ' ')]
    )
  }
  if (options.transaction) await client.transaction(async (trx) => run(trx))
  else await run(client)
  await redis.unlink(store.keys.views(DAY), store.keys.total(DAY), store.keys.visitors(DAY))
  return entries.length
}

async function rowCount(client: QueryClientContract, table: string = TRACKING_TABLES.pageViews) {
  const row = await client.from(table).count('* as total').first()
  return Number(row.total)
}

/**
 * Runs P4 on one database
 */
export async function benchFlush(options: {
  db: 'sqlite' | 'pg'
  redisPort: number
  small: number
  large: number
  autocommitSample: number
  log: (line: string) => void
}): Promise<FlushResult> {
  const { db } = await openBenchDatabase(options.db, { sqliteFile: 'bench-flush.sqlite3' })
  const client = db.connection()
  const redis = new Redis({ host: '127.0.0.1', port: options.redisPort })
  const keyPrefix = `bench-flush-${randomUUID().slice(0, 8)}`
  const store = new RedisStore({
    client: () => redis,
    keyPrefix,
    ttlSeconds: 3600,
    /* P4 flushes up to 100,000 paths of one day */
    maxPathsPerDay: Number.MAX_SAFE_INTEGER,
  })
  const target = { store, settings: { timezone: 'UTC' } }
  const check = async (paths: number, what: string) => {
    const rows = await rowCount(client)
    if (rows !== paths) throw new Error(`${what}: ${rows} rows in SQL, expected ${paths}`)
  }
  const checkDimensions = async (what: string) => {
    const rows = await rowCount(client, TRACKING_TABLES.dimensionStats)
    if (rows !== DIMENSION_ROWS) {
      throw new Error(`${what}: ${rows} dimension rows in SQL, expected ${DIMENSION_ROWS}`)
    }
  }
  try {
    await migrateFresh(client)
    const flushRun = async (paths: number): Promise<FlushRun> => {
      await emptyTables(client)
      await seedDay(store, paths)
      const measured = await withMemorySampling(() => flushPageViews(target, db, { date: DAY }))
      await check(paths, `flush of ${paths} paths`)
      await checkDimensions(`flush of ${paths} paths`)
      /*
       * again, untimed, with a GC and a heap sample at every chunk, SAMPLED_RUNS
       * times: a run's largest sample sometimes holds a few MiB more than the
       * samples before and after it (not yet traced), so the median run counts
       */
      const peaks: number[] = []
      for (let run = 0; run < SAMPLED_RUNS; run++) {
        await emptyTables(client)
        await seedDay(store, paths)
        const retained = retainedSampler()
        const sampled = {
          store: sampledStore(store, () => retained.sample()),
          settings: target.settings,
        }
        await flushPageViews(sampled, db, { date: DAY })
        await check(paths, `sampled flush of ${paths} paths`)
        await checkDimensions(`sampled flush of ${paths} paths`)
        peaks.push(retained.peak)
      }
      const retainedHeapDelta = median(peaks)
      const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1)
      options.log(
        `  ${options.db} flush ${paths} paths + ${DIMENSION_ROWS} dimension rows: ${Math.round(measured.ms)} ms, retained heap +${mib(retainedHeapDelta)} MiB (runs: ${peaks.map(mib).join(', ')})`
      )
      return {
        paths,
        ms: measured.ms,
        peakHeapDelta: measured.peakHeapDelta,
        peakRssDelta: measured.peakRssDelta,
        retainedHeapDelta,
      }
    }
    const small = await flushRun(options.small)
    const large = await flushRun(options.large)

    await emptyTables(client)
    await seedDay(store, options.large)
    const naiveRetained = retainedSampler()
    const naive = await withMemorySampling(() =>
      naiveFlush(redis, store, client, { transaction: true, sample: () => naiveRetained.sample() })
    )
    await check(options.large, `naive loop of ${options.large} paths`)
    options.log(
      `  ${options.db} naive ${options.large} paths: ${Math.round(naive.ms)} ms, retained heap +${(naiveRetained.peak / 2 ** 20).toFixed(1)} MiB`
    )

    await emptyTables(client)
    await seedDay(store, options.autocommitSample)
    const start = performance.now()
    await naiveFlush(redis, store, client, { transaction: false })
    const autocommitMs = performance.now() - start
    await check(options.autocommitSample, 'naive autocommit sample')

    return {
      db: options.db,
      small,
      large,
      naive: {
        paths: options.large,
        ms: naive.ms,
        peakHeapDelta: naive.peakHeapDelta,
        peakRssDelta: naive.peakRssDelta,
        retainedHeapDelta: naiveRetained.peak,
      },
      naiveAutocommitMsPerRow: autocommitMs / options.autocommitSample,
      autocommitSample: options.autocommitSample,
    }
  } finally {
    await deleteKeysOf(redis, keyPrefix)
    redis.disconnect()
    await db.manager.closeAll()
  }
}
