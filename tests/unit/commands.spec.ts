import { test } from '@japa/runner'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { DateTime } from 'luxon'
import { Redis } from 'ioredis'
import app from '@adonisjs/core/services/app'
import db from '@adonisjs/lucid/services/db'
import FlushPageViews from '../../commands/flush_page_views.ts'
import TrackingPrune from '../../commands/prune.ts'
import { getCommand, getMetaData } from '../../commands/main.ts'
import PageView from '../../src/models/page_view.ts'
import { RedisStore } from '../../src/stores/redis_store.ts'
import { TrackingManager } from '../../src/manager.ts'
import { resolveSettings } from '../../src/settings.ts'
import type { TrackingBatch } from '../../src/stores/types.ts'
import { dbName, runCommand, truncateTrackingTables, useTrackingManager } from '../helpers.ts'

const DAY = '2026-04-01'
const DAY2 = '2026-04-02'

function batch(days: Record<string, Record<string, number>>): TrackingBatch {
  const out: TrackingBatch = { days: new Map(), minutes: new Map() }
  for (const [day, views] of Object.entries(days)) {
    out.days.set(day, { views: new Map(Object.entries(views)), visitors: new Set() })
  }
  return out
}

test.group(`flush_page_views command (${dbName})`, (group) => {
  group.each.setup(() => truncateTrackingTables())

  test('forwards --date and reports the count', async ({ assert, cleanup }) => {
    const tracking = await useTrackingManager()
    cleanup(() => tracking.cleanup())
    const store = tracking.manager.store
    await store.write(batch({ [DAY]: { '/a': 3, '/b': 1 }, [DAY2]: { '/a': 5 } }))

    const { exitCode, output } = await runCommand(FlushPageViews, ['--date', DAY])
    assert.equal(exitCode, 0, output)
    assert.include(output, '[tracking] flushed 2 paths for 1 days')
    assert.deepEqual(await store.pendingDays(), [DAY2])

    const rest = await runCommand(FlushPageViews, [])
    assert.include(rest.output, '[tracking] flushed 1 paths for 1 days')
    const rows = await PageView.query().orderBy('date').orderBy('path')
    assert.deepEqual(
      rows.map((row) => [row.date.toISODate(), row.path, row.views]),
      [
        [DAY, '/a', 3],
        [DAY, '/b', 1],
        [DAY2, '/a', 5],
      ]
    )

    const nothing = await runCommand(FlushPageViews, ['--from', DAY, '--to', DAY2])
    assert.equal(nothing.exitCode, 0)
    assert.include(nothing.output, '[tracking] flushed 0 paths for 0 days')
  })

  test('bad input exits 1 with a message naming the flag: {$self}')
    .with([
      ['--date', '2026-13-45'],
      ['--from', '2026-05-10', '--to', '2026-05-01'],
      ['--to', 'tomorrow'],
      ['--date', DAY, '--from', DAY],
    ])
    .run(async ({ assert, cleanup }, argv) => {
      const tracking = await useTrackingManager()
      cleanup(() => tracking.cleanup())
      await tracking.manager.store.write(batch({ [DAY]: { '/a': 1 } }))
      const { exitCode, output } = await runCommand(FlushPageViews, argv)
      assert.equal(exitCode, 1)
      assert.include(output, `"${argv[0]}"`)
      /* nothing was flushed */
      assert.deepEqual(await tracking.manager.store.pendingDays(), [DAY])
    })

  test('an unreachable Redis exits 1 with a clear message', async ({ assert, cleanup }) => {
    const redis = new Redis({
      host: '127.0.0.1',
      port: 1,
      maxRetriesPerRequest: 0,
      retryStrategy: () => 200,
    })
    redis.on('error', () => {})
    const store = new RedisStore({
      client: () => redis,
      keyPrefix: 'unreachable',
      ttlSeconds: 3600,
    })
    const manager = new TrackingManager(resolveSettings({ keyPrefix: 'unreachable' }), store)
    const original = await app.container.make('tracking.manager')
    app.container.bindValue('tracking.manager', manager)
    cleanup(async () => {
      app.container.bindValue('tracking.manager', original)
      redis.disconnect()
    })
    const { exitCode, output } = await runCommand(FlushPageViews, [])
    assert.equal(exitCode, 1)
    assert.match(output, /cannot reach the redis store/)
  }).timeout(15_000)

  test('an unreachable database exits 1 with a clear message', async ({ assert, cleanup }) => {
    const tracking = await useTrackingManager()
    const config = db.manager.get(db.primaryConnectionName)!.config
    const broken =
      dbName === 'sqlite'
        ? { ...config, connection: { filename: '/nonexistent/dir/tracking.sqlite3' } }
        : { ...config, connection: { ...(config.connection as object), port: 1 } }
    db.manager.add('tracking_broken', broken as typeof config)
    cleanup(async () => {
      await db.manager.release('tracking_broken')
      await tracking.cleanup()
    })
    const { exitCode, output } = await runCommand(FlushPageViews, [
      '--connection',
      'tracking_broken',
    ])
    assert.equal(exitCode, 1)
    assert.match(output, /cannot reach the "tracking_broken" database/)

    const unknown = await runCommand(FlushPageViews, ['--connection', 'nope'])
    assert.equal(unknown.exitCode, 1)
    assert.include(unknown.output, '"nope" is not a connection')
  }).timeout(15_000)

  test('node ace tracking:flush runs through the package commands loader', async ({ assert }) => {
    const metaData = await getMetaData()
    const flush = metaData.find((command) => command.commandName === 'flush_page_views')
    assert.deepEqual(flush?.aliases, ['tracking:flush'])
    assert.deepEqual(
      metaData.map((command) => command.commandName),
      ['flush_page_views', 'tracking:prune', 'tracking:rebuild', 'tracking:import']
    )
    assert.equal(await getCommand(flush!), FlushPageViews)

    const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          '--conditions=tracking-source',
          '--import=@poppinss/ts-exec',
          'ace.js',
          'tracking:flush',
          '--date=2026-13-45',
        ],
        {
          cwd: fileURLToPath(new URL('../../', import.meta.url)),
          env: { ...process.env, NO_COLOR: '1' },
        },
        (error, stdout, stderr) =>
          resolve({ code: error ? (error.code as number) : 0, output: stdout + stderr })
      )
    })
    assert.equal(result.code, 1, result.output)
    assert.include(result.output, 'Invalid date for "--date": "2026-13-45"')
  }).timeout(60_000)
})

test.group(`tracking:prune command (${dbName})`, (group) => {
  group.each.setup(() => truncateTrackingTables())

  test('--older-than with --dry-run lists, without it deletes', async ({ assert }) => {
    const today = DateTime.now().setZone('UTC')
    const old = today.minus({ days: 30 }).toISODate()!
    const recent = today.minus({ days: 2 }).toISODate()!
    await PageView.createMany([
      { path: '/old', date: DateTime.fromISO(old), views: 1 },
      { path: '/recent', date: DateTime.fromISO(recent), views: 1 },
    ])

    const dry = await runCommand(TrackingPrune, ['--older-than', '10d', '--dry-run'])
    assert.equal(dry.exitCode, 0, dry.output)
    assert.include(dry.output, '[tracking] would delete 1 page view rows')
    assert.lengthOf(await PageView.all(), 2)

    const done = await runCommand(TrackingPrune, ['--older-than', '10d'])
    assert.equal(done.exitCode, 0, done.output)
    assert.include(done.output, '[tracking] deleted 1 page view rows')
    const kept = await PageView.all()
    assert.deepEqual(
      kept.map((row) => row.path),
      ['/recent']
    )

    /* the default is retentionDays (400) */
    const byDefault = await runCommand(TrackingPrune, ['--dry-run'])
    assert.include(byDefault.output, '[tracking] would delete 0 page view rows')

    const bad = await runCommand(TrackingPrune, ['--older-than', 'soon'])
    assert.equal(bad.exitCode, 1)
    assert.include(bad.output, '"--older-than"')
  })
})
