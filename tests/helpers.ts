/*
|--------------------------------------------------------------------------
| Shared test helpers
|--------------------------------------------------------------------------
|
| Everything talks to the real Redis (REDIS_HOST/REDIS_PORT) and the real
| database chosen by DB. Each test gets its own Redis key prefix, and the
| helpers delete what they created.
|
*/

import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IgnitorFactory } from '@adonisjs/core/factories'
import app, { setApp } from '@adonisjs/core/services/app'
import type { ApplicationService } from '@adonisjs/core/types'
import type { ProviderNode } from '@adonisjs/core/types/app'
import testUtils from '@adonisjs/core/services/test_utils'
import db from '@adonisjs/lucid/services/db'
import redis from '@adonisjs/redis/services/main'
import type { ApiRequest } from '@japa/api-client'
import type { BaseCommand } from '@adonisjs/core/ace'
import type { Logger } from '@adonisjs/core/logger'
import type { Cluster, Redis } from 'ioredis'
import { resolveSettings } from '../src/settings.ts'
import { TrackingManager } from '../src/manager.ts'
import { TrackingSelector } from '../src/selector.ts'
import { MemoryStore } from '../src/stores/memory_store.ts'
import { RedisStore } from '../src/stores/redis_store.ts'
import { TrackingKeys } from '../src/stores/keys.ts'
import PageTrackingMiddleware from '../src/middleware/page_tracking_middleware.ts'
import type { TrackingConfig, TrackingSettings, TrackingStoreName } from '../src/types.ts'
import type { TrackingBatch } from '../src/stores/types.ts'
import { DEMO_USERS, seedDemoUsers } from '../demo/seed.ts'
import User from '../demo/models/user.ts'

/** Tables that belong to the demo or to Lucid, never truncated by the helpers */
const KEPT_TABLES = ['demo_users', 'adonis_schema', 'adonis_schema_versions']

/**
 * A real browser user agent. The api client's default one (superagent) is
 * a bot for `ignoreBots`, so page-view tests send this header.
 */
export const BROWSER_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36'

/** The database picked for this run (env DB) */
export const dbName = (process.env.DB ?? 'sqlite') as 'sqlite' | 'pg' | 'mysql'

/**
 * Drops every table of the test database, runs all migrations (package and
 * demo) and seeds the demo users. Runs once per test run (tests/bootstrap.ts).
 */
export async function freshDatabase() {
  await db.connection().dropAllTables()
  await testUtils.db().migrate()
  await seedDemoUsers()
}

/**
 * Empties the package's tables (everything but the demo users and Lucid's
 * bookkeeping). Call it in a group's `each.setup`.
 */
export async function truncateTrackingTables() {
  await db.connection().truncateAllTables(KEPT_TABLES)
}

/**
 * The app's Redis connection "main" (ioredis client)
 */
export function redisClient() {
  return redis.connection('main').ioConnection
}

/**
 * A Redis key prefix no other test (or run) uses
 */
export function uniqueKeyPrefix(label = 'test') {
  return `${label}-${process.pid}-${randomUUID().slice(0, 8)}`
}

/**
 * Deletes every key of a tracking key prefix (all carry the `{prefix}` tag)
 */
export async function deleteTrackingKeys(keyPrefix: string) {
  const client = redisClient()
  const pattern = `${new TrackingKeys(keyPrefix).tag.replace(/[*?[\]\\]/g, '\\$&')}*`
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
    if (keys.length > 0) await client.unlink(...keys)
    cursor = next
  } while (cursor !== '0')
}

/**
 * A tracking manager built like the provider builds it, with overridden
 * settings and (by default) a fresh Redis key prefix on the app's connection
 */
export interface TestTracking {
  manager: TrackingManager
  settings: TrackingSettings
  keyPrefix: string
  /** drains the buffer, closes the manager and deletes its Redis keys */
  cleanup(): Promise<void>
}

/**
 * Options of buildManager and useTrackingManager
 */
export interface TestTrackingOptions {
  store?: TrackingStoreName
  legacy?: Record<string, unknown>
  /** the Redis client of the store (default: the app's "main" connection) */
  client?: () => Redis | Cluster
  /** the recorder's clock (epoch ms) */
  now?: () => number
  /** where the write buffer reports dropped views */
  logger?: Logger
  /** the app key of the visitor hashes (default: APP_KEY, as the provider) */
  appKey?: string
  /** the Redis store's clock of the open-visit count (default Date.now) */
  storeNow?: () => number
}

export function buildManager(
  config: TrackingConfig = {},
  options: TestTrackingOptions = {}
): TestTracking {
  const keyPrefix = config.keyPrefix ?? uniqueKeyPrefix()
  const store = options.store ?? config.store ?? 'redis'
  const settings = resolveSettings({ ...config, keyPrefix, store }, options.legacy)
  const trackingStore =
    store === 'memory'
      ? new MemoryStore({
          ttlSeconds: settings.ttlSeconds,
          maxPathsPerDay: settings.maxPathsPerDay,
          maxValuesPerDimension: settings.maxValuesPerDimension,
          visitTimeoutMs: settings.visitTimeoutMinutes * 60_000,
          maxOpenVisits: settings.maxOpenVisits,
        })
      : new RedisStore({
          client: options.client ?? (() => redisClient()),
          keyPrefix,
          ttlSeconds: settings.ttlSeconds,
          maxPathsPerDay: settings.maxPathsPerDay,
          maxValuesPerDimension: settings.maxValuesPerDimension,
          visitTimeoutMs: settings.visitTimeoutMinutes * 60_000,
          maxOpenVisits: settings.maxOpenVisits,
          now: options.storeNow,
        })
  const manager = new TrackingManager(settings, trackingStore, {
    now: options.now,
    logger: options.logger,
    appKey: options.appKey ?? process.env.APP_KEY,
  })
  return {
    manager,
    settings,
    keyPrefix,
    async cleanup() {
      await manager.shutdown()
      if (store === 'redis' && !options.client) await deleteTrackingKeys(keyPrefix)
    },
  }
}

/**
 * Builds a manager (see buildManager) and swaps it into the container for
 * the app under test: `tracking.manager` and the middleware use it until
 * cleanup(), which also restores the app's own manager.
 *
 *   const tracking = await useTrackingManager({ trackAnonymous: true })
 *   cleanup(() => tracking.cleanup())
 */
export async function useTrackingManager(
  config: TrackingConfig = {},
  options: TestTrackingOptions = {}
): Promise<TestTracking> {
  const original = await app.container.make('tracking.manager')
  const originalSelector = await app.container.make('tracking.selector')
  const built = buildManager(config, options)
  /* a value binding wins over the provider's singleton; classes can be swapped */
  app.container.bindValue('tracking.manager', built.manager)
  app.container.bindValue('tracking.selector', new TrackingSelector(built.manager, db))
  app.container.swap(PageTrackingMiddleware, () => new PageTrackingMiddleware(built.manager))
  return {
    ...built,
    async cleanup() {
      app.container.restore(PageTrackingMiddleware)
      app.container.bindValue('tracking.manager', original)
      app.container.bindValue('tracking.selector', originalSelector)
      await built.cleanup()
    },
  }
}

/**
 * A demo user by role: `staff` (staff@example.com, is_staff) or `user`
 */
export async function demoUser(role: keyof typeof DEMO_USERS): Promise<User> {
  return User.findByOrFail('email', DEMO_USERS[role].email)
}

/**
 * Logs the request in as a demo user (session guard)
 *
 *   await loginAs(client.get('/account'), 'staff')
 */
export async function loginAs(request: ApiRequest, role: keyof typeof DEMO_USERS) {
  return request.withGuard('web').loginAs(await demoUser(role))
}

/**
 * Boots a bare AdonisJS app (IgnitorFactory, "web" environment) with the
 * given providers and config, for specs of the isolated suite. Booting
 * replaces the global app service: it is given back to the demo app.
 * Terminate the app when done.
 */
export async function bootIsolatedApp(options: {
  /** the app root (under tmp/) */
  root: URL
  providers: ProviderNode['file'][]
  config: Record<string, unknown>
}): Promise<ApplicationService> {
  const original = app
  const ignitor = new IgnitorFactory()
    .merge({ rcFileContents: { providers: options.providers } })
    .withCoreConfig()
    .withCoreProviders()
    .merge({ config: options.config })
    .create(options.root, {
      importer: (filePath) => import(new URL(filePath, options.root).href),
    })
  const isolated = ignitor.createApp('web') as ApplicationService
  try {
    await isolated.init()
    await isolated.boot()
  } finally {
    setApp(original)
  }
  return isolated
}

/**
 * A store batch: views per path of one or more days, and visitor ids per day
 *
 *   await store.write(storeBatch({ '2026-03-10': { '/': 2 } }, { '2026-03-10': ['u1'] }))
 */
export function storeBatch(
  days: Record<string, Record<string, number>>,
  visitors: Record<string, string[]> = {}
): TrackingBatch {
  const out: TrackingBatch = { days: new Map(), minutes: new Map() }
  for (const day of new Set([...Object.keys(days), ...Object.keys(visitors)])) {
    out.days.set(day, {
      views: new Map(Object.entries(days[day] ?? {})),
      visitors: new Set(visitors[day] ?? []),
    })
  }
  return out
}

/**
 * HyperLogLog counts are estimates: asserts actual is within 2% of expected
 * (at least 1)
 */
export function near(
  assert: { isTrue(value: boolean, message?: string): void },
  actual: number,
  expected: number
) {
  assert.isTrue(
    /* small sets under a random hash key: two of ~40 ids share a register in ~0.1 % of runs */
    Math.abs(actual - expected) <= Math.max(2, expected * 0.02),
    `${actual} is not near ${expected}`
  )
}

/**
 * Runs a command in the app under test with a raw (captured) logger; returns
 * the exit code and the logged lines
 */
export async function runCommand(command: typeof BaseCommand, argv: string[]) {
  const ace = await app.container.make('ace')
  ace.ui.switchMode('raw')
  const instance = await ace.create(command, argv)
  await instance.exec()
  const output = instance.ui.logger
    .getLogs()
    .map((log) => log.message)
    .join('\n')
  return { exitCode: instance.exitCode, output }
}

/** Every row of each table as JSON text (bytes as hex): equal snapshots, nothing written */
export async function tablesSnapshot(tables: readonly string[]): Promise<string[]> {
  const dump = async (table: string) => {
    const rows = await db.from(table).select('*')
    return JSON.stringify(
      rows.map((row) =>
        Object.fromEntries(
          Object.entries(row).map(([key, value]) => [
            key,
            Buffer.isBuffer(value) ? value.toString('hex') : String(value),
          ])
        )
      )
    )
  }
  return Promise.all(tables.map(dump))
}

/**
 * Per test of an import or rebuild group: empty tables, a temporary folder
 * for the files, and a fresh manager bound as tracking.manager (the
 * commands use it); all undone after the test
 */
export function importState(
  group: { each: { setup(fn: () => Promise<() => Promise<void>>): void } },
  dirPrefix: string
) {
  const state = { dir: '', tracking: undefined as unknown as ReturnType<typeof buildManager> }
  group.each.setup(async () => {
    await truncateTrackingTables()
    state.dir = await mkdtemp(join(tmpdir(), dirPrefix))
    state.tracking = buildManager({ timezone: 'UTC' })
    const original = await app.container.make('tracking.manager')
    app.container.bindValue('tracking.manager', state.tracking.manager)
    return async () => {
      app.container.bindValue('tracking.manager', original)
      await state.tracking.cleanup()
      await rm(state.dir, { recursive: true, force: true })
    }
  })
  return state
}
