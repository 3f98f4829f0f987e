import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { Redis } from 'ioredis'
import { resolveSettings } from '../../src/settings.ts'
import { errors } from '../../index.ts'
import { flushPageViews } from '../../src/flush.ts'
import { MemoryStore } from '../../src/stores/memory_store.ts'
import { RedisStore } from '../../src/stores/redis_store.ts'
import { OTHER_PATH } from '../../src/stores/batch.ts'
import type { TrackingBatch, TrackingStore } from '../../src/stores/types.ts'
import type { TrackingConfig, TrackingStoreName } from '../../src/types.ts'
import {
  buildManager,
  deleteTrackingKeys,
  redisClient,
  storeBatch,
  truncateTrackingTables,
  uniqueKeyPrefix,
} from '../helpers.ts'

const DAY = '2026-05-04'
const DAY2 = '2026-05-05'

/** One view of each path on DAY, under a batch id */
function viewsOf(paths: string[], id?: string): TrackingBatch {
  return { ...storeBatch({ [DAY]: Object.fromEntries(paths.map((path) => [path, 1])) }), id }
}

/** A store of the given kind with a cap, cleaned up after the test */
function capped(
  name: TrackingStoreName,
  maxPathsPerDay: number,
  cleanup: (handler: () => Promise<void>) => void,
  keyPrefix = uniqueKeyPrefix('cap')
): TrackingStore {
  if (name === 'memory') return new MemoryStore({ ttlSeconds: 3600, maxPathsPerDay })
  cleanup(() => deleteTrackingKeys(keyPrefix))
  return new RedisStore({
    client: () => redisClient(),
    keyPrefix,
    ttlSeconds: 3600,
    maxPathsPerDay,
  })
}

function invalid(config: TrackingConfig) {
  try {
    resolveSettings(config)
  } catch (error) {
    if (error instanceof errors.E_TRACKING_INVALID_CONFIG) return error
    throw error
  }
  throw new Error('expected E_TRACKING_INVALID_CONFIG, nothing was thrown')
}

test.group('Bounded writes | config', () => {
  test('maxPathsPerDay and storeTimeoutMs defaults, any whole number from 1, legacy names', ({
    assert,
  }) => {
    const defaults = resolveSettings({})
    assert.equal(defaults.maxPathsPerDay, 10_000)
    assert.equal(defaults.storeTimeoutMs, 5000)
    assert.equal(resolveSettings({ maxPathsPerDay: 1 }).maxPathsPerDay, 1)
    assert.equal(resolveSettings({ maxPathsPerDay: 5_000_000 }).maxPathsPerDay, 5_000_000)
    assert.equal(resolveSettings({ storeTimeoutMs: 1 }).storeTimeoutMs, 1)
    const legacy = resolveSettings({}, { max_paths_per_day: 50, store_timeout_ms: 250 })
    assert.equal(legacy.maxPathsPerDay, 50)
    assert.equal(legacy.storeTimeoutMs, 250)
  })

  for (const [key, value, shown] of [
    ['maxPathsPerDay', 0, '0'],
    ['maxPathsPerDay', 2.5, '2.5'],
    ['maxPathsPerDay', '100', '"100"'],
    ['storeTimeoutMs', 0, '0'],
    ['storeTimeoutMs', -5, '-5'],
    ['storeTimeoutMs', '5s', '"5s"'],
  ] as const) {
    test(`${key}: ${shown} fails with E_TRACKING_INVALID_CONFIG naming the key`, ({ assert }) => {
      const error = invalid({ [key]: value } as TrackingConfig)
      assert.include(error.message, `"${key}"`)
      assert.include(error.message, shown)
    })
  }
})

for (const name of ['redis', 'memory'] as const) {
  test.group(`Bounded writes | ${name} store`, () => {
    test('new paths beyond maxPathsPerDay count under (other), also after a flush took the day aside', async ({
      assert,
      cleanup,
    }) => {
      const store = capped(name, 3, cleanup)
      await store.write(viewsOf(['/a', '/b', '/c', '/d', '/e']))
      assert.deepEqual(Object.fromEntries(await store.getDaily(DAY)), {
        '/a': 1,
        '/b': 1,
        '/c': 1,
        [OTHER_PATH]: 2,
      })
      assert.equal(await store.getDayTotal(DAY), 5)

      /* a flush renames the day's hash away; the admitted paths stay */
      assert.isTrue(await store.takeAside(DAY, 'flush-1'))
      await store.write(viewsOf(['/a', '/f', '/c']))
      assert.deepEqual(Object.fromEntries(await store.getDaily(DAY)), {
        '/a': 1,
        '/c': 1,
        [OTHER_PATH]: 1,
      })
      /* another day has a cap of its own */
      await store.write(storeBatch({ [DAY2]: { '/x': 1, '/y': 1, '/z': 1, '/w': 1 } }))
      const second = await store.getDaily(DAY2)
      assert.equal(second.get(OTHER_PATH), 1)
      assert.equal(second.size, 4)
    })

    test('the same batch sent twice counts once; another id counts again', async ({
      assert,
      cleanup,
    }) => {
      const store = capped(name, 100, cleanup)
      const batch = { ...storeBatch({ [DAY]: { '/a': 2, '/b': 1 } }, { [DAY]: ['u1', 'u2'] }) }
      batch.id = 'batch-1'
      batch.minutes.set(Math.floor(Date.now() / 60_000), new Set(['u1']))
      await store.write(batch)
      await store.write(batch)
      assert.deepEqual(Object.fromEntries(await store.getDaily(DAY)), { '/a': 2, '/b': 1 })
      assert.equal(await store.getDayTotal(DAY), 3)
      assert.equal(await store.getUniqueCount(DAY), 2)
      await store.write({ ...batch, id: 'batch-2' })
      assert.equal(await store.getDayTotal(DAY), 6)
    })
  })
}

test.group('Bounded writes | shared Redis', (group) => {
  group.each.setup(() => truncateTrackingTables())

  test('processes sharing Redis share one cap per day', async ({ assert, cleanup }) => {
    const keyPrefix = uniqueKeyPrefix('cap-shared')
    cleanup(() => deleteTrackingKeys(keyPrefix))
    const clients = [0, 1].map(() => {
      const redis = new Redis({
        host: process.env.REDIS_HOST ?? '127.0.0.1',
        port: Number(process.env.REDIS_PORT ?? 6379),
      })
      cleanup(async () => void redis.disconnect())
      return redis
    })
    const stores = clients.map(
      (redis) =>
        new RedisStore({ client: () => redis, keyPrefix, ttlSeconds: 3600, maxPathsPerDay: 50 })
    )
    /* two processes, 40 distinct paths each, 20 in common, written at the same time */
    const writes = []
    for (let round = 0; round < 10; round++) {
      for (const [n, store] of stores.entries()) {
        const paths = Array.from({ length: 4 }, (_, i) => `/p/${n * 20 + round * 4 + i}`)
        writes.push(store.write(viewsOf(paths)))
      }
    }
    await Promise.all(writes)
    const daily = await stores[0].getDaily(DAY)
    assert.equal(daily.size, 51)
    assert.equal(
      [...daily.values()].reduce((a, b) => a + b, 0),
      80
    )
    assert.equal(await stores[1].getDayTotal(DAY), 80)
  })

  test('a day in SQL holds at most maxPathsPerDay path rows plus (other)', async ({
    assert,
    cleanup,
  }) => {
    const tracking = buildManager({ maxPathsPerDay: 10, timezone: 'UTC' })
    cleanup(() => tracking.cleanup())
    const { manager } = tracking
    for (let i = 0; i < 25; i++) manager.recorder.recordView({ path: `/catch/${i}`, day: DAY })
    await manager.drain()
    await flushPageViews(manager, db)
    /* more new paths after the flush: still (other) */
    for (let i = 25; i < 40; i++) manager.recorder.recordView({ path: `/catch/${i}`, day: DAY })
    manager.recorder.recordView({ path: '/catch/0', day: DAY })
    await manager.drain()
    await flushPageViews(manager, db)

    const rows = await db.from('tracking_page_views').where('date', DAY).select('path', 'views')
    const byPath = Object.fromEntries(rows.map((row) => [row.path, Number(row.views)]))
    assert.lengthOf(rows, 11)
    assert.equal(byPath[OTHER_PATH], 30)
    assert.equal(byPath['/catch/0'], 2)
    assert.equal(
      rows.reduce((sum, row) => sum + Number(row.views), 0),
      41
    )
  })
})
