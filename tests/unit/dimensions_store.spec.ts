/*
|--------------------------------------------------------------------------
| Dimension counts: stores, write buffer and flush
|--------------------------------------------------------------------------
|
| Views and visitors per (day, dimension, value) on both stores (real
| Redis and memory), the per-day cap with '(other)', a TTL on every Redis
| key, the take-aside of a flush and the exactly-once flush into
| tracking_dimension_stats.
|
*/

import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { flushPageViews } from '../../src/flush.ts'
import { MemoryStore } from '../../src/stores/memory_store.ts'
import { RedisHll } from '../../src/stores/redis_hll.ts'
import { RedisStore } from '../../src/stores/redis_store.ts'
import { WriteBuffer } from '../../src/write_buffer.ts'
import type { TakenDimension, TrackingBatch, TrackingStore } from '../../src/stores/types.ts'
import type { TrackingStoreName } from '../../src/types.ts'
import { OTHER_VALUE } from '../../src/dimensions/names.ts'
import { segment } from '../visit_helpers.ts'
import {
  dbName,
  deleteTrackingKeys,
  near,
  redisClient,
  truncateTrackingTables,
  uniqueKeyPrefix,
} from '../helpers.ts'

const STORES: TrackingStoreName[] = ['redis', 'memory']
const DAY = '2026-04-10'
const DAY2 = '2026-04-11'
const TABLE = 'tracking_dimension_stats'

type Cleanup = (fn: () => void | Promise<void>) => void

function storeOf(
  kind: TrackingStoreName,
  cleanup: Cleanup,
  options: { maxValuesPerDimension?: number; keyPrefix?: string } = {}
): TrackingStore {
  if (kind === 'memory') {
    return new MemoryStore({
      ttlSeconds: 3600,
      maxValuesPerDimension: options.maxValuesPerDimension,
    })
  }
  const keyPrefix = options.keyPrefix ?? uniqueKeyPrefix('dims')
  cleanup(() => deleteTrackingKeys(keyPrefix))
  return new RedisStore({
    client: () => redisClient(),
    keyPrefix,
    ttlSeconds: 3600,
    maxValuesPerDimension: options.maxValuesPerDimension,
  })
}

function ids(from: number, to: number, label = 'v'): string[] {
  return Array.from({ length: to - from }, (_, i) => `${label}-${from + i}`)
}

/**
 * A batch of one day: paths -> views, and dimensionKey() -> [views, visitors]
 */
function dimBatch(
  day: string,
  paths: Record<string, number>,
  dimensions: Record<string, [number, string[]]>,
  id?: string
): TrackingBatch {
  return {
    id,
    days: new Map([
      [
        day,
        {
          views: new Map(Object.entries(paths)),
          visitors: new Set(Object.values(dimensions).flatMap(([, visitors]) => visitors)),
          dimensions: new Map(
            Object.entries(dimensions).map(([key, [views, visitors]]) => [
              key,
              { views, visitors: new Set(visitors) },
            ])
          ),
        },
      ],
    ]),
    minutes: new Map(),
  }
}

async function takenOf(store: TrackingStore, flushId: string, chunkSize = 1000) {
  const rows: TakenDimension[] = []
  for await (const chunk of store.readTakenDimensions(flushId, chunkSize)) rows.push(...chunk)
  return rows.sort((a, b) => `${a.dimension}:${a.value}`.localeCompare(`${b.dimension}:${b.value}`))
}

/** tracking_dimension_stats of a day as { 'dimension:value': [views, unique_visitors] } */
async function sqlDimensions(day: string): Promise<Record<string, [number, number]>> {
  const rows = await db
    .from(TABLE)
    .where('date', day)
    .select('dimension', 'value', 'views', 'unique_visitors')
  return Object.fromEntries(
    rows.map((row) => [
      `${row.dimension}:${row.value}`,
      [Number(row.views), Number(row.unique_visitors)],
    ])
  )
}

for (const kind of STORES) {
  test.group(`Dimensions | ${kind} store`, () => {
    test('views per value, visitors per value, live per day', async ({ assert, cleanup }) => {
      const store = storeOf(kind, cleanup)
      await store.write(
        dimBatch(
          DAY,
          { '/': 3 },
          {
            'source:github.com': [2, ids(0, 40)],
            'source:google.com': [1, ids(40, 50)],
            'browser:Firefox': [3, ids(0, 50)],
          }
        )
      )
      await store.write(dimBatch(DAY, { '/': 1 }, { 'source:github.com': [1, ids(30, 60)] }))
      await store.write(dimBatch(DAY2, { '/': 1 }, { 'source:github.com': [5, ids(100, 110)] }))
      assert.deepEqual(Object.fromEntries(await store.getDimension(DAY, 'source')), {
        'github.com': 3,
        'google.com': 1,
      })
      assert.deepEqual(Object.fromEntries(await store.getDimension(DAY, 'browser')), {
        Firefox: 3,
      })
      assert.deepEqual(Object.fromEntries(await store.getDimension(DAY, 'country')), {})
      assert.equal(await store.countDimensionUnion('source', 'github.com', [], [DAY]), 60)
      assert.equal(await store.countDimensionUnion('source', 'github.com', [], [DAY, DAY2]), 70)
      assert.equal(await store.countDimensionUnion('source', 'bing.com', [], [DAY]), 0)
      assert.equal(await store.countDimensionUnion('browser', 'Firefox', [], [DAY]), 50)
      assert.deepEqual(await store.pendingDays(), [DAY, DAY2])
      /* the live sketches of several values in one call, counted by the reader: the same unions */
      const live = await store.liveDimensionSketches(
        'source',
        new Map([
          ['github.com', [DAY, DAY2]],
          ['google.com', [DAY]],
          ['bing.com', [DAY]],
        ])
      )
      const union = (value: string) =>
        RedisHll.countUnion(live.get(value)!.map((bytes) => RedisHll.fromBuffer(bytes)!))
      assert.equal(live.get('github.com')!.length, 2)
      assert.equal(union('github.com'), 70)
      assert.equal(union('google.com'), 10)
      assert.deepEqual(live.get('bing.com'), [])
    })

    test('unknown dimensions and empty values are left out; values are cut and trimmed', async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup)
      const long = 'x'.repeat(150)
      await store.write(
        dimBatch(
          DAY,
          { '/': 1 },
          {
            'nope:x': [1, []],
            'source:': [1, []],
            'source:   ': [1, []],
            [`utm_campaign:${long}`]: [1, ['a']],
            'utm_campaign: launch ': [2, ['b']],
            'utm_campaign:launch': [1, ['c']],
            'language:\uD800fr': [1, []],
          }
        )
      )
      assert.deepEqual(Object.fromEntries(await store.getDimension(DAY, 'utm_campaign')), {
        ['x'.repeat(100)]: 1,
        launch: 3,
      })
      assert.deepEqual(Object.fromEntries(await store.getDimension(DAY, 'source')), {})
      assert.deepEqual(Object.fromEntries(await store.getDimension(DAY, 'language')), {
        '\uFFFDfr': 1,
      })
      assert.equal(await store.countDimensionUnion('utm_campaign', 'launch', [], [DAY]), 2)
    })

    test('values beyond maxValuesPerDimension count under (other), also after a take-aside', async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup, { maxValuesPerDimension: 3 })
      await store.write(
        dimBatch(
          DAY,
          { '/': 5 },
          {
            'source:a.com': [1, ['u1']],
            'source:b.com': [1, ['u2']],
            'source:c.com': [1, ['u3']],
            'source:d.com': [1, ['u4']],
            'source:e.com': [1, ['u5', 'u6']],
            'device:mobile': [5, ['u1']],
          }
        )
      )
      assert.deepEqual(Object.fromEntries(await store.getDimension(DAY, 'source')), {
        'a.com': 1,
        'b.com': 1,
        'c.com': 1,
        [OTHER_VALUE]: 2,
      })
      assert.equal(await store.countDimensionUnion('source', OTHER_VALUE, [], [DAY]), 3)
      /* the cap is per dimension */
      assert.deepEqual(Object.fromEntries(await store.getDimension(DAY, 'device')), { mobile: 5 })
      assert.isTrue(await store.takeAside(DAY, 'f1'))
      assert.deepEqual(Object.fromEntries(await store.getDimension(DAY, 'source')), {})
      /* admitted values stay admitted, new ones still go to (other) */
      await store.write(
        dimBatch(DAY, { '/': 2 }, { 'source:f.com': [1, ['u7']], 'source:a.com': [1, ['u8']] })
      )
      assert.deepEqual(Object.fromEntries(await store.getDimension(DAY, 'source')), {
        'a.com': 1,
        [OTHER_VALUE]: 1,
      })
      /* a new day admits again */
      await store.write(dimBatch(DAY2, { '/': 1 }, { 'source:f.com': [1, ['u7']] }))
      assert.deepEqual(Object.fromEntries(await store.getDimension(DAY2, 'source')), {
        'f.com': 1,
      })
    })

    test('take aside: live counts move under the flush id with their sketches, dropTaken deletes them', async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup)
      await store.write(
        dimBatch(
          DAY,
          { '/': 2 },
          {
            'source:github.com': [2, ids(0, 20)],
            'os:Linux': [2, []],
          }
        )
      )
      assert.isTrue(await store.takeAside(DAY, 'flush-1'))
      assert.deepEqual(await store.pendingDays(), [])
      const taken = await takenOf(store, 'flush-1', 1)
      assert.deepEqual(
        taken.map(({ dimension, value, views, sketch }) => [
          dimension,
          value,
          views,
          sketch === null,
        ]),
        [
          ['os', 'Linux', 2, true],
          ['source', 'github.com', 2, false],
        ]
      )
      assert.equal(RedisHll.fromBuffer(taken[1].sketch)!.count(), 20)
      /* new traffic starts new live counts; the taken ones are apart */
      await store.write(dimBatch(DAY, { '/': 1 }, { 'source:github.com': [1, ['late']] }))
      assert.deepEqual(Object.fromEntries(await store.getDimension(DAY, 'source')), {
        'github.com': 1,
      })
      assert.equal(await store.countDimensionUnion('source', 'github.com', [], [DAY]), 1)
      assert.equal(
        await store.countDimensionUnion('source', 'github.com', [taken[1].sketch!], [DAY]),
        21
      )
      await store.dropTaken('flush-1')
      assert.deepEqual(await takenOf(store, 'flush-1'), [])
      assert.deepEqual(await store.takenFlushes(), [])
    })

    test('with dimensions: false the dimensions stay live and the day pending', async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup)
      await store.write(dimBatch(DAY, { '/': 1 }, { 'device:desktop': [1, ['u1']] }))
      assert.isTrue(await store.takeAside(DAY, 'f1', { dimensions: false }))
      assert.deepEqual(await takenOf(store, 'f1'), [])
      await store.dropTaken('f1')
      assert.deepEqual(Object.fromEntries(await store.getDimension(DAY, 'device')), { desktop: 1 })
      assert.deepEqual(await store.pendingDays(), [DAY])
      /* no page views left: a take-aside without dimensions has nothing to move */
      assert.isFalse(await store.takeAside(DAY, 'f2', { dimensions: false }))
      assert.deepEqual(await store.pendingDays(), [DAY])
      /* with them, the dimensions alone are a flush */
      assert.isTrue(await store.takeAside(DAY, 'f3'))
      const taken3 = await takenOf(store, 'f3')
      assert.deepEqual(
        taken3.map((row) => [row.value, row.views]),
        [['desktop', 1]]
      )
      assert.deepEqual(await store.pendingDays(), [])
    })

    test('a batch sent twice counts its dimensions once', async ({ assert, cleanup }) => {
      const store = storeOf(kind, cleanup)
      const batch = dimBatch(DAY, { '/': 1 }, { 'country:DE': [1, ['u1']] }, 'batch-1')
      await store.write(batch)
      await store.write(batch)
      assert.deepEqual(Object.fromEntries(await store.getDimension(DAY, 'country')), { DE: 1 })
    })
  })
}

test.group('Dimensions | both stores', () => {
  test('the same traffic gives the same counts and sketches', async ({ assert, cleanup }) => {
    const redis = storeOf('redis', cleanup, { maxValuesPerDimension: 20 })
    const memory = storeOf('memory', cleanup, { maxValuesPerDimension: 20 })
    for (let round = 0; round < 5; round++) {
      const pairs: Record<string, [number, string[]]> = {}
      for (let value = 0; value < 30; value++) {
        pairs[`source:site-${value}.com`] = [
          value + 1,
          ids(round * 500, round * 500 + value * 20 + 1),
        ]
      }
      for (const store of [redis, memory]) await store.write(dimBatch(DAY, { '/': 1 }, pairs))
    }
    assert.deepEqual(
      Object.fromEntries(await redis.getDimension(DAY, 'source')),
      Object.fromEntries(await memory.getDimension(DAY, 'source'))
    )
    const live = await redis.getDimension(DAY, 'source')
    assert.equal(live.size, 21)
    for (const value of ['site-3.com', 'site-19.com', OTHER_VALUE]) {
      const counts = await Promise.all(
        [redis, memory].map((store) => store.countDimensionUnion('source', value, [], [DAY]))
      )
      assert.equal(counts[0], counts[1], value)
    }
    await redis.takeAside(DAY, 'f')
    await memory.takeAside(DAY, 'f')
    const [a, b] = [await takenOf(redis, 'f'), await takenOf(memory, 'f')]
    assert.deepEqual(
      a.map((row) => [row.value, row.views]),
      b.map((row) => [row.value, row.views])
    )
    for (const [i, element] of a.entries()) {
      assert.deepEqual(
        RedisHll.fromBuffer(element.sketch)!.registers(),
        RedisHll.fromBuffer(b[i].sketch)!.registers()
      )
    }
    const sketches = a.map((row) => row.sketch!).slice(0, 5)
    assert.equal(
      await redis.countDimensionUnion('source', 'x', sketches, []),
      await memory.countDimensionUnion('source', 'x', sketches, [])
    )
  })
})

test.group('Dimensions | Redis keys', () => {
  test('every key written has a TTL, and carries the prefix hash tag', async ({
    assert,
    cleanup,
  }) => {
    const keyPrefix = uniqueKeyPrefix('dims-ttl')
    const store = storeOf('redis', cleanup, { keyPrefix, maxValuesPerDimension: 2 })
    const written = dimBatch(
      DAY,
      { '/': 3 },
      {
        'source:a.com': [1, ['u1']],
        'source:b.com': [1, ['u2']],
        'source:c.com': [1, ['u3']],
        'browser:Firefox': [3, ['u1', 'u2', 'u3']],
      }
    )
    /* and visits: state, the start day's figures, the visitors of the page */
    written.days.get(DAY)!.pageVisitors = new Map([['/', new Set(['u1', 'u2'])]])
    written.visits = [
      segment('u1', [0, '/'], [2, '/'], 2, { day: DAY, source: 'a.com', channel: 'Referral' }),
      segment('u2', [0, '/'], undefined, 1, { day: DAY }),
    ]
    await store.write(written)
    const redis = redisClient()
    const keys = await redis.keys(`*${keyPrefix}*`)
    assert.isAbove(keys.length, 8)
    for (const key of keys) {
      assert.isTrue(key.startsWith(`{${keyPrefix}}:`), key)
      if (key.includes(':batch:')) continue
      assert.isAbove(await redis.ttl(key), 0, key)
    }
    assert.includeMembers(keys, [
      `{${keyPrefix}}:dim:${DAY}:source`,
      `{${keyPrefix}}:dimvals:${DAY}:source`,
      `{${keyPrefix}}:dimuv:${DAY}:source:a.com`,
      `{${keyPrefix}}:dimuv:${DAY}:source:${OTHER_VALUE}`,
      `{${keyPrefix}}:vstate:u1`,
      `{${keyPrefix}}:vstate:u2`,
      `{${keyPrefix}}:vis:${DAY}`,
      `{${keyPrefix}}:visdur:${DAY}`,
      `{${keyPrefix}}:visent:${DAY}`,
      `{${keyPrefix}}:visexit:${DAY}`,
      `{${keyPrefix}}:vissrc:${DAY}`,
      `{${keyPrefix}}:pguv:${DAY}:/`,
    ])
    /* a visit's state lives the visit timeout (30 minutes), never longer */
    assert.isAtMost(await redis.ttl(`{${keyPrefix}}:vstate:u1`), 30 * 60)
    /* a confirmed flush leaves only the keys that outlive it: values set, visitors, paths, visits in progress */
    await store.takeAside(DAY, 'f')
    await store.dropTaken('f')
    const left = await redis.keys(`*${keyPrefix}*`)
    assert.notInclude(left.join(' '), ':dim:')
    assert.notInclude(left.join(' '), ':dimuv:')
    assert.notInclude(left.join(' '), ':flush:')
    assert.notInclude(left.join(' '), ':vis:')
    assert.notInclude(left.join(' '), ':visexit:')
    assert.include(left.join(' '), ':vstate:u1')
    for (const key of left) {
      if (key.includes(':batch:')) continue
      assert.isAbove(await redis.ttl(key), 0, key)
    }
  })

  test('processes sharing Redis share one cap per dimension and day', async ({
    assert,
    cleanup,
  }) => {
    const keyPrefix = uniqueKeyPrefix('dims-shared')
    const one = storeOf('redis', cleanup, { keyPrefix, maxValuesPerDimension: 10 })
    const two = storeOf('redis', cleanup, { keyPrefix, maxValuesPerDimension: 10 })
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? one : two).write(
          dimBatch(DAY, { '/': 1 }, { [`utm_source:s${i}`]: [1, [`u${i}`]] })
        )
      )
    )
    const values = await one.getDimension(DAY, 'utm_source')
    assert.equal(values.size, 11)
    assert.equal(values.get(OTHER_VALUE), 10)
    assert.equal(
      [...values.values()].reduce((a, b) => a + b, 0),
      20
    )
  })
})

for (const kind of STORES) {
  test.group(`Dimensions | flush (${kind} store, ${dbName})`, (group) => {
    group.each.setup(() => truncateTrackingTables())

    test('a flush adds views and visitors per value; later flushes add and union', async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup)
      const target = { store, settings: { timezone: 'UTC' } }
      await store.write(
        dimBatch(
          DAY,
          { '/': 3 },
          {
            'source:github.com': [2, ids(0, 40)],
            'channel:Referral': [3, ids(0, 50)],
          }
        )
      )
      await flushPageViews(target, db)
      assert.deepEqual(await sqlDimensions(DAY), {
        'source:github.com': [2, 40],
        'channel:Referral': [3, 50],
      })
      await store.write(
        dimBatch(
          DAY,
          { '/': 2 },
          {
            'source:github.com': [2, ids(20, 60)],
            'source:GitHub.com': [1, ['z']],
          }
        )
      )
      /* live and flushed together: the reads' union */
      const stored = await db
        .from(TABLE)
        .where({ date: DAY, dimension: 'source', value: 'github.com' })
        .first()
      assert.equal(
        await store.countDimensionUnion(
          'source',
          'github.com',
          [Buffer.from(stored.visitors_sketch)],
          [DAY]
        ),
        60
      )
      await flushPageViews(target, db)
      assert.deepEqual(await sqlDimensions(DAY), {
        'source:github.com': [4, 60],
        'source:GitHub.com': [1, 1],
        'channel:Referral': [3, 50],
      })
      const row = await db.from('tracking_page_views').where('date', DAY).first()
      assert.equal(Number(row.views), 5)
    })

    test('a failure before the commit, then a re-run: dimensions once', async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup)
      const target = { store, settings: { timezone: 'UTC' } }
      await store.write(dimBatch(DAY, { '/': 2 }, { 'device:mobile': [2, ids(0, 10)] }))
      await assert.rejects(() =>
        flushPageViews(target, db, {
          hooks: {
            beforeCommit() {
              throw new Error('crash')
            },
          },
        })
      )
      assert.deepEqual(await sqlDimensions(DAY), {})
      const summary = await flushPageViews(target, db)
      assert.equal(summary.recovered, 1)
      assert.deepEqual(await sqlDimensions(DAY), { 'device:mobile': [2, 10] })
      await flushPageViews(target, db)
      assert.deepEqual(await sqlDimensions(DAY), { 'device:mobile': [2, 10] })
    })

    test('a failure after the commit, then a re-run: dimensions once', async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup)
      const target = { store, settings: { timezone: 'UTC' } }
      await store.write(dimBatch(DAY, { '/': 2 }, { 'device:mobile': [2, ids(0, 10)] }))
      await assert.rejects(() =>
        flushPageViews(target, db, {
          hooks: {
            afterCommit() {
              throw new Error('crash')
            },
          },
        })
      )
      assert.deepEqual(await sqlDimensions(DAY), { 'device:mobile': [2, 10] })
      assert.lengthOf(await store.takenFlushes(), 1)
      await flushPageViews(target, db)
      assert.deepEqual(await sqlDimensions(DAY), { 'device:mobile': [2, 10] })
      assert.lengthOf(await store.takenFlushes(), 0)
    })
  })
}

test.group(`Dimensions | missing table (${dbName})`, (group) => {
  group.each.setup(() => truncateTrackingTables())

  test('without tracking_dimension_stats page views flush, dimensions wait in the store', async ({
    assert,
    cleanup,
  }) => {
    const store = storeOf('redis', cleanup)
    const target = { store, settings: { timezone: 'UTC' } }
    await store.write(dimBatch(DAY, { '/': 2 }, { 'language:fr': [2, ids(0, 5)] }))
    const warnings: Error[] = []
    const onWarning = (warning: Error) => warnings.push(warning)
    process.on('warning', onWarning)
    cleanup(() => void process.off('warning', onWarning))
    await db.connection().schema.renameTable(TABLE, `${TABLE}_away`)
    try {
      const summary = await flushPageViews(target, db)
      assert.equal(summary.views, 2)
      await store.write(dimBatch(DAY, { '/': 1 }, { 'language:fr': [1, ['late']] }))
      const later = await flushPageViews(target, db)
      assert.equal(later.views, 1)
    } finally {
      await db.connection().schema.renameTable(`${TABLE}_away`, TABLE)
    }
    /* the warning says what to run; emitted once per process (an earlier test may have seen it) */
    await new Promise((resolve) => setImmediate(resolve))
    for (const warning of warnings) {
      assert.include(
        warning.message,
        'node ace configure adonis-tracking && node ace migration:run'
      )
    }
    assert.isAtMost(warnings.length, 1)
    assert.deepEqual(Object.fromEntries(await store.getDimension(DAY, 'language')), { fr: 3 })
    assert.deepEqual(await store.pendingDays(), [DAY])
    const summary = await flushPageViews(target, db)
    assert.equal(summary.views, 0)
    assert.deepEqual(await sqlDimensions(DAY), { 'language:fr': [3, 6] })
    const row = await db.from('tracking_page_views').where('date', DAY).first()
    assert.equal(Number(row.views), 3)
    assert.deepEqual(await store.pendingDays(), [])
  })
})

test.group(`Dimensions | table dropped after a take-aside (${dbName})`, (group) => {
  group.each.setup(() => truncateTrackingTables())

  test('a flush taken with its dimensions waits, whole, until the table is back', async ({
    assert,
    cleanup,
  }) => {
    const store = storeOf('redis', cleanup)
    const target = { store, settings: { timezone: 'UTC' } }
    await store.write(dimBatch(DAY, { '/': 2 }, { 'os:Linux': [2, ids(0, 4)] }))
    /* a flush that crashed after its take-aside, while the table existed */
    assert.isTrue(await store.takeAside(DAY, 'crashed'))
    await store.write(dimBatch(DAY2, { '/b': 3 }, { 'os:Linux': [3, ids(0, 2)] }))
    await db.connection().schema.renameTable(TABLE, `${TABLE}_away`)
    try {
      const summary = await flushPageViews(target, db)
      /* the other day's page views are flushed; the crashed flush is kept */
      assert.deepEqual(summary, { days: 1, paths: 1, views: 3, recovered: 0 })
      assert.deepEqual(await store.takenFlushes(), [{ flushId: 'crashed', day: DAY }])
    } finally {
      await db.connection().schema.renameTable(`${TABLE}_away`, TABLE)
    }
    const summary = await flushPageViews(target, db)
    assert.equal(summary.recovered, 1)
    assert.deepEqual(await sqlDimensions(DAY), { 'os:Linux': [2, 4] })
    assert.deepEqual(await sqlDimensions(DAY2), { 'os:Linux': [3, 2] })
    assert.deepEqual(await store.takenFlushes(), [])
    const rows = await db.from('tracking_page_views').select('path', 'views').orderBy('path')
    assert.deepEqual(
      rows.map((row) => [row.path, Number(row.views)]),
      [
        ['/', 2],
        ['/b', 3],
      ]
    )
  })
})

test.group('Dimensions | write buffer', () => {
  test('coalesces shared key lists per day; each distinct list and visitor of a list is an entry', async ({
    assert,
    cleanup,
  }) => {
    const store = storeOf('memory', cleanup)
    const buffer = new WriteBuffer(store, { bufferMs: 60_000, maxEntries: 1_000_000 })
    cleanup(() => buffer.close())
    /* frozen lists, shared by views, as the recorder's deriver hands them out */
    const mobile = Object.freeze(['source:github.com', 'device:mobile'])
    const desktop = Object.freeze(['source:github.com', 'device:desktop'])
    for (let i = 0; i < 100; i++) {
      buffer.addView(DAY, '/', `user-${i % 10}`, null, 1, i % 2 ? mobile : desktop)
    }
    /*
     * 1 path, 10 visitors of the day, 10 of the minute, 2 lists, 10 (visitor,
     * list), and 10 visit segments with their one (visitor, path)
     */
    assert.equal(buffer.size, 1 + 10 + 10 + 2 + 10 + 10 * 2)
    /* a visitor seen with a second list holds both */
    buffer.addView(DAY, '/', 'user-0', null, 1, mobile)
    assert.equal(buffer.size, 1 + 10 + 10 + 2 + 11 + 10 * 2)
    await buffer.drain()
    assert.equal(buffer.size, 0)
    assert.deepEqual(Object.fromEntries(await store.getDimension(DAY, 'device')), {
      mobile: 51,
      desktop: 50,
    })
    /* visitors under the buffer's random hash key: HyperLogLog counts, a register may be shared */
    near(assert, await store.countDimensionUnion('source', 'github.com', [], [DAY]), 10)
    near(assert, await store.countDimensionUnion('device', 'mobile', [], [DAY]), 6)
  })

  test('a visitor counts in every pair of its views; a reused array of the caller is safe', async ({
    assert,
    cleanup,
  }) => {
    const store = storeOf('memory', cleanup)
    const buffer = new WriteBuffer(store, { bufferMs: 60_000, maxEntries: 1_000_000 })
    cleanup(() => buffer.close())
    const scratch: string[] = []
    const sources = ['github.com', 'google.com', 'bing.com', 'duckduckgo.com', 'ecosia.org']
    for (let i = 0; i < 50; i++) {
      /* the caller fills one array per view, as a recorder may */
      scratch.length = 0
      scratch.push(`source:${sources[i % 5]}`, 'device:mobile')
      buffer.addView(DAY, '/', null, `digest-${i % 7}`, 1, scratch)
    }
    await buffer.drain()
    assert.deepEqual(Object.fromEntries(await store.getDimension(DAY, 'source')), {
      'github.com': 10,
      'google.com': 10,
      'bing.com': 10,
      'duckduckgo.com': 10,
      'ecosia.org': 10,
    })
    /* visitor k sees sources k, k+7, ... (mod 5): every visitor meets every source */
    for (const source of sources) {
      near(assert, await store.countDimensionUnion('source', source, [], [DAY]), 7)
    }
    near(assert, await store.countDimensionUnion('device', 'mobile', [], [DAY]), 7)
    near(assert, await store.getUniqueCount(DAY), 7)
  })

  test('anonymous visitors of a pair are the same keyed hashes as those of the day', async ({
    assert,
    cleanup,
  }) => {
    const store = storeOf('redis', cleanup)
    const buffer = new WriteBuffer(store, { bufferMs: 60_000, maxEntries: 1_000_000 })
    cleanup(() => buffer.close())
    for (let i = 0; i < 30; i++) buffer.addView(DAY, '/', null, `digest-${i}`, 1, ['os:Linux'])
    await buffer.drain()
    const union = await store.countDimensionUnion('os', 'Linux', [], [DAY])
    near(assert, union, 30)
    /* the pair's sketch holds exactly the day's visitors */
    await store.takeAside(DAY, 'f')
    const [taken] = await takenOf(store, 'f')
    assert.equal(await store.countUnion([taken.sketch!], [DAY]), await store.getUniqueCount(DAY))
    assert.deepEqual(
      RedisHll.fromBuffer(taken.sketch)!.registers(),
      RedisHll.fromBuffer(
        await redisClient().getBuffer(`${(store as RedisStore).keys.visitors(DAY)}`)
      )!.registers()
    )
  })
})
