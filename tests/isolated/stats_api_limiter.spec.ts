import { test } from '@japa/runner'
import { randomBytes } from 'node:crypto'
import type { HttpContext } from '@adonisjs/core/http'
import type { ApplicationService } from '@adonisjs/core/types'
import { defineConfig as defineRedisConfig } from '@adonisjs/redis'
import { defineConfig as defineLimiterConfig, stores } from '@adonisjs/limiter'
import { ApiRateLimiter, MemoryApiLimiter, MAX_LIMITED_KEYS } from '../../src/http/api_limiter.ts'
import { bootIsolatedApp } from '../helpers.ts'

const BASE_URL = new URL('../../tmp/limiter-app/', import.meta.url)

/**
 * A bare app with @adonisjs/limiter on its Redis store (what `node ace add
 * @adonisjs/limiter` sets up), or without it
 */
async function bootApp(withLimiter: boolean) {
  return bootIsolatedApp({
    root: BASE_URL,
    providers: [
      () => import('@adonisjs/redis/redis_provider'),
      ...(withLimiter ? [() => import('@adonisjs/limiter/limiter_provider')] : []),
    ],
    config: {
      redis: defineRedisConfig({
        connection: 'main',
        connections: {
          main: {
            host: process.env.REDIS_HOST ?? '127.0.0.1',
            port: Number(process.env.REDIS_PORT ?? 6379),
          },
        },
      }),
      ...(withLimiter
        ? {
            limiter: defineLimiterConfig({
              default: 'redis',
              stores: { redis: stores.redis({ connectionName: 'main' }) },
            }),
          }
        : {}),
    },
  })
}

/** What the limiter reads of a request: its container resolver */
function contextOf(app: ApplicationService) {
  return { containerResolver: app.container.createResolver() } as unknown as HttpContext
}

test.group('Stats API limiter', (group) => {
  let apps: ApplicationService[] = []
  group.each.teardown(async () => {
    await Promise.all(apps.map((app) => app.terminate()))
    apps = []
  })

  test('with @adonisjs/limiter, the count of a token is shared by every process', async ({
    assert,
  }) => {
    const app = await bootApp(true)
    apps.push(app)
    const key = randomBytes(8).toString('hex')
    const rule = { requests: 3, durationMs: 60_000 }
    /* two limiters: two app processes on the same Redis */
    const one = new ApiRateLimiter(rule)
    const two = new ApiRateLimiter(rule)
    const answers = []
    for (const limiter of [one, two, one, two]) answers.push(await limiter.hit(contextOf(app), key))
    assert.deepEqual(
      answers.map((answer) => [answer.allowed, answer.remaining]),
      [
        [true, 2],
        [true, 1],
        [true, 0],
        [false, 0],
      ]
    )
    assert.isAbove(answers[3].retryAfter, 0)
    assert.isAtMost(answers[3].retryAfter, 60)
    /* another token has its own count */
    const other = await one.hit(contextOf(app), `${key}x`)
    assert.isTrue(other.allowed)

    const redisManager = await app.container.make('redis')
    const redis = redisManager.connection('main')
    const keys = await redis.keys(`*tracking_api_${key}*`)
    assert.isAbove(keys.length, 0)
    await redis.del(...keys, ...(await redis.keys(`*tracking_api_${key}x*`)))
  })

  test('without @adonisjs/limiter, each process counts in memory', async ({ assert }) => {
    const app = await bootApp(false)
    apps.push(app)
    const rule = { requests: 2, durationMs: 60_000 }
    const one = new ApiRateLimiter(rule)
    const two = new ApiRateLimiter(rule)
    const ctx = contextOf(app)
    const answers = []
    for (const limiter of [one, one, one, two]) answers.push(await limiter.hit(ctx, 'k'))
    assert.deepEqual(
      answers.map((answer) => answer.allowed),
      [true, true, false, true]
    )
  })
})

test.group('Stats API limiter | in memory', () => {
  test('a window opens again after its duration, with Retry-After until then', ({ assert }) => {
    const limiter = new MemoryApiLimiter({ requests: 2, durationMs: 10_000 })
    assert.isTrue(limiter.hit('k', 0).allowed)
    assert.isTrue(limiter.hit('k', 1000).allowed)
    const over = limiter.hit('k', 2500)
    assert.isFalse(over.allowed)
    assert.equal(over.retryAfter, 8)
    assert.isTrue(limiter.hit('k', 10_000).allowed)
  })

  test('it keeps at most MAX_LIMITED_KEYS windows', ({ assert }) => {
    const limiter = new MemoryApiLimiter({ requests: 1, durationMs: 60_000 })
    for (let index = 0; index <= MAX_LIMITED_KEYS; index++) limiter.hit(`k${index}`, index)
    /* the oldest window was dropped to make room: its key starts afresh */
    assert.isTrue(limiter.hit('k0', MAX_LIMITED_KEYS + 1).allowed)
    assert.isFalse(limiter.hit(`k${MAX_LIMITED_KEYS}`, MAX_LIMITED_KEYS + 2).allowed)
  })
})
