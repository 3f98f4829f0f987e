import { test } from '@japa/runner'
import type { TestContext } from '@japa/runner/core'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { resolveSettings } from '../../src/settings.ts'
import { RedisStore } from '../../src/stores/redis_store.ts'
import { TrackingManager } from '../../src/manager.ts'
import { TestRedisServer } from '../redis_server.ts'

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
  return { manager: new TrackingManager(settings, store), store }
}

test.group('WriteBuffer', () => {
  test('coalesces views and sends them in batches', async ({ assert, cleanup: after }) => {
    const { manager, store } = await managerOn(after, { bufferMs: 20 })
    for (let i = 0; i < 1000; i++) {
      manager.recorder.recordView({ path: `/p${i % 10}`, day: DAY, visitor: `u${i % 37}` })
    }
    assert.equal(manager.buffer.size, 10 + 37)
    await sleep(100)
    assert.equal(manager.buffer.size, 0)
    assert.equal(await store.getDayTotal(DAY), 1000)
    const daily = await store.getDaily(DAY)
    assert.equal(daily.get('/p3'), 100)
    assert.equal(await store.getUniqueCount(DAY), 37)
  })

  test('write-through (bufferMs: 0) sends every view at once', async ({
    assert,
    cleanup: after,
  }) => {
    const { manager, store } = await managerOn(after, { bufferMs: 0 })
    manager.recorder.recordView({ path: '/a', day: DAY })
    await sleep(30)
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
    const server = await new TestRedisServer().start()
    after(() => server.stop())
    const { manager, store } = await managerOn(
      after,
      { bufferMs: 20, bufferMaxEntries: 100 },
      server.port
    )

    manager.recorder.recordView({ path: '/before', day: DAY })
    await sleep(60)
    assert.equal(await store.getDayTotal(DAY), 1)

    await server.stop()
    await sleep(100)
    assert.isFalse(store.isReady())
    for (let i = 0; i < 5000; i++) manager.recorder.recordView({ path: `/down/${i}`, day: DAY })
    assert.isAtMost(manager.buffer.size, 100)
    assert.equal(manager.buffer.droppedViews, 4900)

    await server.start(server.port)
    for (let i = 0; i < 100 && !store.isReady(); i++) await sleep(50)
    assert.isTrue(store.isReady())
    /* the buffer retries on its own once Redis is back */
    for (let i = 0; i < 100 && manager.buffer.size > 0; i++) await sleep(20)
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
})
