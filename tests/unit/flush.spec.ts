import { test } from '@japa/runner'
import { Redis } from 'ioredis'
import { setTimeout as sleep } from 'node:timers/promises'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import db from '@adonisjs/lucid/services/db'
import {
  MAX_PATH_LENGTH,
  flushPageViews,
  parseDay,
  resolveDaySelection,
  sqlPath,
} from '../../src/flush.ts'
import type { FlushOptions, FlushTarget } from '../../src/flush.ts'
import type { TrackingStoreName } from '../../src/types.ts'
import { parseRetention, prunePageViews } from '../../src/prune.ts'
import { AutoFlush } from '../../src/auto_flush.ts'
import PageView from '../../src/models/page_view.ts'
import DailyStat from '../../src/models/daily_stat.ts'
import { RedisStore } from '../../src/stores/redis_store.ts'
import { PathSketch } from '../../src/stores/path_sketch.ts'
import {
  buildManager,
  dbName,
  deleteTrackingKeys,
  near,
  redisClient,
  truncateTrackingTables,
  uniqueKeyPrefix,
  storeBatch as batch,
} from '../helpers.ts'
import { DateTime } from 'luxon'

const DAY = '2026-03-10'
const DAY2 = '2026-03-11'
const DAY3 = '2026-03-12'

/** page views of a day as { path: views } */
async function rowsOf(day: string): Promise<Record<string, number>> {
  const rows = await db.from('tracking_page_views').where('date', day).select('path', 'views')
  return Object.fromEntries(rows.map((row) => [row.path, Number(row.views)]))
}

async function sqlTotal(table: string, day?: string): Promise<number> {
  const query = db.from(table).sum('views as total')
  if (day) query.where('date', day)
  const row = await query.first()
  return Number(row?.total ?? 0)
}

async function countRows(table: string): Promise<number> {
  const row = await db.from(table).count('* as total').first()
  return Number(row?.total ?? 0)
}

const CHILD = fileURLToPath(new URL('../fixtures/flush_child.ts', import.meta.url))

/**
 * Runs tests/fixtures/flush_child.ts: a flusher with its own database and
 * Redis connections, in its own process
 */
function runChild(options: { keyPrefix: string; mode: 'loop' | 'kill-before' | 'kill-after' }) {
  const connection = db.manager.get(db.primaryConnectionName)!.config
  return new Promise<{
    code: number | null
    signal: string | null
    stdout: string
    stderr: string
  }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=tracking-source', '--import=@poppinss/ts-exec', CHILD],
      {
        cwd: fileURLToPath(new URL('../../', import.meta.url)),
        env: { ...process.env, FLUSH_CHILD: JSON.stringify({ ...options, connection }) },
      }
    )
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

/** a column of the day's tracking_daily_stats row, as a number */
async function dayStat(day: string, column: 'views' | 'unique_visitors'): Promise<number> {
  const row = await db.from('tracking_daily_stats').where('date', day).first()
  return Number(row?.[column] ?? Number.NaN)
}

/** What a flush with nothing to move returns */
const NOTHING_FLUSHED = { days: 0, paths: 0, views: 0, recovered: 0 }

/**
 * A manager on its own key prefix (Redis unless `store` says otherwise),
 * cleaned up after the test, with its store and a flush of it
 */
function tracked(cleanup: (handler: () => Promise<void>) => void, store?: TrackingStoreName) {
  /* no path cap: the flush specs write more than a day's default 10,000 paths */
  const tracking = buildManager({ maxPathsPerDay: Number.MAX_SAFE_INTEGER }, { store })
  cleanup(() => tracking.cleanup())
  return {
    ...tracking,
    store: tracking.manager.store,
    flush: (options?: FlushOptions) => flushPageViews(tracking.manager, db, options),
  }
}

/** views a flush added */
async function flushedViews(flush: Promise<{ views: number }>): Promise<number> {
  const summary = await flush
  return summary.views
}

/** A separate ioredis client: another process's connection */
function redisConnection() {
  const client = new Redis({
    host: process.env.REDIS_HOST ?? '127.0.0.1',
    port: Number(process.env.REDIS_PORT ?? 6379),
    maxRetriesPerRequest: 2,
  })
  client.on('error', () => {})
  return client
}

test.group(`flushPageViews (${dbName})`, (group) => {
  group.each.setup(() => truncateTrackingTables())

  test('live counts and existing rows add up', async ({ assert, cleanup }) => {
    const tracking = tracked(cleanup)
    const { store } = tracking

    await PageView.create({ path: '/a', date: DateTime.fromISO(DAY), views: 10 })
    await DailyStat.create({ date: DateTime.fromISO(DAY), views: 10, uniqueVisitors: 0 })
    await store.write(batch({ [DAY]: { '/a': 5, '/b': 3 }, [DAY2]: { '/a': 1 } }))

    const summary = await tracking.flush()
    assert.deepEqual(summary, { days: 2, paths: 3, views: 9, recovered: 0 })
    assert.deepEqual(await rowsOf(DAY), { '/a': 15, '/b': 3 })
    assert.deepEqual(await rowsOf(DAY2), { '/a': 1 })
    assert.equal(await dayStat(DAY, 'views'), 18)
    assert.equal(await dayStat(DAY2, 'views'), 1)
    assert.equal(await countRows('tracking_flushes'), 2)

    /* the live keys are gone, nothing is left aside */
    assert.deepEqual(await store.pendingDays(), [])
    assert.deepEqual(await store.takenFlushes(), [])
    assert.equal(await store.getDayTotal(DAY), 0)

    /* the model reads what the flush wrote */
    const row = await PageView.query().where('path', '/a').where('date', DAY).firstOrFail()
    assert.equal(row.views, 15)
    assert.equal(row.date.toISODate(), DAY)
  })

  test('empty Redis flushes 0 and writes nothing', async ({ assert, cleanup }) => {
    const tracking = tracked(cleanup)
    assert.deepEqual(await tracking.flush(), NOTHING_FLUSHED)
    assert.deepEqual(await tracking.flush({ date: DAY }), NOTHING_FLUSHED)
    for (const table of ['tracking_page_views', 'tracking_daily_stats', 'tracking_flushes']) {
      assert.equal(await countRows(table), 0, table)
    }
  })

  test('the memory store flushes the same way (visitors as sketches too)', async ({
    assert,
    cleanup,
  }) => {
    const tracking = tracked(cleanup, 'memory')
    await tracking.store.write(batch({ [DAY]: { '/m': 4 } }, { [DAY]: ['a', 'b', 'c'] }))
    assert.deepEqual(await tracking.flush(), {
      days: 1,
      paths: 1,
      views: 4,
      recovered: 0,
    })
    assert.deepEqual(await rowsOf(DAY), { '/m': 4 })
    assert.equal(await dayStat(DAY, 'unique_visitors'), 3)
    const stat = await DailyStat.findOrFail(DAY)
    assert.instanceOf(stat.visitorsSketch, Buffer)
    assert.deepEqual(await tracking.flush(), NOTHING_FLUSHED)
  })

  test('a day flushed twice is not doubled', async ({ assert, cleanup }) => {
    const tracking = tracked(cleanup)
    await tracking.store.write(batch({ [DAY]: { '/a': 7, '/b': 2 } }))
    assert.equal(await flushedViews(tracking.flush({ date: DAY })), 9)
    assert.deepEqual(await tracking.flush({ date: DAY }), NOTHING_FLUSHED)
    assert.deepEqual(await tracking.flush(), NOTHING_FLUSHED)
    assert.deepEqual(await rowsOf(DAY), { '/a': 7, '/b': 2 })
    assert.equal(await dayStat(DAY, 'views'), 9)
  })

  test('--date and --from/--to flush only the days asked for', async ({ assert, cleanup }) => {
    const tracking = tracked(cleanup)
    const { store } = tracking
    await store.write(batch({ [DAY]: { '/a': 1 }, [DAY2]: { '/a': 2 }, [DAY3]: { '/a': 4 } }))

    assert.equal(await flushedViews(tracking.flush({ date: DAY2 })), 2)
    assert.deepEqual(await store.pendingDays(), [DAY, DAY3])
    assert.equal(await flushedViews(tracking.flush({ from: DAY3, to: DAY3 })), 4)
    assert.deepEqual(await store.pendingDays(), [DAY])
    assert.equal(await flushedViews(tracking.flush({ to: DAY })), 1)
    assert.equal(await sqlTotal('tracking_page_views'), 7)
  })

  test('dates are validated and the message names the option', async ({ assert, cleanup }) => {
    assert.equal(parseDay('2026-02-28', '--date'), '2026-02-28')
    assert.throws(() => parseDay('2026-13-45', '--date'), /"--date": "2026-13-45"/)
    assert.throws(() => parseDay('2026-02-30', 'date'), /"date"/)
    assert.throws(() => parseDay('2026-3-1', 'date'), /"date"/)
    assert.throws(() => resolveDaySelection({ from: DAY2, to: DAY }, '--'), /"--from".*after --to/)
    assert.throws(() => resolveDaySelection({ date: DAY, to: DAY }, '--'), /"--date"/)
    const tracking = tracked(cleanup)
    await assert.rejects(() => tracking.flush({ date: 'yesterday' }), /"date"/)
  })

  test('paths are stored valid, cut at 500 characters, case-sensitive; 3000 paths in chunks', async ({
    assert,
    cleanup,
  }) => {
    const tracking = tracked(cleanup)
    const long = `/${'x'.repeat(600)}`
    const emoji = `/${'😀'.repeat(520)}`
    const views: Record<string, number> = {
      [long]: 2,
      [`${long}-other-tail`]: 3,
      [emoji]: 1,
      '/About': 1,
      '/about': 4,
      '/café/ß': 6,
    }
    for (let i = 0; i < 3000; i++) views[`/p/${i}`] = (i % 5) + 1
    await tracking.store.write(batch({ [DAY]: views }))
    const expected = Object.values(views).reduce((a, b) => a + b, 0)

    const summary = await tracking.flush({ chunkSize: 100 })
    assert.equal(summary.views, expected)
    assert.equal(summary.paths, 3000 + 5)
    const rows = await rowsOf(DAY)
    assert.equal(Object.keys(rows).length, 3000 + 5)
    assert.equal(rows[long.slice(0, 500)], 5)
    assert.equal(rows['/About'], 1)
    assert.equal(rows['/about'], 4)
    assert.equal(rows['/café/ß'], 6)
    assert.equal(rows[sqlPath(emoji)], 1)
    assert.equal(Array.from(sqlPath(emoji)).length, 500)
    assert.equal(rows['/p/2999'], 5)
    assert.equal(await sqlTotal('tracking_page_views'), expected)
    assert.equal(await dayStat(DAY, 'views'), expected)
    assert.equal(sqlPath(''), '/')
    assert.equal(sqlPath('/a\u0000\uD800'), '/a\uFFFD\uFFFD')
  })

  test('raw paths that become one SQL path in different chunks are one row in the summary', async ({
    assert,
    cleanup,
  }) => {
    /* the memory store yields its paths in write order: chunkSize 1 puts each in its own chunk */
    const tracking = tracked(cleanup, 'memory')
    const stem = `/${'y'.repeat(MAX_PATH_LENGTH - 1)}`
    await tracking.store.write(
      batch({
        [DAY]: {
          [`${stem}-first-tail`]: 1,
          '/a': 1,
          [`${stem}-second-tail`]: 2,
          [stem]: 3,
          '': 1,
          '/': 1,
          '/b\uD800': 1,
          '/b\uFFFD': 1,
        },
      })
    )

    const summary = await tracking.flush({ chunkSize: 1 })
    assert.deepEqual(summary, { days: 1, paths: 4, views: 11, recovered: 0 })
    assert.deepEqual(await rowsOf(DAY), { [stem]: 6, '/a': 1, '/': 2, '/b\uFFFD': 2 })
  })

  test('the day keeps a sketch of its distinct paths, merged by every flush', async ({
    assert,
    cleanup,
  }) => {
    const tracking = tracked(cleanup)
    const { store } = tracking
    const pathsOf = async () => {
      const stat = await DailyStat.findOrFail(DAY)
      return PathSketch.fromBuffer(stat.pathsSketch)!
    }

    await store.write(batch({ [DAY]: { '/a': 1, '/b': 2 }, [DAY2]: { '/z': 1 } }))
    await tracking.flush()
    await store.write(batch({ [DAY]: { '/b': 1, '/c': 1 } }))
    await tracking.flush()
    const small = await pathsOf()
    assert.isTrue(small.exact)
    assert.equal(small.count(), 3)

    /* 3,000 more paths in chunks of 1,000: the sketch is merged once per flush, not per chunk */
    const views: Record<string, number> = {}
    for (let i = 0; i < 3000; i++) views[`/p/${i}`] = 1
    await store.write(batch({ [DAY]: views }))
    const summary = await tracking.flush({ chunkSize: 1000 })
    assert.equal(summary.paths, 3000)
    assert.equal(await countRows('tracking_page_views'), 3004)
    const large = await pathsOf()
    assert.isFalse(large.exact)
    near(assert, large.count(), 3003)
  })

  test('12,000 paths in one chunk add to existing rows (more rows than one statement holds)', async ({
    assert,
    cleanup,
  }) => {
    /* paths a JSON text or an SQL array literal must escape, kept byte for byte */
    const awkward = [
      '/q"uote',
      "/it's",
      '/back\\slash',
      '/{brace},comma',
      'NULL',
      '/tab\there',
      '/😀\uFFFD',
    ]
    const pathOf = (i: number) => (i < awkward.length ? awkward[i] : `/big/${i}`)
    const tracking = tracked(cleanup)
    const first: Record<string, number> = {}
    for (let i = 0; i < 6000; i++) first[pathOf(i)] = 1
    await tracking.store.write(batch({ [DAY]: first }))
    const before = await tracking.flush({ chunkSize: 500 })
    assert.equal(before.paths, 6000)

    /* one chunk of 12,000: one statement on PostgreSQL and SQLite, three on MySQL */
    const second: Record<string, number> = {}
    for (let i = 0; i < 12_000; i++) second[pathOf(i)] = (i % 3) + 1
    await tracking.store.write(batch({ [DAY]: second }))
    const summary = await tracking.flush({ chunkSize: 20_000 })
    assert.deepEqual(summary, { days: 1, paths: 12_000, views: 24_000, recovered: 0 })

    const rows = await rowsOf(DAY)
    assert.equal(Object.keys(rows).length, 12_000)
    for (const [i, path] of awkward.entries()) assert.equal(rows[path], 1 + (i % 3) + 1, path)
    assert.equal(rows['/big/5999'], 1 + (5999 % 3) + 1)
    assert.equal(rows['/big/6000'], (6000 % 3) + 1)
    assert.equal(rows['/big/11999'], (11_999 % 3) + 1)
    assert.equal(await sqlTotal('tracking_page_views'), 30_000)
    assert.equal(await dayStat(DAY, 'views'), 30_000)
    assert.deepEqual(await tracking.store.takenFlushes(), [])
  })

  test('a store read that fails mid-flush (the next chunk is read during a write) rolls back; a re-run adds it once', async ({
    assert,
    cleanup,
  }) => {
    /* the memory store yields exactly chunkSize paths per chunk */
    const tracking = tracked(cleanup, 'memory')
    const { store } = tracking
    const views: Record<string, number> = {}
    for (let i = 0; i < 50; i++) views[`/r/${i}`] = 2
    await store.write(batch({ [DAY]: views }))

    const failing = new Proxy(store, {
      get(target, property) {
        if (property === 'readTaken') {
          return async function* (flushId: string, chunkSize: number) {
            let reads = 0
            for await (const chunk of target.readTaken(flushId, chunkSize)) {
              if (++reads === 3) throw new Error('store connection lost')
              yield chunk
            }
          }
        }
        const value = Reflect.get(target, property, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    await assert.rejects(
      () =>
        flushPageViews({ store: failing, settings: { timezone: 'UTC' } }, db, { chunkSize: 10 }),
      'store connection lost'
    )
    assert.equal(await countRows('tracking_page_views'), 0)
    assert.equal(await countRows('tracking_flushes'), 0)
    assert.lengthOf(await store.takenFlushes(), 1)

    assert.deepEqual(await tracking.flush({ chunkSize: 10 }), {
      days: 1,
      paths: 50,
      views: 100,
      recovered: 1,
    })
    assert.equal(await sqlTotal('tracking_page_views'), 100)
    assert.equal(await dayStat(DAY, 'views'), 100)
    assert.deepEqual(await store.takenFlushes(), [])
  })

  test('a failure before the commit, then a re-run: exact totals', async ({ assert, cleanup }) => {
    const tracking = tracked(cleanup)
    const { store } = tracking
    await store.write(batch({ [DAY]: { '/a': 5, '/b': 1 } }))

    await assert.rejects(
      () =>
        tracking.flush({
          chunkSize: 1,
          hooks: {
            beforeCommit: () => {
              throw new Error('crash before commit')
            },
          },
        }),
      'crash before commit'
    )
    assert.equal(await countRows('tracking_page_views'), 0)
    assert.equal(await countRows('tracking_flushes'), 0)
    assert.lengthOf(await store.takenFlushes(), 1)

    /* traffic keeps arriving for the same day meanwhile */
    await store.write(batch({ [DAY]: { '/a': 2 } }))
    const summary = await tracking.flush()
    assert.equal(summary.recovered, 1)
    assert.equal(summary.views, 8)
    assert.deepEqual(await rowsOf(DAY), { '/a': 7, '/b': 1 })
    assert.equal(await dayStat(DAY, 'views'), 8)
    assert.deepEqual(await store.takenFlushes(), [])
  })

  test('a failure after the commit, before the Redis delete, then a re-run: exact totals', async ({
    assert,
    cleanup,
  }) => {
    const tracking = tracked(cleanup)
    const { store } = tracking
    await store.write(batch({ [DAY]: { '/a': 5, '/b': 1 }, [DAY2]: { '/c': 3 } }))

    await assert.rejects(
      () =>
        tracking.flush({
          hooks: {
            afterCommit: () => {
              throw new Error('crash after commit')
            },
          },
        }),
      'crash after commit'
    )
    /* committed: SQL has the first day, Redis still holds it aside */
    assert.deepEqual(await rowsOf(DAY), { '/a': 5, '/b': 1 })
    assert.lengthOf(await store.takenFlushes(), 1)
    assert.deepEqual(await store.pendingDays(), [DAY2])

    await store.write(batch({ [DAY]: { '/b': 10 } }))
    const summary = await tracking.flush()
    assert.equal(summary.recovered, 1)
    assert.equal(summary.views, 13)
    assert.deepEqual(await rowsOf(DAY), { '/a': 5, '/b': 11 })
    assert.deepEqual(await rowsOf(DAY2), { '/c': 3 })
    assert.equal(await sqlTotal('tracking_daily_stats'), 19)
    assert.deepEqual(await store.takenFlushes(), [])
    assert.deepEqual(await store.pendingDays(), [])
  })

  test('4 concurrent flushers on their own connections while traffic arrives', async ({
    assert,
    cleanup,
  }) => {
    const keyPrefix = uniqueKeyPrefix('flush-race')
    const primary = db.primaryConnectionName
    const config = db.manager.get(primary)!.config
    const flushers: Array<{ target: FlushTarget; redis: Redis; connection: string }> = []
    for (let i = 0; i < 4; i++) {
      /*
       * PostgreSQL and MySQL: a pool per flusher. SQLite: better-sqlite3 waits for
       * a lock synchronously, so in one process the flushers share the one
       * connection (separate processes are covered by the child process test).
       */
      const connection = dbName === 'sqlite' ? primary : `tracking_flusher_${i}`
      if (connection !== primary)
        db.manager.add(connection, { ...config, pool: { min: 0, max: 2 } })
      const redis = redisConnection()
      const store = new RedisStore({ client: () => redis, keyPrefix, ttlSeconds: 3600 })
      flushers.push({ target: { store, settings: { timezone: 'UTC' } }, redis, connection })
    }
    const writerRedis = redisConnection()
    const writer = new RedisStore({ client: () => writerRedis, keyPrefix, ttlSeconds: 3600 })
    cleanup(async () => {
      for (const flusher of flushers) {
        flusher.redis.disconnect()
        if (flusher.connection !== primary) await db.manager.release(flusher.connection)
      }
      writerRedis.disconnect()
      await deleteTrackingKeys(keyPrefix)
    })

    const sent = new Map<string, number>()
    const sentPairs = new Map<string, number>()
    const pairVisitors = new Map<string, Set<string>>()
    let writing = true
    const traffic = (async () => {
      for (let i = 0; i < 300; i++) {
        const day = [DAY, DAY2, DAY3][i % 3]
        const views: Record<string, number> = {}
        for (let j = 0; j < 10; j++) {
          const path = `/p/${(i * 7 + j) % 40}`
          views[path] = (views[path] ?? 0) + 1 + (j % 3)
        }
        const written = batch({ [day]: views }, { [day]: [`v${i % 50}`] })
        /* and the dimension counts of those views: exactly once too, under the same race */
        const pair = `${day} source:s${i % 5}`
        const pairViews = Object.values(views).reduce((a, b) => a + b, 0)
        written.days.get(day)!.dimensions = new Map([
          [`source:s${i % 5}`, { views: pairViews, visitors: new Set([`v${i % 50}`]) }],
        ])
        await writer.write(written)
        for (const [path, count] of Object.entries(views)) {
          sent.set(`${day} ${path}`, (sent.get(`${day} ${path}`) ?? 0) + count)
        }
        sentPairs.set(pair, (sentPairs.get(pair) ?? 0) + pairViews)
        if (!pairVisitors.has(pair)) pairVisitors.set(pair, new Set())
        pairVisitors.get(pair)!.add(`v${i % 50}`)
        if (i % 10 === 0) await sleep(1)
      }
      writing = false
    })()

    let runs = 0
    const flushing = flushers.map(async ({ target, connection }) => {
      while (writing) {
        await flushPageViews(target, db, { connection, chunkSize: 7 })
        runs++
      }
    })
    await Promise.all([traffic, ...flushing])
    /* whatever arrived after the last flush */
    await flushPageViews(flushers[0].target, db, { connection: flushers[0].connection })

    const expected = [...sent.values()].reduce((a, b) => a + b, 0)
    assert.isAbove(runs, 4)
    assert.equal(await sqlTotal('tracking_page_views'), expected)
    assert.equal(await sqlTotal('tracking_daily_stats'), expected)
    const rows = await db.from('tracking_page_views').select('path', 'date', 'views')
    const stored = new Map<string, number>()
    for (const row of rows) {
      const day = DateTime.fromJSDate(new Date(row.date)).toUTC().toISODate() ?? String(row.date)
      stored.set(`${typeof row.date === 'string' ? row.date : day} ${row.path}`, Number(row.views))
    }
    assert.deepEqual(Object.fromEntries([...stored].sort()), Object.fromEntries([...sent].sort()))
    assert.deepEqual(await writer.takenFlushes(), [])
    assert.deepEqual(await writer.pendingDays(), [])
    for (const day of [DAY, DAY2, DAY3]) near(assert, await dayStat(day, 'unique_visitors'), 50)
    const dimensionRows = await db
      .from('tracking_dimension_stats')
      .select('date', 'dimension', 'value', 'views', 'unique_visitors')
    const pairs = new Map<string, number>()
    for (const row of dimensionRows) {
      const day =
        typeof row.date === 'string' ? row.date : DateTime.fromJSDate(row.date).toISODate()
      const key = `${day} ${row.dimension}:${row.value}`
      pairs.set(key, Number(row.views))
      assert.equal(Number(row.unique_visitors), pairVisitors.get(key)!.size, key)
    }
    assert.deepEqual(
      Object.fromEntries([...pairs].sort()),
      Object.fromEntries([...sentPairs].sort())
    )
  }).timeout(60_000)

  test('unique visitors survive the Redis keys and days can be counted together', async ({
    assert,
    cleanup,
  }) => {
    const tracking = tracked(cleanup)
    const { store } = tracking
    const ids = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) => `visitor-${from + i}`)

    await store.write(
      batch(
        { [DAY]: { '/': 100 }, [DAY2]: { '/': 1 } },
        { [DAY]: ids(0, 100), [DAY2]: ids(50, 150) }
      )
    )
    await tracking.flush()
    near(assert, await dayStat(DAY, 'unique_visitors'), 100)

    /* the day's keys expire */
    await deleteTrackingKeys(tracking.keyPrefix)
    assert.equal(await store.getUniqueCount(DAY), 0)
    const stat = await DailyStat.findOrFail(DAY)
    near(assert, stat.uniqueVisitors, 100)
    assert.instanceOf(stat.visitorsSketch, Buffer)

    /* later traffic of the same day (old and new visitors) merges with the stored sketch */
    await store.write(
      batch({ [DAY]: { '/': 1 } }, { [DAY]: [...ids(80, 100), ...ids(1000, 1050)] })
    )
    await tracking.flush()
    near(assert, await dayStat(DAY, 'unique_visitors'), 150)

    /* union of several days from the stored sketches only: 0..99, 1000..1049 and 50..149 */
    await deleteTrackingKeys(tracking.keyPrefix)
    const sketches = await DailyStat.query().whereIn('date', [DAY, DAY2]).orderBy('date')
    assert.lengthOf(sketches, 2)
    const union = await store.countUnion(
      sketches.map((row) => row.visitorsSketch!),
      []
    )
    near(assert, union, 200)

    /* and with a live day on top */
    await store.write(
      batch({ [DAY3]: { '/': 1 } }, { [DAY3]: [...ids(0, 10), ...ids(5000, 5010)] })
    )
    near(
      assert,
      await store.countUnion(
        sketches.map((row) => row.visitorsSketch!),
        [DAY3]
      ),
      210
    )
  })

  test('a flusher process killed before / after its commit, then a re-run: exact totals', async ({
    assert,
    cleanup,
  }) => {
    const tracking = tracked(cleanup)
    const { store } = tracking
    await store.write(batch({ [DAY]: { '/a': 5, '/b': 1, '/c': 2 } }))

    const killedBefore = await runChild({ keyPrefix: tracking.keyPrefix, mode: 'kill-before' })
    assert.equal(killedBefore.signal, 'SIGKILL')
    assert.equal(await countRows('tracking_page_views'), 0)
    assert.lengthOf(await store.takenFlushes(), 1)

    await store.write(batch({ [DAY]: { '/a': 1 }, [DAY2]: { '/d': 4 } }))
    const killedAfter = await runChild({ keyPrefix: tracking.keyPrefix, mode: 'kill-after' })
    assert.equal(killedAfter.signal, 'SIGKILL')
    /* the child recovered the first flush, committed it and died before deleting it */
    assert.deepEqual(await rowsOf(DAY), { '/a': 5, '/b': 1, '/c': 2 })
    assert.isNotEmpty(await store.takenFlushes())

    const summary = await tracking.flush()
    assert.deepEqual(await rowsOf(DAY), { '/a': 6, '/b': 1, '/c': 2 })
    assert.deepEqual(await rowsOf(DAY2), { '/d': 4 })
    assert.equal(await sqlTotal('tracking_daily_stats'), 13)
    assert.isAtLeast(summary.recovered, 1)
    assert.deepEqual(await store.takenFlushes(), [])
    assert.deepEqual(await store.pendingDays(), [])
  }).timeout(60_000)

  test('4 flusher processes while traffic arrives', async ({ assert, cleanup }) => {
    const tracking = tracked(cleanup)
    const { store } = tracking
    const children = Array.from({ length: 4 }, () =>
      runChild({ keyPrefix: tracking.keyPrefix, mode: 'loop' })
    )

    /* traffic starts once every child is connected and flushing */
    while (Number(await redisClient().get(`{${tracking.keyPrefix}}:test:ready`)) < 4)
      await sleep(20)
    let expected = 0
    for (let i = 0; i < 400; i++) {
      const day = [DAY, DAY2][i % 2]
      await store.write(batch({ [day]: { [`/p/${i % 13}`]: 2, '/': 1 } }))
      expected += 3
      if (i % 10 === 0) await sleep(5)
    }
    await redisClient().set(`{${tracking.keyPrefix}}:test:stop`, '1')
    const results = await Promise.all(children)
    for (const result of results) assert.equal(result.code, 0, result.stderr)
    assert.isAbove(
      results.reduce((sum, result) => sum + JSON.parse(result.stdout || '{"runs":0}').runs, 0),
      4
    )
    await tracking.flush()
    assert.equal(await sqlTotal('tracking_page_views'), expected)
    assert.equal(await sqlTotal('tracking_daily_stats'), expected)
    const rows = await rowsOf(DAY)
    assert.equal(rows['/'], 200)
    assert.deepEqual(await store.takenFlushes(), [])
  }).timeout(120_000)
})

test.group('tracking prune', (group) => {
  group.each.setup(() => truncateTrackingTables())

  test('deletes rows older than the retention (dimensions and visits too); dry run deletes nothing', async ({
    assert,
  }) => {
    const now = DateTime.fromISO('2026-06-30T12:00:00', { zone: 'UTC' })
    for (const day of ['2025-01-01', '2026-06-19', '2026-06-20', '2026-06-30']) {
      await PageView.create({ path: '/a', date: DateTime.fromISO(day), views: 1 })
      await DailyStat.create({ date: DateTime.fromISO(day), views: 1, uniqueVisitors: 1 })
      await db.table('tracking_dimension_stats').insert([
        { date: day, dimension: 'source', value: 'github.com', views: 1, unique_visitors: 1 },
        { date: day, dimension: 'event', value: 'signup', views: 1, unique_visitors: 1 },
      ])
      await db.table('tracking_visit_stats').insert({ date: day, visits: 1, views: 1, bounces: 1 })
      await db.table('tracking_visit_pages').insert({ date: day, path: '/a', entries: 1, exits: 1 })
    }
    assert.equal(parseRetention('400d'), 400)
    assert.equal(parseRetention('2w'), 14)
    assert.equal(parseRetention('10'), 10)
    assert.isNull(parseRetention('ten days'))
    assert.isNull(parseRetention('0d'))

    const dry = await prunePageViews(db, { olderThanDays: 10, now, dryRun: true })
    assert.deepEqual(dry, {
      cutoff: '2026-06-20',
      dryRun: true,
      pageViews: 2,
      dailyStats: 2,
      flushes: 0,
      dimensionStats: 4,
      visitRows: 4,
    })
    assert.equal(await countRows('tracking_page_views'), 4)

    const done = await prunePageViews(db, { olderThanDays: 10, now })
    assert.deepEqual(done, {
      cutoff: '2026-06-20',
      dryRun: false,
      pageViews: 2,
      dailyStats: 2,
      flushes: 0,
      dimensionStats: 4,
      visitRows: 4,
    })
    const kept = await PageView.query().orderBy('date')
    assert.deepEqual(
      kept.map((row) => row.date.toISODate()),
      ['2026-06-20', '2026-06-30']
    )
    assert.equal(await countRows('tracking_daily_stats'), 2)
    /* the dimension rows and the visit figures of the kept days stay */
    assert.equal(await countRows('tracking_dimension_stats'), 4)
    assert.equal(await countRows('tracking_visit_stats'), 2)
    assert.equal(await countRows('tracking_visit_pages'), 2)
  })
})

test.group('AutoFlush', (group) => {
  group.each.setup(() => truncateTrackingTables())

  test('flushes periodically and only one instance at a time holds the lock', async ({
    assert,
    cleanup,
  }) => {
    const first = buildManager({ autoFlush: { every: '1s' } })
    const second = buildManager({ autoFlush: { every: '1s' }, keyPrefix: first.keyPrefix })
    const a = new AutoFlush(first.manager, db)
    const b = new AutoFlush(second.manager, db)
    cleanup(async () => {
      await a.stop()
      await b.stop()
      await second.manager.shutdown()
      await first.cleanup()
    })

    first.manager.recorder.recordView({ path: '/auto', day: DAY, visitor: 'u1' })
    second.manager.recorder.recordView({ path: '/auto', day: DAY, visitor: 'u2' })
    const results = await Promise.all([a.tick(), b.tick()])
    /* one ran, the other found the lock taken */
    assert.equal(results.filter((summary) => summary === null).length, 1)
    /* the one that ran drained its own buffer; the other buffer is flushed on its next tick */
    await second.manager.drain()
    await first.manager.drain()
    assert.isNotNull(await a.tick())
    assert.deepEqual(await rowsOf(DAY), { '/auto': 2 })

    a.start()
    assert.isTrue(a.running)
    await a.stop()
    assert.isFalse(a.running)
  })
})
