import { test } from '@japa/runner'
import { defineConfig as defineRedisConfig } from '@adonisjs/redis'
import type { ApplicationService } from '@adonisjs/core/types'
import { defineConfig, errors } from '../../index.ts'
import { TrackingManager } from '../../src/manager.ts'
import type { TrackingConfig } from '../../src/types.ts'
import { Redis } from 'ioredis'
import { TestRedisServer } from '../redis_server.ts'
import { clusterForGroup } from '../redis_cluster.ts'
import type { RedisStore } from '../../src/stores/redis_store.ts'
import { bootIsolatedApp } from '../helpers.ts'

const BASE_URL = new URL('../../tmp/provider-app/', import.meta.url)

/**
 * Boots a bare AdonisJS app (IgnitorFactory) with our provider, the
 * @adonisjs/redis provider, config/tracking.ts made with defineConfig and,
 * optionally, a legacy config/cabinet.ts tracking section
 */
async function bootApp(
  tracking: TrackingConfig,
  cabinet?: Record<string, unknown>,
  redisConnection: Record<string, unknown> = {},
  /** more @adonisjs/redis connections beside "main" */
  connections: Record<string, object> = {}
) {
  return bootIsolatedApp({
    root: BASE_URL,
    providers: [
      () => import('@adonisjs/redis/redis_provider'),
      () => import('../../providers/tracking_provider.ts'),
    ],
    config: {
      tracking: defineConfig(tracking),
      ...(cabinet ? { cabinet: { tracking: cabinet } } : {}),
      redis: defineRedisConfig({
        connection: 'main',
        connections: {
          main: {
            host: process.env.REDIS_HOST ?? '127.0.0.1',
            port: Number(process.env.REDIS_PORT ?? 6379),
            ...redisConnection,
          },
          ...connections,
        },
      }),
    },
  })
}

test.group('TrackingProvider', (group) => {
  let apps: ApplicationService[] = []
  group.each.teardown(async () => {
    await Promise.all(apps.map((app) => app.terminate()))
    apps = []
  })

  test('binds tracking.manager with the merged, frozen settings', async ({ assert }) => {
    const app = await bootApp(
      { keyPrefix: 'provider-test', analyticsDays: 30 },
      { analytics_days: 7, track_anonymous: true, analytics_url: '/stats' }
    )
    apps.push(app)
    const manager = await app.container.make('tracking.manager')
    assert.instanceOf(manager, TrackingManager)
    assert.include(manager.settings, {
      keyPrefix: 'provider-test',
      analyticsDays: 30,
      trackAnonymous: true,
      analyticsUrl: '/stats',
      store: 'redis',
    })
    assert.isTrue(Object.isFrozen(manager.settings))
    assert.equal(manager.store.name, 'redis')
    /* one singleton per app */
    assert.strictEqual(await app.container.make('tracking.manager'), manager)
    await manager.store.ping(2000)
  })

  test('legacy redis_enabled: false gives a memory store', async ({ assert }) => {
    const app = await bootApp({}, { redis_enabled: false })
    apps.push(app)
    const manager = await app.container.make('tracking.manager')
    assert.equal(manager.settings.store, 'memory')
    assert.equal(manager.store.name, 'memory')
  })

  test('an invalid config fails at boot with E_TRACKING_INVALID_CONFIG', async ({ assert }) => {
    try {
      await bootApp({ ttlSeconds: -1 })
      assert.fail('the app booted with an invalid config')
    } catch (error) {
      assert.instanceOf(error, errors.E_TRACKING_INVALID_CONFIG)
      assert.equal(error.code, 'E_TRACKING_INVALID_CONFIG')
      assert.include(error.message, 'ttlSeconds')
    }
  })

  test('an invalid legacy value fails at boot too', async ({ assert }) => {
    await assert.rejects(() => bootApp({}, { skip_prefixes: ['admin/'] }), /skipPrefixes\[0\]/)
  })

  test('an unknown redis connection fails at boot', async ({ assert }) => {
    await assert.rejects(
      () => bootApp({ redisConnection: 'missing' }),
      /redisConnection.*"missing"/
    )
  })

  test('counting resumes after an outage longer than the Redis retry strategy', async ({
    assert,
    cleanup,
  }) => {
    /* regression (soak R1): the connection ended for good and every later view was lost */
    const server = await new TestRedisServer().start()
    cleanup(() => server.stop())
    const app = await bootApp({ keyPrefix: 'provider-outage', trackAnonymous: true }, undefined, {
      port: server.port,
      retryStrategy: (times: number) => (times > 2 ? null : 20),
    })
    apps.push(app)
    const manager = await app.container.make('tracking.manager')
    const redis = await app.container.make('redis')
    const day = manager.recorder.dayOf(Date.now())

    manager.recorder.recordView({ path: '/before' })
    await manager.drain()
    await server.stop()
    for (let i = 0; i < 100 && redis.connection('main').ioConnection.status !== 'end'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await server.start()

    manager.recorder.recordView({ path: '/after' })
    await manager.drain()
    assert.deepEqual([...(await manager.store.getDaily(day))], [['/after', 1]])
  })
})

test.group('TrackingProvider | Redis Cluster', (group) => {
  const local = clusterForGroup(group)

  test('redisConnection names a cluster connection: counts land in the cluster', async ({
    assert,
  }) => {
    const app = await bootApp(
      { keyPrefix: 'provider-cluster', redisConnection: 'cluster' },
      undefined,
      {},
      { cluster: { clusters: local.cluster.ports.map((port) => ({ host: '127.0.0.1', port })) } }
    )
    try {
      const manager = await app.container.make('tracking.manager')
      const day = manager.recorder.dayOf(Date.now())
      for (const path of ['/a', '/b', '/a']) {
        manager.recorder.recordView({ path, visitor: 'u1', dimensions: { source: 'github.com' } })
      }
      await manager.drain()
      /* read back through a client of our own, on the node that holds the tag's slot */
      const store = manager.store as RedisStore
      const node = await local.cluster.nodeOf(store.keys.views(day))
      const direct = new Redis({ host: '127.0.0.1', port: node })
      try {
        assert.deepEqual(await direct.hgetall(store.keys.views(day)), { '/a': '2', '/b': '1' })
      } finally {
        direct.disconnect()
      }
      assert.deepEqual(Object.fromEntries(await manager.store.getDaily(day)), { '/a': 2, '/b': 1 })
      assert.equal(await manager.store.countUnion([], [day]), 1)
    } finally {
      await app.terminate()
    }
  })
})
