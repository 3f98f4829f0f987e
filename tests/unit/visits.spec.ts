/*
|--------------------------------------------------------------------------
| Visits (#15): from the recorder to SQL and the selector
|--------------------------------------------------------------------------
|
| Views recorded with a pinned clock through the recorder (anonymous
| visitors by their ip and user agent, a logged-in user), on both stores,
| read live, flushed exactly once into the visit tables and read again.
| Then two processes sharing Redis, a Redis that stalls mid-visit, the
| flush's crash points and concurrent flushers, and the upgrade path
| without the tables.
|
*/

import { setTimeout as sleep } from 'node:timers/promises'
import { test } from '@japa/runner'
import type { TestContext } from '@japa/runner/core'
import db from '@adonisjs/lucid/services/db'
import { Redis } from 'ioredis'
import { DateTime } from 'luxon'
import { flushPageViews } from '../../src/flush.ts'
import { resolveSettings } from '../../src/settings.ts'
import { TrackingSelector, type RangeVisits } from '../../src/selector.ts'
import { MemoryStore } from '../../src/stores/memory_store.ts'
import { RedisStore } from '../../src/stores/redis_store.ts'
import { VISIT_TABLES } from '../../src/tables.ts'
import type { TrackingConfig, TrackingStoreName } from '../../src/types.ts'
import {
  BROWSER_UA,
  buildManager,
  dbName,
  deleteTrackingKeys,
  redisClient,
  truncateTrackingTables,
  uniqueKeyPrefix,
} from '../helpers.ts'
import { TestRedisServer } from '../redis_server.ts'
import { segment, summary, T0, visitBatch } from '../visit_helpers.ts'

const STORES: TrackingStoreName[] = ['redis', 'memory']
const ZONE = 'Europe/Paris'
const DAY1 = '2026-03-10'
const DAY2 = '2026-03-11'

/** An instant on a day, wall-clock time in the tracking timezone */
function at(day: string, time: string): number {
  return DateTime.fromISO(`${day}T${time}`, { zone: ZONE }).toMillis()
}

interface Visitor {
  /** a guest: its ip (the user agent is BROWSER_UA) */
  ip?: string
  /** a logged-in user */
  userId?: number
  referer?: string
}

/** A GET answered 200, as the recorder reads it */
function ctxOf(path: string, visitor: Visitor) {
  const ip = visitor.ip ?? '198.51.100.200'
  const headers: Record<string, string> = { 'host': 'app.test', 'user-agent': BROWSER_UA }
  if (visitor.referer) headers.referer = visitor.referer
  return {
    request: {
      url: () => path,
      method: () => 'GET',
      ip: () => ip,
      header: (name: string) => headers[name],
      request: { headers, url: path, socket: { remoteAddress: ip } },
    },
    response: { getStatus: () => 200 },
    auth: visitor.userId ? { user: { id: visitor.userId } } : undefined,
  } as any
}

/** A manager with a pinned clock and its selector, cleaned up after the test */
function trackedWithClock(
  cleanup: TestContext['cleanup'],
  store: TrackingStoreName,
  config: TrackingConfig = {},
  /* the Redis store counts open visits by this clock too (else by the real one) */
  storeClock = false
) {
  const clock = { now: at(DAY1, '09:00') }
  const tracking = buildManager(
    { trackAnonymous: true, timezone: ZONE, bufferMs: 60_000, ...config },
    { store, now: () => clock.now, ...(storeClock ? { storeNow: () => clock.now } : {}) }
  )
  cleanup(() => tracking.cleanup())
  const { manager } = tracking
  const selector = new TrackingSelector(manager, db, { now: () => clock.now })
  return {
    ...tracking,
    clock,
    selector,
    /** records one view at an instant; with `drain` each view is a batch of its own */
    async view(time: number, path: string, visitor: Visitor, drain: boolean) {
      clock.now = time
      if (!manager.recorder.record(ctxOf(path, visitor))) throw new Error(`${path} not counted`)
      if (drain) await manager.drain()
    },
    flush: () => flushPageViews(manager, db),
  }
}

const A = { ip: '198.51.100.1', referer: 'https://news.ycombinator.com/item?id=1' }
const B = { ip: '198.51.100.2' }
const C = { ip: '198.51.100.3' }
const USER = { userId: 42 }

/**
 * The script: A views /, /about, /pricing a minute apart; B views
 * /about once; C views / then / again 40 minutes later; a logged-in user
 * views /docs at 23:50 and /pricing at 00:10 (Paris)
 */
async function script(view: (time: number, path: string, who: Visitor) => Promise<void>) {
  await view(at(DAY1, '10:00'), '/', A)
  await view(at(DAY1, '10:00:30'), '/about', B)
  await view(at(DAY1, '10:00:40'), '/', C)
  /* internal navigation: no source of its own */
  await view(at(DAY1, '10:01'), '/about', { ...A, referer: 'http://app.test/' })
  await view(at(DAY1, '10:02'), '/pricing', { ...A, referer: 'http://app.test/about' })
  await view(at(DAY1, '10:40:40'), '/', C)
  await view(at(DAY1, '23:50'), '/docs', USER)
  await view(at(DAY2, '00:10'), '/pricing', USER)
}

/** What the selector must answer for DAY1, live and flushed */
const EXPECTED = {
  visits: 5,
  views: 8,
  bounces: 3,
  durationSeconds: 120 + 1200,
  viewsPerVisit: 1.6,
  bounceRate: 60,
  durationMedian: 0,
  durationMean: 264,
  entryPages: [
    { path: '/', visits: 3 },
    { path: '/about', visits: 1 },
    { path: '/docs', visits: 1 },
  ],
  exitPages: [
    { path: '/', visits: 2 },
    { path: '/pricing', visits: 2 },
    { path: '/about', visits: 1 },
  ],
  sources: [
    { value: 'Direct / None', visits: 4 },
    { value: 'ycombinator.com', visits: 1 },
  ],
  channels: [
    { value: 'Direct', visits: 4 },
    { value: 'Referral', visits: 1 },
  ],
}

/** The figures of a range without the range itself */
async function visitsOf(selector: TrackingSelector, from: string, to = from) {
  const withoutRange = ({ range: _, ...figures }: RangeVisits) => figures
  return withoutRange(await selector.visits({ from, to }))
}

for (const kind of STORES) {
  test.group(`Visits | the issue's script (${kind} store, ${dbName})`, (group) => {
    group.each.setup(() => truncateTrackingTables())

    for (const batches of ['one batch', 'a batch per view'] as const) {
      test(`${batches}: 5 visits, 60 % bounces, exact entries, exits and durations, live and flushed`, async ({
        assert,
        cleanup,
      }) => {
        const tracking = trackedWithClock(cleanup, kind)
        const { selector, manager } = tracking
        await script((time, path, who) => tracking.view(time, path, who, batches !== 'one batch'))
        await manager.drain()

        /* live: nothing flushed yet */
        assert.deepEqual(await visitsOf(selector, DAY1), EXPECTED)
        /* a visit counts on the day it started: nothing on DAY2, though the user viewed a page there */
        assert.include(await visitsOf(selector, DAY2), { visits: 0, views: 0, bounceRate: 0 })
        assert.deepEqual(await visitsOf(selector, DAY1, DAY2), EXPECTED)

        const context = await selector.getAnalyticsContext({ from: DAY1, to: DAY1 })
        assert.include(context.trackingVisits!, { kind: 'metric', key: 'trackingVisits', value: 5 })
        assert.equal(context.trackingViewsPerVisit!.value, 1.6)
        assert.equal(context.trackingBounceRate!.value, 60)
        assert.include(context.trackingVisitDuration!, { value: 0, mean: 264 })
        assert.deepEqual(
          context.trackingEntryPages!.items.map((item) => [item.label, item.value, item.share]),
          [
            ['/', 3, 0.6],
            ['/about', 1, 0.2],
            ['/docs', 1, 0.2],
          ]
        )
        assert.deepEqual(
          context.trackingExitPages!.items.map((item) => [item.label, item.value]),
          [
            ['/', 2],
            ['/pricing', 2],
            ['/about', 1],
          ]
        )
        /* unique visitors per page: A and C on /, A and B on /about, A on /pricing, the user on /docs */
        const visitorsOf = (items: typeof context.trackingTopPages.items) =>
          Object.fromEntries(items.map((item) => [item.label, [item.value, item.visitors]]))
        assert.deepEqual(visitorsOf(context.trackingTopPages.items), {
          '/': [3, 2],
          '/about': [2, 2],
          '/pricing': [1, 1],
          '/docs': [1, 1],
        })
        const twoDays = await selector.getAnalyticsContext({ from: DAY1, to: DAY2 })
        assert.deepEqual(visitorsOf(twoDays.trackingTopPages.items)['/pricing'], [2, 2])

        /* flushed: the same figures from SQL, exactly once */
        await tracking.flush()
        assert.deepEqual(await manager.store.getVisits([DAY1, DAY2]), new Map())
        assert.deepEqual(await visitsOf(selector, DAY1), EXPECTED)
        await tracking.flush()
        assert.deepEqual(await visitsOf(selector, DAY1), EXPECTED)
        const flushed = await selector.getAnalyticsContext({ from: DAY1, to: DAY2 })
        assert.deepEqual(
          visitorsOf(flushed.trackingTopPages.items),
          visitorsOf(twoDays.trackingTopPages.items)
        )
        const stats = await db.from('tracking_visit_stats').select('*')
        assert.lengthOf(stats, 1)
        assert.include(
          {
            visits: Number(stats[0].visits),
            views: Number(stats[0].views),
            bounces: Number(stats[0].bounces),
            duration: Number(stats[0].duration_seconds),
          },
          { visits: 5, views: 8, bounces: 3, duration: 1320 }
        )
      })
    }

    test('trends against the previous range', async ({ assert, cleanup }) => {
      const tracking = trackedWithClock(cleanup, kind)
      /* DAY1: 2 visits, one a bounce; DAY2: 4 visits, all bounces */
      await tracking.view(at(DAY1, '10:00'), '/', B, false)
      await tracking.view(at(DAY1, '11:00'), '/', C, false)
      await tracking.view(at(DAY1, '11:02'), '/a', C, false)
      for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']) {
        await tracking.view(at(DAY2, '10:00'), '/', { ip }, false)
      }
      await tracking.manager.drain()
      const context = await tracking.selector.getAnalyticsContext({ from: DAY2, to: DAY2 })
      assert.equal(context.trackingVisits!.value, 4)
      assert.deepInclude(context.trackingVisits!.trend, { percent: 100, label: '+100%' })
      assert.equal(context.trackingBounceRate!.value, 100)
      assert.deepInclude(context.trackingBounceRate!.trend, { percent: 100, previous: 50 })
      assert.deepInclude(context.trackingViewsPerVisit!.trend, { percent: -33, previous: 1.5 })
      /* the previous median: (0 + 120) / 2 = 60 s; now 0 s */
      assert.deepInclude(context.trackingVisitDuration!.trend, { percent: -100, previous: 60 })
    })

    test("a guest's visit across midnight is one visit on the first day, though the salt rotates", async ({
      assert,
      cleanup,
    }) => {
      for (const drain of [false, true]) {
        await truncateTrackingTables()
        const tracking = trackedWithClock(cleanup, kind)
        await tracking.view(at(DAY1, '23:55'), '/', A, drain)
        await tracking.view(at(DAY2, '00:05'), '/about', A, drain)
        /* a guest seen only after midnight, and one the salt does not link: two more visits */
        await tracking.view(at(DAY2, '00:06'), '/', B, drain)
        await tracking.view(at(DAY2, '01:00'), '/', C, drain)
        await tracking.manager.drain()
        assert.include(await visitsOf(tracking.selector, DAY1), {
          visits: 1,
          views: 2,
          durationSeconds: 600,
        })
        assert.include(await visitsOf(tracking.selector, DAY2), { visits: 2, bounces: 2 })
        await tracking.flush()
        assert.include(await visitsOf(tracking.selector, DAY1), { visits: 1, views: 2 })
        await tracking.manager.shutdown()
      }
    })
  })
}

for (const kind of STORES) {
  test.group(`Visits | maxOpenVisits (${kind} store, ${dbName})`, (group) => {
    group.each.setup(() => truncateTrackingTables())

    test('beyond the cap, a new visitor gets a visit that is counted, not remembered: bounded memory', async ({
      assert,
      cleanup,
    }) => {
      const tracking = trackedWithClock(cleanup, kind, { maxOpenVisits: 3 })
      const { selector, manager } = tracking
      const guests = Array.from({ length: 5 }, (_, i) => ({ ip: `198.51.100.${10 + i}` }))
      /* each guest views / then /about a minute later, each view a batch of its own */
      for (const guest of guests) await tracking.view(at(DAY1, '10:00'), '/', guest, true)
      for (const guest of guests) await tracking.view(at(DAY1, '10:01'), '/about', guest, true)
      /* 3 remembered visits of 2 views; the other 2 guests: 2 one-view visits each */
      assert.include(await visitsOf(selector, DAY1), { visits: 7, views: 10, bounces: 4 })
      if (kind === 'redis') {
        const store = manager.store as RedisStore
        const client = redisClient()
        /* the open visits are counted per minute of their last write */
        const perMinute = await client.hvals(`${store.keys.tag}:visopens`)
        assert.equal(
          perMinute.reduce((sum, count) => sum + Number(count), 0),
          3
        )
        const states = await client.keys(`${store.keys.tag}:vstate:*`)
        assert.lengthOf(states, 3)
        assert.isAbove(await client.ttl(`${store.keys.tag}:visopens`), 0)
      }
      await tracking.flush()
      assert.include(await visitsOf(selector, DAY1), { visits: 7, views: 10, bounces: 4 })
    })

    if (kind === 'redis') {
      test('the open-visit count follows the states: a visit seen again moves to its minute, an expired minute frees its places', async ({
        assert,
        cleanup,
      }) => {
        /* the store's clock moves with the recorder's: the count is kept per minute of that clock */
        const tracking = trackedWithClock(cleanup, kind, { maxOpenVisits: 2 }, true)
        const { selector, manager } = tracking
        const [g1, g2, g3, g4] = [20, 21, 22, 23].map((n) => ({ ip: `198.51.100.${n}` }))
        await tracking.view(at(DAY1, '10:00'), '/', g1, true)
        await tracking.view(at(DAY1, '10:00'), '/', g2, true)
        await tracking.view(at(DAY1, '10:05'), '/about', g1, true)
        const store = manager.store as RedisStore
        const client = redisClient()
        const minute = (time: string) => String(Math.floor(at(DAY1, time) / 60_000))
        assert.deepEqual(await client.hgetall(`${store.keys.tag}:visopens`), {
          [minute('10:00')]: '1',
          [minute('10:05')]: '1',
        })
        /* full: g3's visit is counted, not remembered, so its next view is a visit of its own */
        await tracking.view(at(DAY1, '10:06'), '/', g3, true)
        await tracking.view(at(DAY1, '10:07'), '/about', g3, true)
        /* 10:33: g2's state (last view 10:00) has expired, its place is free for g4 */
        await tracking.view(at(DAY1, '10:33'), '/', g4, true)
        await tracking.view(at(DAY1, '10:34'), '/about', g4, true)
        assert.deepEqual(await client.hgetall(`${store.keys.tag}:visopens`), {
          [minute('10:05')]: '1',
          [minute('10:34')]: '1',
        })
        /* g1 1 visit, g2 1, g3 2 (not remembered), g4 1 (remembered) */
        assert.include(await visitsOf(selector, DAY1), { visits: 5, views: 7 })
      })
    }

    test('maxOpenVisits must be a whole number from 1', ({ assert }) => {
      assert.throws(() => resolveSettings({ maxOpenVisits: 0 }), /maxOpenVisits/)
      assert.throws(() => resolveSettings({ maxOpenVisits: 1.5 }), /maxOpenVisits/)
      assert.equal(resolveSettings({}).maxOpenVisits, 100_000)
      assert.equal(resolveSettings({}, { max_open_visits: 7 }).maxOpenVisits, 7)
    })
  })
}

test.group(`Visits | two app processes sharing Redis (${dbName})`, (group) => {
  group.each.setup(() => truncateTrackingTables())

  test('interleaved views of one visitor served by two processes are one visit', async ({
    assert,
    cleanup,
  }) => {
    const keyPrefix = uniqueKeyPrefix('visits-shared')
    const clock = { now: at(DAY1, '10:00') }
    const config = { keyPrefix, trackAnonymous: true, timezone: ZONE, bufferMs: 60_000 }
    const one = buildManager(config, { now: () => clock.now })
    const two = buildManager(config, { now: () => clock.now })
    cleanup(async () => {
      await one.manager.shutdown()
      await two.manager.shutdown()
      await deleteTrackingKeys(keyPrefix)
    })
    const record = (process: typeof one, time: string, path: string, who: Visitor) => {
      clock.now = at(DAY1, time)
      assert.isTrue(process.manager.recorder.record(ctxOf(path, who)))
    }
    for (const who of [USER, B]) {
      record(one, '10:00', '/', who)
      record(two, '10:01', '/a', who)
      record(one, '10:02', '/b', who)
      record(two, '10:03', '/c', who)
    }
    /* the later process writes first: its first view is not the visit's first */
    await two.manager.drain()
    await one.manager.drain()
    const selector = new TrackingSelector(one.manager, db, { now: () => clock.now })
    const expected = {
      visits: 2,
      views: 8,
      bounces: 0,
      durationSeconds: 2 * 180,
      entryPages: [{ path: '/', visits: 2 }],
      exitPages: [{ path: '/c', visits: 2 }],
    }
    assert.containSubset(await visitsOf(selector, DAY1), expected)
    await flushPageViews(two.manager, db)
    assert.containSubset(await visitsOf(selector, DAY1), expected)
  })
})

test.group(`Visits | Redis stalls in the middle of a visit (${dbName})`, (group) => {
  group.each.setup(() => truncateTrackingTables())

  test('a write that timed out and is sent again after recovery counts no visit twice', async ({
    assert,
    cleanup,
  }) => {
    const server = await new TestRedisServer().start()
    const redis = new Redis({ host: '127.0.0.1', port: server.port, retryStrategy: () => 50 })
    redis.on('error', () => {})
    cleanup(async () => {
      server.resume()
      redis.disconnect()
      await server.stop()
    })
    const clock = { now: at(DAY1, '10:00') }
    const tracking = buildManager(
      { trackAnonymous: true, timezone: ZONE, bufferMs: 60_000, storeTimeoutMs: 200 },
      { client: () => redis, now: () => clock.now }
    )
    cleanup(() => tracking.cleanup())
    const { manager } = tracking
    const failures: Error[] = []
    manager.buffer.on('failed', (error) => failures.push(error))
    await redis.ping()
    const record = (time: string, path: string) => {
      clock.now = at(DAY1, time)
      assert.isTrue(manager.recorder.record(ctxOf(path, A)))
    }
    record('10:00', '/')
    await manager.drain()
    /* Redis stops answering: the write of the next views is given up, kept for a resend */
    server.pause()
    record('10:01', '/about')
    record('10:02', '/pricing')
    await manager.drain()
    assert.isAbove(failures.length, 0)
    assert.isAbove(manager.buffer.size, 0)
    /* back: the stalled write lands, then the resend (same batch id) is a no-op */
    server.resume()
    for (let i = 0; i < 200 && manager.buffer.size > 0; i++) {
      await manager.drain()
      if (manager.buffer.size > 0) await sleep(25)
    }
    assert.equal(manager.buffer.size, 0)
    record('10:03', '/')
    await manager.drain()
    const selector = new TrackingSelector(manager, db, { now: () => clock.now })
    assert.containSubset(await visitsOf(selector, DAY1), {
      visits: 1,
      views: 4,
      bounces: 0,
      durationSeconds: 180,
      entryPages: [{ path: '/', visits: 1 }],
      exitPages: [{ path: '/', visits: 1 }],
    })
    assert.equal(await manager.store.getDayTotal(DAY1), 4)
  })
})

/**
 * A one-view visit of `visitor` at T0 (entry /) in progress, as the release
 * before kept it: a hash with the timeout as TTL, and an entry in the sorted
 * set of open visits (scored by the end of its timeout)
 */
async function legacyVisit(client: Redis, tag: string, visitor: string) {
  await client.hset(`${tag}:visit:${visitor}`, {
    s: T0,
    l: T0,
    v: 1,
    e: '/',
    x: '/',
    d: '2026-03-10',
    src: '',
    ch: '',
  })
  await client.expire(`${tag}:visit:${visitor}`, 1800)
  await client.zadd(`${tag}:visopen`, T0 + 1_800_000, visitor)
}

/** A Redis store on its own prefix, cleaned up after the test */
function redisStore(cleanup: TestContext['cleanup'], keyPrefix = uniqueKeyPrefix('visits')) {
  cleanup(() => deleteTrackingKeys(keyPrefix))
  return new RedisStore({ client: () => redisClient(), keyPrefix, ttlSeconds: 3600 })
}

/** tracking_visit_stats of a day, as numbers */
async function storedStats(day: string) {
  const row = await db.from('tracking_visit_stats').where('date', day).first()
  if (!row) return null
  return {
    visits: Number(row.visits),
    views: Number(row.views),
    bounces: Number(row.bounces),
    duration: Number(row.duration_seconds),
  }
}

/** Every visit figure of a day in SQL (entries, exits, buckets, sources) */
async function storedFigures(day: string) {
  const [durations, pages, sources] = await Promise.all([
    db
      .from('tracking_visit_durations')
      .where('date', day)
      .select('bucket', 'visits', 'duration_seconds'),
    db.from('tracking_visit_pages').where('date', day).select('path', 'entries', 'exits'),
    db.from('tracking_visit_sources').where('date', day).select('dimension', 'value', 'visits'),
  ])
  const counts = {
    ...(await storedStats(day)),
    durations: Object.fromEntries(
      durations
        .filter((row) => Number(row.visits) !== 0 || Number(row.duration_seconds) !== 0)
        .map((row) => [String(row.bucket), [Number(row.visits), Number(row.duration_seconds)]])
        .sort(([a], [b]) => Number(a) - Number(b))
    ),
    entries: Object.fromEntries(
      pages.filter((row) => Number(row.entries) !== 0).map((row) => [row.path, Number(row.entries)])
    ),
    exits: Object.fromEntries(
      pages.filter((row) => Number(row.exits) !== 0).map((row) => [row.path, Number(row.exits)])
    ),
    sources: Object.fromEntries(
      sources
        .filter((row) => Number(row.visits) !== 0)
        .map((row) => [`${row.dimension}:${row.value}`, Number(row.visits)])
    ),
  }
  return counts
}

test.group(`Visits | flush (${dbName})`, (group) => {
  group.each.setup(() => truncateTrackingTables())

  for (const kind of STORES) {
    test(`deltas after a flush add up in SQL: bounces taken back, exits moved (${kind} store)`, async ({
      assert,
      cleanup,
    }) => {
      const store = kind === 'redis' ? redisStore(cleanup) : new MemoryStore({ ttlSeconds: 3600 })
      const target = { store, settings: { timezone: 'UTC' } }
      await store.write(
        visitBatch([
          segment('A', [0, '/'], undefined, 1, { source: 'github.com', channel: 'Referral' }),
          segment('B', [0, '/b']),
        ])
      )
      await flushPageViews(target, db)
      assert.deepEqual(await storedStats(DAY1), { visits: 2, views: 2, bounces: 2, duration: 0 })
      /* A goes on after the flush: -1 bounce, its exit moves from / to /c, 3 minutes */
      await store.write(visitBatch([segment('A', [3, '/c'])]))
      await flushPageViews(target, db)
      assert.deepEqual([...(await store.getVisits([DAY1]))], [])
      assert.deepEqual(await storedFigures(DAY1), {
        visits: 2,
        views: 3,
        bounces: 1,
        duration: 180,
        durations: { '0': [1, 0], '180': [1, 180] },
        entries: { '/': 1, '/b': 1 },
        exits: { '/b': 1, '/c': 1 },
        sources: { 'source:github.com': 1, 'channel:Referral': 1 },
      })
    })
  }

  test('a visit in progress in the state the release before kept (a hash) goes on as one visit', async ({
    assert,
    cleanup,
  }) => {
    const store = redisStore(cleanup)
    const client = redisClient()
    const { tag } = store.keys
    await store.write(visitBatch([segment('A', [0, '/'])]))
    /* the same state as the release before kept it: a hash, and the sorted set of open visits */
    await client.del(`${tag}:vstate:A`, `${tag}:visopens`)
    await legacyVisit(client, tag, 'A')
    await client.expire(`${tag}:visopen`, 1800)

    await store.write(visitBatch([segment('A', [2, '/b'])]))
    const visits = await store.getVisits(['2026-03-10'])
    assert.deepEqual(summary(visits.get('2026-03-10')), {
      visits: 1,
      views: 2,
      bounces: 0,
      duration: 120,
      durations: { '120': [1, 120] },
      entries: { '/': 1 },
      exits: { '/b': 1 },
      sources: {},
    })
    /* moved to the new state, with a TTL; the hash is gone */
    assert.equal(await client.exists(`${tag}:visit:A`), 0)
    const ttl = await client.ttl(`${tag}:vstate:A`)
    assert.isAbove(ttl, 0)
    assert.isAtMost(ttl, 1800)
  })

  test('visits in progress in the sorted set the release before kept count toward maxOpenVisits, and leave it when moved', async ({
    assert,
    cleanup,
  }) => {
    const keyPrefix = uniqueKeyPrefix('visits')
    cleanup(() => deleteTrackingKeys(keyPrefix))
    const store = new RedisStore({
      client: () => redisClient(),
      keyPrefix,
      ttlSeconds: 3600,
      maxOpenVisits: 2,
      now: () => T0 + 2 * 60_000,
    })
    const client = redisClient()
    const { tag } = store.keys
    /* A and B: visits in progress as the release before kept them (hashes, the sorted set) */
    for (const visitor of ['A', 'B']) await legacyVisit(client, tag, visitor)
    /* and an ended one, which holds no place */
    await client.zadd(`${tag}:visopen`, T0 - 60_000, 'Z')
    await client.expire(`${tag}:visopen`, 1800)

    /* the cap is full with A and B: C's visit is counted, not remembered */
    await store.write(visitBatch([segment('C', [2, '/c'])]))
    assert.equal(await client.exists(`${tag}:vstate:C`), 0)
    /* A goes on: its state moves to the new form and leaves the sorted set */
    await store.write(visitBatch([segment('A', [2, '/b'])]))
    assert.equal(await client.exists(`${tag}:vstate:A`), 1)
    assert.deepEqual(await client.zrange(`${tag}:visopen`, 0, -1), ['B'])
    /* still full (A in the new count, B in the sorted set): D is not remembered either */
    await store.write(visitBatch([segment('D', [2, '/d'])]))
    assert.equal(await client.exists(`${tag}:vstate:D`), 0)
    const visits = await store.getVisits(['2026-03-10'])
    /* C and D: one-view visits of their own; A one more view (its visit was counted before) */
    assert.include(summary(visits.get('2026-03-10')), { visits: 2, views: 3, bounces: 1 })
  })

  test('a failure before the commit, then a re-run: visits once', async ({ assert, cleanup }) => {
    const store = redisStore(cleanup)
    const target = { store, settings: { timezone: 'UTC' } }
    await store.write(visitBatch([segment('A', [0, '/'], [2, '/b'], 2)]))
    const crash = () => {
      throw new Error('crash')
    }
    await assert.rejects(() => flushPageViews(target, db, { hooks: { beforeCommit: crash } }))
    assert.isNull(await storedStats(DAY1))
    /* the figures taken aside and not committed still count live */
    const selector = new TrackingSelector({ store, settings: resolveSettings() }, db, {
      now: () => T0,
    })
    assert.include(await visitsOf(selector, DAY1), { visits: 1, views: 2, durationSeconds: 120 })
    const summaryOf = await flushPageViews(target, db)
    assert.equal(summaryOf.recovered, 1)
    assert.deepEqual(await storedStats(DAY1), { visits: 1, views: 2, bounces: 0, duration: 120 })
    await flushPageViews(target, db)
    assert.deepEqual(await storedStats(DAY1), { visits: 1, views: 2, bounces: 0, duration: 120 })
    assert.include(await visitsOf(selector, DAY1), { visits: 1, views: 2, durationSeconds: 120 })
  })

  test('a failure after the commit, then a re-run: visits once', async ({ assert, cleanup }) => {
    const store = redisStore(cleanup)
    const target = { store, settings: { timezone: 'UTC' } }
    await store.write(visitBatch([segment('A', [0, '/'], [2, '/b'], 2)]))
    const crash = () => {
      throw new Error('crash')
    }
    await assert.rejects(() => flushPageViews(target, db, { hooks: { afterCommit: crash } }))
    assert.deepEqual(await storedStats(DAY1), { visits: 1, views: 2, bounces: 0, duration: 120 })
    assert.lengthOf(await store.takenFlushes(), 1)
    await flushPageViews(target, db)
    assert.deepEqual(await storedStats(DAY1), { visits: 1, views: 2, bounces: 0, duration: 120 })
    assert.lengthOf(await store.takenFlushes(), 0)
  })

  test('4 concurrent flushers while visits go on: every figure once', async ({
    assert,
    cleanup,
  }) => {
    const keyPrefix = uniqueKeyPrefix('visits-race')
    const primary = db.primaryConnectionName
    const config = db.manager.get(primary)!.config
    const redisClients: Redis[] = []
    const connection = () => {
      const client = new Redis({
        host: process.env.REDIS_HOST ?? '127.0.0.1',
        port: Number(process.env.REDIS_PORT ?? 6379),
      })
      redisClients.push(client)
      return client
    }
    const flushers = Array.from({ length: 4 }, (_, i) => {
      const name = dbName === 'sqlite' ? primary : `tracking_visit_flusher_${i}`
      if (name !== primary) db.manager.add(name, { ...config, pool: { min: 0, max: 2 } })
      const client = connection()
      return {
        target: {
          store: new RedisStore({ client: () => client, keyPrefix, ttlSeconds: 3600 }),
          settings: { timezone: 'UTC' },
        },
        connection: name,
      }
    })
    const writerClient = connection()
    const writer = new RedisStore({ client: () => writerClient, keyPrefix, ttlSeconds: 3600 })
    /* the same segments in process: what SQL must hold at the end */
    const reference = new MemoryStore({ ttlSeconds: 3600 })
    cleanup(async () => {
      for (const flusher of flushers) {
        if (flusher.connection !== primary) await db.manager.release(flusher.connection)
      }
      for (const client of redisClients) client.disconnect()
      await deleteTrackingKeys(keyPrefix)
    })

    let writing = true
    const traffic = (async () => {
      /* 20 visitors, one view a minute in turn: each visitor's views 20 minutes apart, one visit each */
      for (let i = 0; i < 300; i++) {
        const written = visitBatch([
          segment(`w${i % 20}`, [i, `/p/${i % 7}`], undefined, 1, {
            source: `s${i % 3}.com`,
            channel: 'Referral',
          }),
          /* and a visitor of its own every time: bounces */
          segment(`once-${i}`, [i, '/landing']),
        ])
        await writer.write(written)
        await reference.write(written)
        if (i % 10 === 0) await sleep(1)
      }
      writing = false
    })()
    let runs = 0
    await Promise.all([
      traffic,
      ...flushers.map(async ({ target, connection: name }) => {
        while (writing) {
          await flushPageViews(target, db, { connection: name, chunkSize: 7 })
          runs++
        }
      }),
    ])
    await flushPageViews(flushers[0].target, db, { connection: flushers[0].connection })
    assert.isAbove(runs, 4)
    assert.deepEqual(await writer.takenFlushes(), [])
    assert.deepEqual(await writer.pendingDays(), [])
    const referenceVisits = await reference.getVisits([DAY1])
    const expected = summary(referenceVisits.get(DAY1))
    assert.include(expected, {
      visits: 320,
      views: 600,
      bounces: 300,
      duration: 20 * 280 * 60,
    })
    assert.deepEqual(await storedFigures(DAY1), expected)
  }).timeout(60_000)
})

test.group(`Visits | entry and exit pages over many paths (${dbName})`, (group) => {
  group.each.setup(() => truncateTrackingTables())

  test('the top entry and exit pages are exact: stored days, a live day and moved exits', async ({
    assert,
    cleanup,
  }) => {
    const today = '2026-03-31'
    const days = Array.from({ length: 20 }, (_, i) =>
      DateTime.fromISO(today)
        .minus({ days: 20 - i })
        .toISODate()!
    )
    /* 20 stored days of 300 paths each, a Zipf-like spread that shifts from day to day */
    const sums = { entries: new Map<string, number>(), exits: new Map<string, number>() }
    for (const [d, date] of days.entries()) {
      const rows = Array.from({ length: 300 }, (_, i) => {
        const path = `/p/${(i + d * 7) % 300}`
        return { date, path, entries: Math.floor(600 / (i + 1)), exits: Math.floor(500 / (i + 2)) }
      })
      for (const row of rows) {
        sums.entries.set(row.path, (sums.entries.get(row.path) ?? 0) + row.entries)
        sums.exits.set(row.path, (sums.exits.get(row.path) ?? 0) + row.exits)
      }
      for (let start = 0; start < rows.length; start += 100) {
        await db.table('tracking_visit_pages').multiInsert(rows.slice(start, start + 100))
      }
      const visits = rows.reduce((total, row) => total + row.entries, 0)
      await db.table('tracking_visit_stats').insert({ date, visits, views: visits, bounces: 0 })
    }
    /* today live: many visits entering at a path of the tail; one whose exit moves */
    const clock = { now: Date.parse(`${today}T12:00:00Z`) }
    const tracking = buildManager({ timezone: 'UTC' }, { now: () => clock.now })
    cleanup(() => tracking.cleanup())
    const { store } = tracking.manager
    const base = Date.parse(`${today}T08:00:00Z`)
    await store.write({
      days: new Map(),
      minutes: new Map(),
      visits: Array.from({ length: 1500 }, (_, i) => ({
        visitor: `live-${i}`,
        day: today,
        first: base,
        firstPath: '/p/250',
        last: base + 1000,
        lastPath: i % 2 ? '/p/251' : '/p/0',
        views: 2,
      })),
    })
    await flushPageViews(tracking.manager, db)
    await store.write({
      days: new Map(),
      minutes: new Map(),
      visits: Array.from({ length: 200 }, (_, i) => ({
        visitor: `live-${2 * i}`,
        day: today,
        first: base + 60_000,
        firstPath: '/p/299',
        last: base + 60_000,
        lastPath: '/p/299',
        views: 1,
      })),
    })
    const live = await store.getVisits([today])
    assert.equal(live.get(today)!.exits.get('/p/0'), -200)
    /* today: 1,500 visits entered at /p/250 and left at /p/251 or /p/0 (flushed); 200 moved on to /p/299 */
    const ofToday = {
      entries: [['/p/250', 1500]],
      exits: [
        ['/p/251', 750],
        ['/p/0', 750 - 200],
        ['/p/299', 200],
      ],
    } as const
    const expected = (column: 'entries' | 'exits') => {
      const totals = new Map(sums[column])
      for (const [path, n] of ofToday[column]) totals.set(path, (totals.get(path) ?? 0) + n)
      return [...totals]
        .filter(([, n]) => n > 0)
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, 12)
        .map(([path, visits]) => ({ path, visits }))
    }
    const selector = new TrackingSelector(tracking.manager, db, { now: () => clock.now })
    const visits = await selector.visits({ from: days[0], to: today }, { limit: 12 })
    assert.deepEqual(visits.entryPages, expected('entries'))
    assert.deepEqual(visits.exitPages, expected('exits'))
    assert.deepInclude(visits.entryPages, {
      path: '/p/250',
      visits: sums.entries.get('/p/250')! + 1500,
    })
    assert.deepInclude(visits.exitPages, { path: '/p/0', visits: sums.exits.get('/p/0')! + 550 })
  })
})

test.group(`Visits | without the visit tables (${dbName})`, (group) => {
  group.each.setup(() => truncateTrackingTables())

  test('page views still flush, visits stay live and are read, one warning; then flushed once', async ({
    assert,
    cleanup,
  }) => {
    const tracking = trackedWithClock(cleanup, 'redis')
    await script((time, path, who) => tracking.view(time, path, who, false))
    await tracking.manager.drain()
    const warnings: Error[] = []
    const onWarning = (warning: Error) => warnings.push(warning)
    process.on('warning', onWarning)
    cleanup(() => void process.off('warning', onWarning))
    /* a schema builder runs every statement it was given: one each */
    const rename = (from: string, to: string) => db.connection().schema.renameTable(from, to)
    for (const table of VISIT_TABLES) await rename(table, `${table}_away`)
    try {
      const flushed = await tracking.flush()
      assert.equal(flushed.views, 8)
      /* the page reads the live figures without the tables */
      assert.deepEqual(await visitsOf(tracking.selector, DAY1), EXPECTED)
      const context = await tracking.selector.getAnalyticsContext({ from: DAY1, to: DAY1 })
      assert.equal(context.trackingVisits!.value, 5)
      await tracking.flush()
    } finally {
      for (const table of VISIT_TABLES) await rename(`${table}_away`, table)
    }
    await new Promise((resolve) => setImmediate(resolve))
    const ours = warnings.filter((warning) => warning.message.includes('tracking_visit_stats'))
    assert.isAtMost(ours.length, 1)
    for (const warning of ours) {
      assert.include(
        warning.message,
        'node ace configure adonis-tracking && node ace migration:run'
      )
    }
    assert.deepEqual(await tracking.manager.store.pendingDays(), [DAY1])
    const last = await tracking.flush()
    assert.equal(last.views, 0)
    assert.deepEqual(await storedStats(DAY1), { visits: 5, views: 8, bounces: 3, duration: 1320 })
    assert.deepEqual(await visitsOf(tracking.selector, DAY1), EXPECTED)
    assert.deepEqual(await tracking.manager.store.pendingDays(), [])
  })
})
