import { setTimeout as sleep } from 'node:timers/promises'
import { test } from '@japa/runner'
import type { TestContext } from '@japa/runner/core'
import { defineConfig as defineRedisConfig } from '@adonisjs/redis'
import type { RedisConnectionConfig } from '@adonisjs/redis/types'
import type { ApplicationService } from '@adonisjs/core/types'
import { Redis } from 'ioredis'
import { defineConfig } from '../../index.ts'
import type { TrackingConfig } from '../../src/types.ts'
import { TestRedisServer } from '../redis_server.ts'
import { bootIsolatedApp } from '../helpers.ts'

const BASE_URL = new URL('../../tmp/shutdown-app/', import.meta.url)
const DAY = '2026-11-20'

const PROVIDERS = {
  redis: () => import('@adonisjs/redis/redis_provider'),
  tracking: () => import('../../providers/tracking_provider.ts'),
}

/**
 * An app with the real @adonisjs/redis provider and ours, in the given
 * order, on a redis-server of the test
 */
function bootApp(options: {
  providers: Array<keyof typeof PROVIDERS>
  tracking: TrackingConfig
  redis: RedisConnectionConfig
}) {
  return bootIsolatedApp({
    root: BASE_URL,
    providers: options.providers.map((name) => PROVIDERS[name]),
    config: {
      tracking: defineConfig(options.tracking),
      redis: defineRedisConfig({ connection: 'main', connections: { main: options.redis } }),
    },
  })
}

/** A redis-server of the test and a client that reads what the app wrote there */
async function ownRedis(cleanup: TestContext['cleanup']) {
  const server = await new TestRedisServer().start()
  const reader = new Redis({ host: '127.0.0.1', port: server.port, retryStrategy: () => 50 })
  reader.on('error', () => {})
  cleanup(async () => {
    reader.disconnect()
    await server.stop()
  })
  const total = async (keyPrefix: string) =>
    Number((await reader.get(`{${keyPrefix}}:total:${DAY}`)) ?? 0)
  return { server, total }
}

test.group('TrackingProvider: termination and Redis outages', (group) => {
  let apps: ApplicationService[] = []
  group.each.teardown(async () => {
    await Promise.all(apps.map((app) => app.terminate()))
    apps = []
  })

  test('app.terminate() drains the buffer into Redis ({providers})')
    .with([
      { providers: ['redis', 'tracking'] as const },
      /* @adonisjs/redis quits its connections first here: providers shut down in reverse */
      { providers: ['tracking', 'redis'] as const },
    ])
    .run(async ({ assert, cleanup }, { providers }) => {
      const { server, total } = await ownRedis(cleanup)
      const app = await bootApp({
        providers: [...providers],
        tracking: { keyPrefix: 'shutdown-test', bufferMs: 60_000 },
        redis: { host: '127.0.0.1', port: server.port },
      })
      apps.push(app)
      const manager = await app.container.make('tracking.manager')
      await manager.store.ping(2000)

      for (let i = 0; i < 250; i++) manager.recorder.recordView({ path: `/p${i % 5}`, day: DAY })
      /* nothing written yet: the next batch is a minute away */
      assert.equal(await total('shutdown-test'), 0)
      assert.equal(manager.buffer.size, 5)

      await app.terminate()
      assert.isTrue(app.isTerminated)
      assert.equal(await total('shutdown-test'), 250)
      assert.equal(manager.buffer.droppedViews, 0)
    })

  test('counting resumes after an outage that outlasts the connection retries', async ({
    assert,
    cleanup,
  }) => {
    const { server, total } = await ownRedis(cleanup)
    const app = await bootApp({
      providers: ['redis', 'tracking'],
      tracking: { keyPrefix: 'outage-test', bufferMs: 20 },
      /* like the stock config/redis.ts, which gives up after 10 tries */
      redis: {
        host: '127.0.0.1',
        port: server.port,
        retryStrategy: (times: number) => (times > 2 ? null : 50),
      },
    })
    apps.push(app)
    const manager = await app.container.make('tracking.manager')
    await manager.store.ping(2000)
    manager.recorder.recordView({ path: '/before', day: DAY })
    await manager.drain()
    assert.equal(await total('outage-test'), 1)

    const redis = await app.container.make('redis')
    const first = redis.connection('main').ioConnection
    await server.stop()
    for (let i = 0; i < 200 && first.status !== 'end'; i++) await sleep(25)
    /* the connection gave up for good */
    assert.equal(first.status, 'end')
    manager.recorder.recordView({ path: '/during', day: DAY })

    await server.start(server.port)
    manager.recorder.recordView({ path: '/after', day: DAY })
    await manager.drain()
    /* the restarted server is empty: it holds what was recorded during and after */
    assert.equal(await total('outage-test'), 2)
    assert.notStrictEqual(redis.connection('main').ioConnection, first)
  })
})
