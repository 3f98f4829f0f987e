import { test } from '@japa/runner'
import type { TestContext } from '@japa/runner/core'
import { once } from 'node:events'
import { Redis } from 'ioredis'
import { resolveSettings } from '../../src/settings.ts'
import { RedisStore } from '../../src/stores/redis_store.ts'
import { TrackingManager } from '../../src/manager.ts'
import { TestRedisServer } from '../redis_server.ts'
import { ReplyDroppingProxy } from '../reply_dropping_proxy.ts'
import { near } from '../helpers.ts'

const DAY = '2026-11-20'

function client(port = Number(process.env.REDIS_PORT ?? 6379)) {
  const redis = new Redis({
    host: process.env.REDIS_HOST ?? '127.0.0.1',
    port,
    retryStrategy: () => 50,
    maxRetriesPerRequest: 1,
  })
  redis.on('error', () => {})
  return redis
}

/**
 * A manager whose Redis store writes under a fresh key prefix on its own
 * client; the keys and the client go away after the test
 */
async function managerOn(
  after: TestContext['cleanup'],
  config: Parameters<typeof resolveSettings>[0] = {},
  port?: number
) {
  const redis = client(port)
  const keyPrefix = `test-buffer-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  const settings = resolveSettings({ keyPrefix, ...config })
  const store = new RedisStore({ client: () => redis, keyPrefix, ttlSeconds: 3600 })
  after(async () => {
    const keys = await redis.keys(`{${keyPrefix}}*`).catch(() => [])
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  })
  await redis.ping()
  return { manager: new TrackingManager(settings, store), store, redis }
}

/**
 * The next `event` of the client (events.once would reject on the
 * connection errors a client emits while it reconnects)
 */
function next(redis: Redis, event: 'close' | 'ready') {
  return new Promise<void>((resolve) => redis.once(event, () => resolve()))
}

/** managerOn, on a redis-server owned by the test (stopped after it) */
async function onOwnServer(
  after: TestContext['cleanup'],
  config: Parameters<typeof resolveSettings>[0]
) {
  const server = await new TestRedisServer().start()
  after(() => server.stop())
  return { ...(await managerOn(after, config, server.port)), server }
}

/** Freezes a test-owned server (SIGSTOP): connections stay open, nothing is answered */
function freeze(server: TestRedisServer, after: TestContext['cleanup']) {
  server.pause()
  after(() => server.resume())
}

/** Lets a frozen server answer again and drains the buffer; returns the live views of DAY */
async function thaw(server: TestRedisServer, manager: TrackingManager) {
  server.resume()
  await manager.drain()
  if (manager.buffer.size !== 0)
    throw new Error(`${manager.buffer.size} entries left after a drain`)
  return manager.store.getDaily(DAY)
}

/** Stops a test-owned server and waits until the client has seen its connection close */
async function stopServer(server: TestRedisServer, redis: Redis) {
  const closed = next(redis, 'close')
  await server.stop()
  await closed
}

/** Starts a test-owned server again and waits until the client is ready on it */
async function startServer(server: TestRedisServer, redis: Redis) {
  const ready = next(redis, 'ready')
  await server.start(server.port)
  await ready
}

test.group('WriteBuffer', () => {
  test('coalesces views and sends them in batches', async ({ assert, cleanup: after }) => {
    const { manager, store } = await managerOn(after, { bufferMs: 20 })
    const written = once(manager.buffer, 'written')
    for (let i = 0; i < 1000; i++) {
      manager.recorder.recordView({ path: `/p${i % 10}`, day: DAY, visitor: `u${i % 37}` })
    }
    /*
     * 10 paths, 37 visitors of the day, the same 37 in the realtime minute,
     * and each visitor's visit segment with its (visitor, path) pairs: every
     * visitor met every path
     */
    assert.equal(manager.buffer.size, 10 + 37 + 37 + 37 * (1 + 10))
    /* one batch for all of them, sent by the timer */
    const [batch] = await written
    assert.equal(batch.days.get(DAY)!.views.size, 10)
    assert.equal(manager.buffer.size, 0)
    assert.equal(await store.getDayTotal(DAY), 1000)
    const daily = await store.getDaily(DAY)
    assert.equal(daily.get('/p3'), 100)
    /* HyperLogLog counts: 37 ids under a random hash key share a register ~4 % of runs (36) */
    near(assert, await store.getUniqueCount(DAY), 37)
    near(assert, await store.realtimeVisitors(), 37)
  })

  test('write-through (bufferMs: 0) sends every view at once', async ({
    assert,
    cleanup: after,
  }) => {
    const { manager, store } = await managerOn(after, { bufferMs: 0 })
    const written = once(manager.buffer, 'written')
    manager.recorder.recordView({ path: '/a', day: DAY })
    /* sent without waiting for a timer or a drain */
    await written
    assert.equal(await store.getDayTotal(DAY), 1)
  })

  test('shutdown drains the buffer into Redis', async ({ assert, cleanup: after }) => {
    const { manager, store } = await managerOn(after, { bufferMs: 60_000 })
    for (let i = 0; i < 250; i++) manager.recorder.recordView({ path: `/x${i % 5}`, day: DAY })
    assert.equal(await store.getDayTotal(DAY), 0)
    await manager.shutdown()
    assert.equal(await store.getDayTotal(DAY), 250)
  })

  test('stays bounded while Redis is down and resumes when it returns', async ({
    assert,
    cleanup: after,
  }) => {
    const { manager, store, redis, server } = await onOwnServer(after, {
      bufferMs: 20,
      bufferMaxEntries: 100,
    })

    const first = once(manager.buffer, 'written')
    manager.recorder.recordView({ path: '/before', day: DAY })
    await first
    assert.equal(await store.getDayTotal(DAY), 1)

    await stopServer(server, redis)
    assert.isFalse(store.isReady())
    for (let i = 0; i < 5000; i++) manager.recorder.recordView({ path: `/down/${i}`, day: DAY })
    assert.isAtMost(manager.buffer.size, 100)
    assert.equal(manager.buffer.droppedViews, 4900)

    /* the buffer retries on its own once Redis is back */
    const resumed = once(manager.buffer, 'written')
    await startServer(server, redis)
    await resumed
    await manager.drain()
    /* Redis restarted empty: the buffer held its bound of 100 entries, the newest */
    assert.equal(await store.getDayTotal(DAY), 100)
    const kept = await store.getDaily(DAY)
    assert.equal(kept.get('/down/4999'), 1)
    assert.isUndefined(kept.get('/down/4899'))

    manager.recorder.recordView({ path: '/after', day: DAY })
    await manager.drain()
    assert.equal(await store.getDayTotal(DAY), 101)
  }).timeout(20_000)

  test('visit segments and their pages count toward the bound and go before the views while Redis is down', async ({
    assert,
    cleanup: after,
  }) => {
    const { manager, store, redis, server } = await onOwnServer(after, {
      bufferMs: 20,
      bufferMaxEntries: 100,
    })
    await stopServer(server, redis)
    /* one visitor's 1,000 views on 3 pages: one segment, updated in place */
    for (let i = 0; i < 1000; i++) {
      manager.recorder.recordView({ path: `/p${i % 3}`, day: DAY, visitor: 'reader' })
    }
    /* 3 paths, the visitor of the day and of the minute, its segment and its 3 pages */
    assert.equal(manager.buffer.size, 3 + 1 + 1 + 1 + 3)
    /* then 5,000 visitors of one view each: their segments and ids are dropped, never a view */
    for (let i = 0; i < 5000; i++) {
      manager.recorder.recordView({ path: '/', day: DAY, visitor: `v${i}` })
    }
    assert.isAtMost(manager.buffer.size, 100)
    assert.equal(manager.buffer.droppedViews, 0)

    await startServer(server, redis)
    await manager.drain()
    assert.equal(manager.buffer.size, 0)
    assert.equal(await store.getDayTotal(DAY), 6000)
    const visits = await store.getVisits([DAY])
    assert.isAtMost(visits.get(DAY)?.visits ?? 0, 100)
  }).timeout(20_000)

  test('realtime visitors count toward the bound while Redis is down', async ({
    assert,
    cleanup: after,
  }) => {
    const { manager, store, redis, server } = await onOwnServer(after, {
      bufferMs: 20,
      bufferMaxEntries: 100,
    })
    await stopServer(server, redis)
    /* one page, 5,000 distinct visitors within the current minute */
    for (let i = 0; i < 5000; i++) {
      manager.recorder.recordView({ path: '/', day: DAY, visitor: `v${i}` })
    }
    assert.isAtMost(manager.buffer.size, 100)

    await startServer(server, redis)
    await manager.drain()
    assert.equal(manager.buffer.size, 0)
    /* what was kept is what the bound allows: the day's and the minute's visitors together */
    const daily = await store.getUniqueCount(DAY)
    const realtime = await store.realtimeVisitors()
    assert.isAtMost(daily + realtime, 100)
    assert.isAbove(daily + realtime, 90)
    assert.equal(await store.getDayTotal(DAY), 5000)
  }).timeout(20_000)

  test('a write that never settles times out; later views are written once Redis answers', async ({
    assert,
    cleanup: after,
  }) => {
    const { manager, store, server } = await onOwnServer(after, {
      bufferMs: 60_000,
      storeTimeoutMs: 200,
    })
    for (let i = 0; i < 3; i++) manager.recorder.recordView({ path: '/a', day: DAY })
    await manager.drain()
    assert.equal(await store.getDayTotal(DAY), 3)

    freeze(server, after)
    for (let i = 0; i < 5; i++) manager.recorder.recordView({ path: '/b', day: DAY })
    const failed = once(manager.buffer, 'failed')
    /* returns (before the fix it never did): the write is given up after storeTimeoutMs */
    await manager.drain()
    const [error, kept] = await failed
    assert.match(error.message, /did not answer write\(\) within 200 ms/)
    assert.equal(kept!.days.get(DAY)!.views.get('/b'), 5)
    assert.equal(manager.buffer.size, 1)

    /* recording goes on meanwhile */
    for (let i = 0; i < 7; i++) manager.recorder.recordView({ path: '/c', day: DAY })
    assert.equal(manager.buffer.size, 2)

    /* the stalled write lands when Redis answers; its resend (same batch id) is a no-op */
    const daily = await thaw(server, manager)
    assert.deepEqual(Object.fromEntries(daily), { '/a': 3, '/b': 5, '/c': 7 })
    assert.equal(await store.getDayTotal(DAY), 15)
  }).timeout(20_000)

  test('a batch kept for a resend counts toward the bound; its oldest entries are dropped first', async ({
    assert,
    cleanup: after,
  }) => {
    const { manager, store, server } = await onOwnServer(after, {
      bufferMs: 60_000,
      storeTimeoutMs: 200,
      bufferMaxEntries: 10,
    })
    freeze(server, after)
    for (let i = 0; i < 8; i++) manager.recorder.recordView({ path: `/old/${i}`, day: DAY })
    await manager.drain()
    /* timed out: the 8 paths wait as one unconfirmed batch */
    assert.equal(manager.buffer.size, 8)
    for (let i = 0; i < 5; i++) manager.recorder.recordView({ path: `/new/${i}`, day: DAY })
    assert.equal(manager.buffer.size, 10)
    assert.equal(manager.buffer.droppedViews, 3)

    /* the stalled write had gone out whole and lands; the trimmed resend is a no-op */
    const daily = await thaw(server, manager)
    assert.equal(daily.size, 13)
    assert.equal(await store.getDayTotal(DAY), 13)
  }).timeout(20_000)
  test('dimension pairs and their visitors count toward the bound while Redis is down', async ({
    assert,
    cleanup: after,
  }) => {
    const { manager, store, redis, server } = await onOwnServer(after, {
      bufferMs: 20,
      bufferMaxEntries: 200,
    })
    await stopServer(server, redis)
    /* a dozen pairs a view, each visitor new: every pair of every view is a new entry */
    for (let i = 0; i < 3000; i++) {
      const dimensions: Record<string, string> = {}
      for (const name of ['source', 'utm_campaign', 'browser_version', 'language'] as const)
        dimensions[name] = `${name}-${i}`
      for (const name of ['channel', 'browser', 'os', 'device'] as const) dimensions[name] = 'same'
      manager.recorder.recordView({ path: '/', day: DAY, visitor: `v${i}`, dimensions })
      assert.isAtMost(manager.buffer.size, 200)
    }
    /* the page views of the one path are kept: visitors and dimension pairs go first */
    assert.equal(manager.buffer.droppedViews, 0)

    await startServer(server, redis)
    await manager.drain()
    assert.equal(manager.buffer.size, 0)
    /* what was kept fits the bound; no pair holds more views than the page views kept */
    const pageViews = await store.getDayTotal(DAY)
    for (const name of ['source', 'channel', 'os'] as const) {
      const values = await store.getDimension(DAY, name)
      let views = 0
      for (const n of values.values()) views += n
      assert.isAtMost(views, 3000)
      assert.isAtMost(values.size, 200)
    }
    assert.equal(pageViews, 3000)
  }).timeout(20_000)

  test('a stalled batch with dimensions lands once: its resend adds nothing', async ({
    assert,
    cleanup: after,
  }) => {
    const { manager, store, server } = await onOwnServer(after, {
      bufferMs: 60_000,
      storeTimeoutMs: 200,
    })
    freeze(server, after)
    for (let i = 0; i < 6; i++) {
      manager.recorder.recordView({
        path: '/b',
        day: DAY,
        visitor: `v${i % 3}`,
        dimensions: { source: 'github.com', device: i % 2 ? 'mobile' : 'desktop' },
      })
    }
    const failed = once(manager.buffer, 'failed')
    await manager.drain()
    await failed
    manager.recorder.recordView({ path: '/c', day: DAY, dimensions: { source: 'github.com' } })

    await thaw(server, manager)
    assert.deepEqual(Object.fromEntries(await store.getDimension(DAY, 'source')), {
      'github.com': 7,
    })
    assert.deepEqual(Object.fromEntries(await store.getDimension(DAY, 'device')), {
      desktop: 3,
      mobile: 3,
    })
    assert.equal(await store.countDimensionUnion('source', 'github.com', [], [DAY]), 3)
  }).timeout(20_000)
})

test.group('WriteBuffer | a reply lost on a connection reset', () => {
  test('the batch is applied once: its resend after the reset adds nothing', async ({
    assert,
    cleanup: after,
  }) => {
    const server = await new TestRedisServer().start()
    after(() => server.stop())
    const proxy = await new ReplyDroppingProxy(server.port).start()
    after(() => proxy.stop())
    const { manager, store } = await managerOn(after, { bufferMs: 60_000 }, proxy.port)
    /* the script is loaded and the connection warm: the next reply is the batch's */
    manager.recorder.recordView({ path: '/warm', day: DAY })
    await manager.drain()

    for (let i = 0; i < 10; i++) {
      manager.recorder.recordView({
        path: '/x',
        day: DAY,
        visitor: `v${i % 4}`,
        dimensions: { source: 'github.com' },
      })
    }
    proxy.dropNextReply()
    await manager.drain()
    /* ioredis resends what it sent before the reset, or the buffer does after storeTimeoutMs */
    for (let i = 0; i < 50 && manager.buffer.size > 0; i++) await manager.drain()

    assert.equal(proxy.dropped, 1)
    assert.equal(manager.buffer.size, 0)
    assert.deepEqual(Object.fromEntries(await store.getDaily(DAY)), { '/warm': 1, '/x': 10 })
    assert.equal(await store.getDayTotal(DAY), 11)
    assert.equal(await store.getUniqueCount(DAY), 4)
    assert.deepEqual(Object.fromEntries(await store.getDimension(DAY, 'source')), {
      'github.com': 10,
    })
  }).timeout(20_000)
})
