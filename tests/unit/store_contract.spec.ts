/*
|--------------------------------------------------------------------------
| One store contract
|--------------------------------------------------------------------------
|
| The same behaviour checks run on the Redis store (real Redis) and on the
| memory store. Then both stores get the same traffic: their sketches,
| unions and the unique visitors of a 30-day range must be equal.
|
*/

import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { flushPageViews } from '../../src/flush.ts'
import { TrackingSelector } from '../../src/selector.ts'
import { MemoryStore } from '../../src/stores/memory_store.ts'
import { DENSE_AT, RedisHll } from '../../src/stores/redis_hll.ts'
import { RedisStore } from '../../src/stores/redis_store.ts'
import type { TrackingBatch, TrackingStore } from '../../src/stores/types.ts'
import type { TrackingStoreName } from '../../src/types.ts'
import { clusterForGroup } from '../redis_cluster.ts'
import {
  buildManager,
  deleteTrackingKeys,
  near,
  redisClient,
  storeBatch as batch,
  truncateTrackingTables,
  uniqueKeyPrefix,
} from '../helpers.ts'
import { segment, summary, visitBatch } from '../visit_helpers.ts'

/** `cluster`: the Redis store on a local three-node Redis Cluster (tests/redis_cluster.ts) */
type StoreKind = TrackingStoreName | 'cluster'
const STORES: TrackingStoreName[] = ['redis', 'memory']
const CONTRACT_STORES: StoreKind[] = [...STORES, 'cluster']
const DAY = '2026-03-10'
const DAY2 = '2026-03-11'
const DAY3 = '2026-03-12'

type Cleanup = (fn: () => void | Promise<void>) => void

let cluster: ReturnType<typeof clusterForGroup> | undefined

/** A fresh store of the kind; Redis keys are deleted after the test */
function storeOf(
  kind: StoreKind,
  cleanup: Cleanup,
  options: { maxPathsPerDay?: number; maxValuesPerDimension?: number } = {}
): TrackingStore {
  if (kind === 'memory') return new MemoryStore({ ttlSeconds: 3600, ...options })
  if (kind === 'cluster') {
    /* the cluster is stopped with its group: nothing to delete */
    const client = cluster!.client()
    return new RedisStore({
      client: () => client,
      keyPrefix: uniqueKeyPrefix('contract'),
      ttlSeconds: 3600,
      ...options,
    })
  }
  const keyPrefix = uniqueKeyPrefix('contract')
  cleanup(() => deleteTrackingKeys(keyPrefix))
  return new RedisStore({ client: () => redisClient(), keyPrefix, ttlSeconds: 3600, ...options })
}

function ids(from: number, to: number, label = 'v'): string[] {
  return Array.from({ length: to - from }, (_, i) => `${label}-${from + i}`)
}

/** A batch of visitors only, per epoch minute (realtime) */
function minutesBatch(minutes: Record<number, string[]>): TrackingBatch {
  return {
    days: new Map(),
    minutes: new Map(
      Object.entries(minutes).map(([minute, list]) => [Number(minute), new Set(list)])
    ),
  }
}

/** The live visit figures of a start day, as a plain object */
async function visitsOf(store: TrackingStore, day = DAY) {
  const visits = await store.getVisits([day])
  return summary(visits.get(day))
}

/** Everything readTaken yields, and in how many chunks */
async function readAll(store: TrackingStore, flushId: string, chunkSize: number) {
  const rows = new Map<string, number>()
  let chunks = 0
  for await (const chunk of store.readTaken(flushId, chunkSize)) {
    chunks++
    for (const [path, views] of chunk) rows.set(path, (rows.get(path) ?? 0) + views)
  }
  return { rows: Object.fromEntries(rows), chunks }
}

for (const kind of CONTRACT_STORES) {
  test.group(`Store contract | ${kind}`, (group) => {
    if (kind === 'cluster') cluster = clusterForGroup(group)

    test('is ready and answers a ping', async ({ assert, cleanup }) => {
      const store = storeOf(kind, cleanup)
      assert.equal(store.name, kind === 'cluster' ? 'redis' : kind)
      await store.ping(2000)
      assert.isTrue(store.isReady())
    })

    test('writes: views per path, day totals, several days, pending days', async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup)
      await store.write(batch({ [DAY2]: { '/a': 2, '/b': 1 }, [DAY]: { '/a': 1 } }))
      await store.write(batch({ [DAY2]: { '/a': 3, '/c': 4 } }))
      assert.deepEqual(Object.fromEntries(await store.getDaily(DAY2)), {
        '/a': 5,
        '/b': 1,
        '/c': 4,
      })
      assert.equal(await store.getDayTotal(DAY2), 10)
      assert.equal(await store.getDayTotal(DAY3), 0)
      assert.deepEqual(Object.fromEntries(await store.getMultiDay([DAY, DAY2, DAY3])), {
        [DAY]: 1,
        [DAY2]: 10,
        [DAY3]: 0,
      })
      assert.deepEqual(await store.pendingDays(), [DAY, DAY2])
      assert.deepEqual(Object.fromEntries(await store.getDaily(DAY3)), {})
    })

    test('visitors: distinct per day, a union over days (not a sum)', async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup)
      await store.write(batch({ [DAY]: { '/': 1 } }, { [DAY]: ids(0, 60), [DAY2]: ids(40, 100) }))
      /* the same visitors again in a later batch count once */
      await store.write(batch({}, { [DAY]: ids(0, 30) }))
      assert.equal(await store.getUniqueCount(DAY), 60)
      assert.equal(await store.getUniqueCount([DAY]), 60)
      assert.equal(await store.getUniqueCount([DAY, DAY2]), 100)
      assert.equal(await store.getUniqueCount(DAY3), 0)
      assert.equal(await store.getUniqueCount([]), 0)
      /* a day with visitors only is not a day waiting for a flush */
      assert.deepEqual(await store.pendingDays(), [DAY])
    })

    test('a batch of 200,000 distinct visitors is written whole', async ({ assert, cleanup }) => {
      const store = storeOf(kind, cleanup)
      const now = Math.floor(Date.now() / 60_000)
      const many = ids(0, 200_000)
      await store.write({
        days: new Map([[DAY, { views: new Map([['/', 1]]), visitors: new Set(many) }]]),
        minutes: new Map([[now, new Set(many)]]),
      })
      near(assert, await store.getUniqueCount(DAY), 200_000)
      near(assert, await store.realtimeVisitors(2), 200_000)
    })

    test('realtime: distinct visitors of the last minutes, older minutes left out', async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup)
      const now = Math.floor(Date.now() / 60_000)
      await store.write(
        minutesBatch({ [now]: ids(0, 20), [now - 1]: ids(10, 30), [now - 9]: ids(100, 150) })
      )
      assert.equal(await store.realtimeVisitors(5), 30)
      assert.equal(await store.realtimeVisitors(10), 80)
    })

    test('salt: one per day, the same on every call', async ({ assert, cleanup }) => {
      const store = storeOf(kind, cleanup)
      const salt = await store.salt(DAY)
      assert.match(salt, /^[0-9a-f]{32}$/)
      assert.equal(await store.salt(DAY), salt)
      assert.notEqual(await store.salt(DAY2), salt)
    })

    test('taking a day aside: read in chunks, then dropped once SQL has it', async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup)
      const views = Object.fromEntries(ids(0, 7, '/p').map((path, i) => [path, i + 1]))
      await store.write(batch({ [DAY]: views, [DAY2]: { '/x': 1 } }, { [DAY]: ids(0, 5) }))

      assert.isTrue(await store.takeAside(DAY, 'flush-1'))
      /* the live counts are gone, the visitors stay (kept until their TTL) */
      assert.deepEqual(Object.fromEntries(await store.getDaily(DAY)), {})
      assert.equal(await store.getDayTotal(DAY), 0)
      assert.deepEqual(await store.pendingDays(), [DAY2])
      assert.equal(await store.getUniqueCount(DAY), 5)
      assert.deepEqual(await store.takenFlushes(), [{ flushId: 'flush-1', day: DAY }])
      assert.equal(await store.takenTotal('flush-1'), 28)
      const taken = await readAll(store, 'flush-1', 2)
      assert.deepEqual(taken.rows, views)
      /* chunkSize is a hint (Redis answers a small hash in one chunk) */
      assert.isAtLeast(taken.chunks, 1)

      /* traffic after the take-aside is live again, not added to what was taken */
      await store.write(batch({ [DAY]: { '/p-0': 10 } }))
      assert.equal(await store.takenTotal('flush-1'), 28)
      assert.deepEqual(Object.fromEntries(await store.getDaily(DAY)), { '/p-0': 10 })
      assert.deepEqual(await store.pendingDays(), [DAY, DAY2])

      await store.dropTaken('flush-1')
      assert.deepEqual(await store.takenFlushes(), [])
      assert.equal(await store.takenTotal('flush-1'), 0)
      const after = await readAll(store, 'flush-1', 2)
      assert.deepEqual(after.rows, {})
    })

    test('a day with nothing live is not taken aside', async ({ assert, cleanup }) => {
      const store = storeOf(kind, cleanup)
      assert.isFalse(await store.takeAside(DAY, 'flush-empty'))
      assert.deepEqual(await store.takenFlushes(), [])
    })

    test('mergeSketch: Redis HyperLogLog bytes of the stored sketch and the live day', async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup)
      await store.write(batch({ [DAY]: { '/': 1 } }, { [DAY]: ids(0, 100) }))
      const first = await store.mergeSketch(DAY, null, 0)
      assert.equal(first.count, 100)
      assert.equal(RedisHll.fromBuffer(first.sketch)!.count(), 100)

      /* merging the same day again changes nothing (a re-run of a flush) */
      const again = await store.mergeSketch(DAY, first.sketch, first.count)
      assert.equal(again.count, 100)
      assert.deepEqual(again.sketch, first.sketch)

      /* a stored sketch made elsewhere (another process, days ago) is unioned in */
      const stored = RedisHll.empty()
      stored.add(...ids(50, 250))
      const merged = await store.mergeSketch(DAY, stored.toBuffer(), 200)
      near(assert, merged.count, 250)

      /* no live visitors: the stored sketch as it is, counted */
      const alone = await store.mergeSketch(DAY3, stored.toBuffer(), 200)
      assert.equal(alone.count, stored.count())
    })

    test('countUnion: stored sketches and live days together', async ({ assert, cleanup }) => {
      const store = storeOf(kind, cleanup)
      const older = RedisHll.empty()
      older.add(...ids(0, 100))
      const dense = RedisHll.empty()
      dense.add(...ids(0, 6000, 'd'))
      await store.write(
        batch({ [DAY]: { '/': 1 } }, { [DAY]: ids(50, 150), [DAY2]: ids(140, 160) })
      )

      assert.equal(await store.countUnion([], []), 0)
      assert.equal(await store.countUnion([older.toBuffer()], []), 100)
      near(assert, await store.countUnion([], [DAY, DAY2]), 110)
      assert.equal(await store.countUnion([older.toBuffer()], [DAY, DAY2, DAY3]), 160)
      near(assert, await store.countUnion([older.toBuffer(), dense.toBuffer()], [DAY]), 6150)
      const live = await store.mergeSketch(DAY, null, 0)
      assert.equal(
        await store.countUnion([older.toBuffer(), dense.toBuffer()], [DAY]),
        RedisHll.countUnion([older, dense, RedisHll.fromBuffer(live.sketch)!])
      )
    })

    test('bytes that are not a sketch make mergeSketch and countUnion fail', async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup)
      await store.write(batch({ [DAY]: { '/': 1 } }, { [DAY]: ids(0, 3) }))
      const garbage = Buffer.from('not a sketch at all')
      await assert.rejects(() => store.mergeSketch(DAY, garbage, 3))
      await assert.rejects(() => store.countUnion([garbage], [DAY]))
    })

    test('locks: one holder at a time, released only with its token', async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup)
      const token = await store.acquireLock('flush', 60_000)
      assert.isString(token)
      assert.isNull(await store.acquireLock('flush', 60_000))
      /* another lock name is another lock */
      const other = await store.acquireLock('prune', 60_000)
      assert.isString(other)
      await store.releaseLock('flush', 'not-the-token')
      assert.isNull(await store.acquireLock('flush', 60_000))
      await store.releaseLock('flush', token!)
      const next = await store.acquireLock('flush', 60_000)
      assert.isString(next)
      assert.notEqual(next, token)
      await store.releaseLock('flush', next!)
      await store.releaseLock('prune', other!)
    })
  })
}

/*
 * Visits (src/stores/visits.ts): the Redis store applies the segments in
 * its batch script, the memory store in process; both must agree. A
 * segment's times are minutes after T0 (2026-03-10 08:00 UTC), the
 * timeout is 30 minutes.
 */
for (const kind of STORES) {
  test.group(`Store contract | ${kind} | visits`, () => {
    test('gaps under the timeout continue a visit, a longer gap opens another', async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup)
      /* A: /, /about, /pricing a minute apart, in three batches; B: one view; C: / twice, 40 min apart */
      await store.write(
        visitBatch([segment('A', [0, '/']), segment('B', [0, '/about']), segment('C', [0, '/'])])
      )
      await store.write(visitBatch([segment('A', [1, '/about'])]))
      await store.write(visitBatch([segment('A', [2, '/pricing']), segment('C', [40, '/'])]))
      assert.deepEqual(await visitsOf(store), {
        visits: 4,
        views: 6,
        bounces: 3,
        duration: 120,
        durations: { '0': [3, 0], '120': [1, 120] },
        entries: { '/': 3, '/about': 1 },
        exits: { '/': 2, '/about': 1, '/pricing': 1 },
        sources: {},
      })
      assert.deepEqual(await store.pendingDays(), [DAY])
    })

    test('one segment of several views: a visit with its duration; the bucket moves as it grows', async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup)
      await store.write(visitBatch([segment('A', [0, '/'], [0.5, '/b'], 3)]))
      await store.write(visitBatch([segment('A', [25, '/c'], [70, '/d'], 4)]))
      assert.deepEqual(await visitsOf(store), {
        visits: 1,
        views: 7,
        bounces: 0,
        duration: 4200,
        durations: { '4200': [1, 4200] },
        entries: { '/': 1 },
        exits: { '/d': 1 },
        sources: {},
      })
    })

    test('out of order and equal times never give a negative duration', async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup)
      await store.write(visitBatch([segment('A', [10, '/b'])]))
      /* an earlier view of the same day (another process's late batch): the visit starts there */
      await store.write(visitBatch([segment('A', [5, '/a'])]))
      /* at the same instant as the last view: it is the last view now */
      await store.write(visitBatch([segment('A', [10, '/c'])]))
      /* between the two: changes neither end */
      await store.write(visitBatch([segment('A', [7, '/x'])]))
      /* far before (a timeout before the start): a visit of its own, the one in progress stays */
      await store.write(visitBatch([segment('A', [-60, '/old'])]))
      await store.write(visitBatch([segment('A', [12, '/e'])]))
      assert.deepEqual(await visitsOf(store), {
        visits: 2,
        views: 6,
        bounces: 1,
        duration: 7 * 60,
        durations: { '0': [1, 0], '420': [1, 420] },
        entries: { '/a': 1, '/old': 1 },
        exits: { '/e': 1, '/old': 1 },
        sources: {},
      })
    })

    test("after midnight a visit goes on under yesterday's hash and counts on the day it started", async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup)
      /* 23:50 on DAY, then 00:10 and 00:20 on DAY2 (the salt rotated: a new hash, the old one given) */
      await store.write(visitBatch([segment('old-hash', [15 * 60 + 50, '/docs'])]))
      await store.write(
        visitBatch([
          segment('new-hash', [16 * 60 + 10, '/pricing'], undefined, 1, {
            day: DAY2,
            previous: 'old-hash',
          }),
        ])
      )
      await store.write(
        visitBatch([segment('new-hash', [16 * 60 + 20, '/buy'], undefined, 1, { day: DAY2 })])
      )
      const visits = await store.getVisits([DAY, DAY2])
      assert.deepEqual([...visits.keys()], [DAY])
      assert.deepEqual(summary(visits.get(DAY)), {
        visits: 1,
        views: 3,
        bounces: 0,
        duration: 1800,
        durations: { '1800': [1, 1800] },
        entries: { '/docs': 1 },
        exits: { '/buy': 1 },
        sources: {},
      })
    })

    test('a batch sent twice counts its visits once', async ({ assert, cleanup }) => {
      const store = storeOf(kind, cleanup)
      const once = visitBatch([segment('A', [0, '/']), segment('A', [1, '/b'])], 'batch-visits')
      await store.write(once)
      await store.write(once)
      assert.include(await visitsOf(store), { visits: 1, views: 2, bounces: 0, duration: 60 })
    })

    test('sources and channels of visits; paths and values beyond the caps count under (other)', async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup, { maxPathsPerDay: 2, maxValuesPerDimension: 1 })
      /* the views admit / and /a on the day: later paths are (other), for visits too */
      await store.write(batch({ [DAY]: { '/': 1, '/a': 1, '/b': 1 } }))
      await store.write(
        visitBatch([
          segment('A', [0, '/'], [1, '/a'], 2, { source: 'github.com', channel: 'Referral' }),
          segment('B', [0, '/b'], undefined, 1, {
            source: 'google.com',
            channel: 'Organic Search',
          }),
          segment('C', [0, '/a'], undefined, 1, { source: 'github.com' }),
        ])
      )
      assert.deepEqual(await visitsOf(store), {
        visits: 3,
        views: 4,
        bounces: 2,
        duration: 60,
        durations: { '0': [2, 0], '60': [1, 60] },
        entries: { '(other)': 1, '/': 1, '/a': 1 },
        exits: { '(other)': 1, '/a': 2 },
        sources: {
          'channel:(other)': 1,
          'channel:Referral': 1,
          'source:(other)': 1,
          'source:github.com': 2,
        },
      })
    })

    test('unique visitors per page: a sketch per day and path, (other) beyond the cap', async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup, { maxPathsPerDay: 2 })
      const written = batch({ [DAY]: { '/': 3, '/a': 2, '/b': 1 } })
      written.days.get(DAY)!.pageVisitors = new Map([
        ['/', new Set(ids(0, 30))],
        ['/a', new Set(ids(20, 25))],
        ['/b', new Set(['late'])],
      ])
      await store.write(written)
      const again = batch({ [DAY]: { '/': 1 } })
      again.days.get(DAY)!.pageVisitors = new Map([['/', new Set(ids(25, 40))]])
      await store.write(again)
      const sketches = await store.pageVisitorSketches(DAY, ['/', '/a', '/b', '(other)', '/none'])
      assert.sameMembers([...sketches.keys()], ['/', '/a', '(other)'])
      const count = (path: string) => RedisHll.fromBuffer(sketches.get(path))!.count()
      assert.equal(count('/'), 40)
      assert.equal(count('/a'), 5)
      assert.equal(count('(other)'), 1)
      /* kept after a flush's take-aside, like the day's visitors */
      await store.takeAside(DAY, 'f')
      await store.dropTaken('f')
      assert.lengthOf([...(await store.pageVisitorSketches(DAY, ['/']))], 1)
    })

    test("take aside: the start day's visit figures go with the flush; later deltas stay live", async ({
      assert,
      cleanup,
    }) => {
      const store = storeOf(kind, cleanup)
      await store.write(visitBatch([segment('A', [0, '/']), segment('B', [0, '/b'])]))
      /* visits: false (the tables are missing) keeps them live and the day pending */
      await store.takeAside(DAY, 'kept', { visits: false })
      assert.isNull(await store.readTakenVisits('kept'))
      const kept = await visitsOf(store)
      assert.equal(kept.visits, 2)
      assert.deepEqual(await store.pendingDays(), [DAY])
      await store.dropTaken('kept')

      assert.isTrue(await store.takeAside(DAY, 'f'))
      assert.deepEqual(summary(await store.readTakenVisits('f')), {
        visits: 2,
        views: 2,
        bounces: 2,
        duration: 0,
        durations: { '0': [2, 0] },
        entries: { '/': 1, '/b': 1 },
        exits: { '/': 1, '/b': 1 },
        sources: {},
      })
      assert.deepEqual([...(await store.getVisits([DAY]))], [])
      assert.deepEqual(await store.pendingDays(), [])
      /* A's visit goes on after the take-aside: the live figures are the deltas */
      await store.write(visitBatch([segment('A', [3, '/c'])]))
      assert.deepEqual(await visitsOf(store), {
        visits: 0,
        views: 1,
        bounces: -1,
        duration: 180,
        durations: { '0': [-1, 0], '180': [1, 180] },
        entries: {},
        exits: { '/': -1, '/c': 1 },
        sources: {},
      })
      assert.deepEqual(await store.pendingDays(), [DAY])
      await store.dropTaken('f')
      assert.isNull(await store.readTakenVisits('f'))
    })
  })
}

test.group('Store contract | both stores, the same traffic', (group) => {
  group.each.setup(() => truncateTrackingTables())

  test('the same batches give the same sketch bytes and counts', async ({ assert, cleanup }) => {
    const [redis, memory] = STORES.map((kind) => storeOf(kind, cleanup))
    const batches = [
      batch({ [DAY]: { '/': 1 } }, { [DAY]: ids(0, 40), [DAY2]: ids(0, 3000) }),
      batch({ [DAY]: { '/': 1 } }, { [DAY]: ids(20, 90), [DAY3]: ['only-one'] }),
    ]
    for (const store of [redis, memory]) for (const one of batches) await store.write(one)
    for (const day of [DAY, DAY2, DAY3]) {
      const [a, b] = await Promise.all(
        [redis, memory].map((store) => store.mergeSketch(day, null, 0))
      )
      assert.deepEqual(b.sketch, a.sketch, day)
      assert.equal(b.count, a.count, day)
    }
    assert.equal(
      await memory.getUniqueCount([DAY, DAY2, DAY3]),
      await redis.getUniqueCount([DAY, DAY2, DAY3])
    )
  })

  test('a batch of DENSE_AT visitors or more makes the sketch dense first, the same way in both', async ({
    assert,
    cleanup,
  }) => {
    const [redis, memory] = STORES.map((kind) => storeOf(kind, cleanup))
    const batches = [
      /* sparse: under DENSE_AT */
      batch({ [DAY]: { '/': 1 } }, { [DAY]: ids(0, DENSE_AT - 1), [DAY2]: ['a'] }),
      /* an existing sparse sketch made dense; a new one created dense */
      batch({ [DAY]: { '/': 1 } }, { [DAY]: ids(100, 100 + DENSE_AT), [DAY3]: ids(0, 500) }),
      /* dense stays dense; a small batch into a sparse sketch keeps it sparse */
      batch({ [DAY]: { '/': 1 } }, { [DAY]: ids(0, 3), [DAY2]: ids(0, 5) }),
    ]
    for (const store of [redis, memory]) for (const one of batches) await store.write(one)
    const dense = (sketch: Buffer | null) => sketch !== null && sketch[4] === 0
    for (const [day, expectDense] of [
      [DAY, true],
      [DAY2, false],
      [DAY3, true],
    ] as const) {
      const [a, b] = await Promise.all(
        [redis, memory].map((store) => store.mergeSketch(day, null, 0))
      )
      assert.deepEqual(b.sketch, a.sketch, day)
      assert.equal(dense(a.sketch), expectDense, day)
    }
    near(assert, await redis.getUniqueCount(DAY), 2 * DENSE_AT - 1)
    near(assert, await redis.getUniqueCount(DAY3), 500)
  })

  test('the same visit segments give the same visit figures', async ({ assert, cleanup }) => {
    const [redis, memory] = STORES.map((kind) => storeOf(kind, cleanup))
    const batches = Array.from({ length: 12 }, (_, i) =>
      visitBatch(
        Array.from({ length: 30 }, (__, j) =>
          segment(
            `v${(i * 7 + j) % 45}`,
            [i * 9 + j, `/p${j % 6}`],
            [i * 9 + j + (j % 4), `/q${j % 5}`],
            1 + (j % 3),
            {
              day: i < 8 ? DAY : DAY2,
              source: j % 2 ? `s${j % 5}.com` : null,
              channel: j % 2 ? 'Referral' : 'Direct',
            }
          )
        )
      )
    )
    for (const store of [redis, memory]) for (const one of batches) await store.write(one)
    const [a, b] = await Promise.all([redis, memory].map((store) => store.getVisits([DAY, DAY2])))
    assert.isAbove(summary(a.get(DAY)).visits, 10)
    assert.deepEqual(summary(b.get(DAY)), summary(a.get(DAY)))
    assert.deepEqual(summary(b.get(DAY2)), summary(a.get(DAY2)))
  })

  /*
   * 30 days of traffic; the first 20 days are flushed and their live
   * sketches are gone (Redis: the TTL; memory: a restart), then 10 more
   * days arrive with late traffic on a flushed day; some of them are flushed.
   */
  const FIRST = '2026-01-01'
  const dayOf = (i: number) =>
    new Date(Date.parse(FIRST) + i * 86_400_000).toISOString().slice(0, 10)
  const LAST = dayOf(29)
  const APP_KEY = 'store-contract-app-key-0123456789'

  /** visitors of day i: 80 of 400 regular users, staff user 1 every day */
  const visitorsOf = (i: number) => [
    '1',
    ...ids(0, 80, 'user').map((_, j) => `user-${(i * 37 + j) % 400}`),
  ]
  const LATE = ids(0, 30, 'late')
  const expected = new Set([...Array.from({ length: 30 }, (_, i) => visitorsOf(i)).flat(), ...LATE])
    .size

  async function thirtyDays(kind: TrackingStoreName, cleanup: Cleanup) {
    const record = (tracking: ReturnType<typeof buildManager>, day: string, visitors: string[]) => {
      for (const visitor of visitors) {
        tracking.manager.buffer.add({ day, path: '/', visitor, minute: 0 })
      }
    }
    let tracking = buildManager({}, { store: kind, appKey: APP_KEY })
    cleanup(() => tracking.cleanup())
    for (let i = 0; i < 20; i++) record(tracking, dayOf(i), visitorsOf(i))
    await tracking.manager.drain()
    await flushPageViews(tracking.manager, db)

    if (kind === 'redis') {
      const store = tracking.manager.store as RedisStore
      await redisClient().del(
        ...Array.from({ length: 20 }, (_, i) => store.keys.visitors(dayOf(i)))
      )
    } else {
      await tracking.cleanup()
      tracking = buildManager({}, { store: kind, appKey: APP_KEY })
    }
    for (let i = 20; i < 30; i++) record(tracking, dayOf(i), visitorsOf(i))
    record(tracking, dayOf(12), [...LATE, ...visitorsOf(3)])
    await tracking.manager.drain()
    await flushPageViews(tracking.manager, db, { date: dayOf(12) })
    await flushPageViews(tracking.manager, db, { from: dayOf(20), to: dayOf(24) })

    const rows = await db
      .from('tracking_daily_stats')
      .whereBetween('date', [FIRST, LAST])
      .select('visitors_sketch')
    const sketches = rows.map((row) => Buffer.from(row.visitors_sketch))
    const days = Array.from({ length: 30 }, (_, i) => dayOf(i))
    return { tracking, sketches, days }
  }

  /** The count measure() gives for the 30 days of each store; equal, and near the truth */
  async function equalOnBothStores(
    assert: Parameters<typeof near>[0] & { equal(actual: number, expected: number): void },
    cleanup: Cleanup,
    measure: (days: Awaited<ReturnType<typeof thirtyDays>>) => Promise<number>
  ) {
    const counts: number[] = []
    for (const kind of STORES) {
      await truncateTrackingTables()
      counts.push(await measure(await thirtyDays(kind, cleanup)))
    }
    near(assert, counts[0], expected)
    assert.equal(counts[1], counts[0])
  }

  test('unique visitors of 30 days (stored sketches + live days) are equal on both stores', async ({
    assert,
    cleanup,
  }) => {
    await equalOnBothStores(assert, cleanup, async ({ tracking, sketches, days }) => {
      /* days 0..19 and 20..24 are stored */
      assert.lengthOf(sketches, 25)
      return tracking.manager.store.countUnion(sketches, days)
    })
  })

  test("the selector's uniqueVisitorsForRange over 30 days is equal on both stores", async ({
    assert,
    cleanup,
  }) => {
    await equalOnBothStores(assert, cleanup, ({ tracking }) =>
      new TrackingSelector(tracking.manager, db).uniqueVisitorsForRange({ from: FIRST, to: LAST })
    )
  })
})
