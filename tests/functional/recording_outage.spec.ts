import { setTimeout as sleep } from 'node:timers/promises'
import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import type { TestContext } from '@japa/runner/core'
import type { Logger } from '@adonisjs/core/logger'
import { Redis } from 'ioredis'
import { TestRedisServer } from '../redis_server.ts'
import db from '@adonisjs/lucid/services/db'
import { flushPageViews } from '../../src/flush.ts'
import { BROWSER_UA, loginAs, useTrackingManager } from '../helpers.ts'

/** Pages of the demo that answer 200 to anyone */
const PAGES = ['/', '/about', '/posts/1', '/posts/2', '/posts/3', '/login']
/** The buffer bound of these tests, far below the number of distinct pages */
const BOUND = 3

/** Waits for a condition that the client or the buffer reaches on its own */
async function until(condition: () => boolean, what: string) {
  for (let i = 0; i < 400; i++) {
    if (condition()) return
    await sleep(25)
  }
  throw new Error(`gave up waiting for ${what}`)
}

/**
 * The demo app recording into a redis-server of its own that the test stops
 * and starts. The ioredis client has the defaults an app has (offline
 * queue on) and retries forever.
 */
async function trackedOnOwnServer(
  cleanup: TestContext['cleanup'],
  config: Parameters<typeof useTrackingManager>[0] = {}
) {
  const server = await new TestRedisServer().start()
  const redis = new Redis({ host: '127.0.0.1', port: server.port, retryStrategy: () => 50 })
  redis.on('error', () => {})
  cleanup(async () => {
    server.resume()
    redis.disconnect()
    await server.stop()
  })
  const warnings: string[] = []
  const logger = { warn: (message: string) => warnings.push(message) } as unknown as Logger
  const tracking = await useTrackingManager(
    { trackAnonymous: true, bufferMs: 20, bufferMaxEntries: BOUND, ...config },
    { client: () => redis, logger }
  )
  cleanup(() => tracking.cleanup())
  const { manager } = tracking
  const day = manager.recorder.dayOf(Date.now())
  await redis.ping()
  return { server, redis, manager, day, warnings }
}

/**
 * Visits the pages one after the other; returns the statuses and the
 * largest buffer size seen after a response
 */
async function browse(
  client: ApiClient,
  count: number,
  buffer: { size: number }
): Promise<{ statuses: Set<number>; largest: number; bodies: string[] }> {
  const statuses = new Set<number>()
  const bodies: string[] = []
  let largest = 0
  for (let i = 0; i < count; i++) {
    const response = await client.get(PAGES[i % PAGES.length]).header('user-agent', BROWSER_UA)
    statuses.add(response.status())
    bodies.push(response.text())
    largest = Math.max(largest, buffer.size)
  }
  return { statuses, largest, bodies }
}

test.group('Recording while Redis is down', () => {
  test('with Redis stopped every response is 200, the buffer stays bounded, counting resumes', async ({
    client,
    assert,
    cleanup,
  }) => {
    const { server, redis, manager, day, warnings } = await trackedOnOwnServer(cleanup)
    await client.get('/about').header('user-agent', BROWSER_UA)
    await manager.drain()
    assert.equal(await manager.store.getDayTotal(day), 1)

    await server.stop()
    await until(() => !manager.store.isReady(), 'the client to notice the outage')
    const down = await browse(client, 60, manager.buffer)
    assert.deepEqual([...down.statuses], [200])
    for (const body of down.bodies)
      assert.notMatch(body, /ECONNREFUSED|Connection is closed|MaxRetries|E_TRACKING/)

    /* memory: the buffer never held more than its bound, the client queued nothing */
    assert.isAtMost(down.largest, BOUND)
    assert.equal(Reflect.get(redis, 'offlineQueue').length, 0)
    const dropped = manager.buffer.droppedViews
    assert.isAbove(dropped, 0)
    /* the operator sees the drop once (rate-limited to one line a minute) */
    assert.lengthOf(warnings, 1)
    assert.match(warnings[0], /unreachable, dropped \d+ page views \(buffer bound 3 entries\)/)

    await server.start(server.port)
    await until(() => manager.store.isReady(), 'the client to reconnect')
    /* the buffer sends what it kept on its own: the bound's newest views */
    await until(() => manager.buffer.size === 0, 'the buffer to empty')
    await manager.drain()
    const kept = await manager.store.getDayTotal(day)
    assert.isAbove(kept, 0)
    assert.equal(kept + dropped, 60)

    const up = await browse(client, 12, manager.buffer)
    assert.deepEqual([...up.statuses], [200])
    await manager.drain()
    assert.equal(await manager.store.getDayTotal(day), kept + 12)
    const daily = await manager.store.getDaily(day)
    assert.sameMembers([...daily.keys()], PAGES)
    assert.equal(manager.buffer.droppedViews, dropped)
  }).timeout(30_000)

  test('with Redis stalled one batch waits on the connection, the rest stays bounded', async ({
    client,
    assert,
    cleanup,
  }) => {
    const { server, redis, manager, day } = await trackedOnOwnServer(cleanup)
    await client.get('/about').header('user-agent', BROWSER_UA)
    await manager.drain()
    assert.equal(await manager.store.getDayTotal(day), 1)

    /* the socket stays open and the client "ready": only the replies stop */
    server.pause()
    await client.get('/').header('user-agent', BROWSER_UA)
    await until(() => redis.commandQueue.length > 0, 'a batch to be sent to the stalled server')
    const oneBatch = redis.commandQueue.length
    const stalled = await browse(client, 60, manager.buffer)
    await sleep(100)
    assert.deepEqual([...stalled.statuses], [200])
    assert.equal(redis.status, 'ready')
    /* still the one batch: nothing stacked behind it while it waits */
    assert.equal(redis.commandQueue.length, oneBatch)
    assert.isAtMost(stalled.largest, BOUND)
    const dropped = manager.buffer.droppedViews
    assert.isAbove(dropped, 0)

    server.resume()
    await until(() => manager.buffer.size === 0, 'the buffer to empty')
    await manager.drain()
    /* 1 before, 1 in the stalled batch, 60 while stalled minus what the bound dropped */
    assert.equal(await manager.store.getDayTotal(day), 2 + 60 - dropped)
  }).timeout(30_000)

  test('with Redis stalled the analytics page, a flush and shutdown give up after storeTimeoutMs', async ({
    client,
    assert,
    cleanup,
  }) => {
    const { server, manager, day } = await trackedOnOwnServer(cleanup, { storeTimeoutMs: 300 })
    await client.get('/about').header('user-agent', BROWSER_UA)
    await manager.drain()

    server.pause()
    /* before: each of these waited for as long as the server stayed frozen */
    const json = await loginAs(client.get('/cabinet/tracking?format=json'), 'staff')
    assert.equal(json.status(), 503)
    const page = await loginAs(client.get('/cabinet/tracking'), 'staff')
    assert.equal(page.status(), 503)
    await assert.rejects(() => flushPageViews(manager, db), /did not answer .* within 300 ms/)
    /* recording goes on meanwhile */
    const about = await client.get('/about').header('user-agent', BROWSER_UA)
    assert.equal(about.status(), 200)

    server.resume()
    await manager.drain()
    assert.equal(await manager.store.getDayTotal(day), 2)
    const after = await loginAs(client.get('/cabinet/tracking?format=json'), 'staff')
    assert.equal(after.status(), 200)
  }).timeout(30_000)

  test('shutdown with Redis stalled ends after storeTimeoutMs', async ({ assert, cleanup }) => {
    const { server, manager } = await trackedOnOwnServer(cleanup, { storeTimeoutMs: 300 })
    manager.recorder.recordView({ path: '/late' })
    server.pause()
    /* the last batch is given up (logged as dropped), close() does not wait on the frozen server */
    await manager.shutdown()
    assert.isTrue(true)
  }).timeout(30_000)
})
