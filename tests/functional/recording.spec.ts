import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import type { TestContext } from '@japa/runner/core'
import db from '@adonisjs/lucid/services/db'
import { flushPageViews, TRACKING_TABLES } from '../../src/flush.ts'
import type { TrackingConfig } from '../../src/types.ts'
import {
  BROWSER_UA,
  loginAs,
  truncateTrackingTables,
  useTrackingManager,
  type TestTracking,
  type TestTrackingOptions,
} from '../helpers.ts'

/**
 * Swaps a tracking manager into the demo app for one test
 */
async function tracked(
  cleanup: TestContext['cleanup'],
  config: TrackingConfig = {},
  options: TestTrackingOptions = {}
) {
  const tracking = await useTrackingManager(config, options)
  cleanup(() => tracking.cleanup())
  return tracking
}

/** A GET from a real browser (the api client's own user agent is a bot) */
function visit(client: ApiClient, url: string) {
  return client.get(url).header('user-agent', BROWSER_UA).redirects(0)
}

/** A browser GET that must answer with this status */
async function visitExpecting(client: ApiClient, url: string, status = 200) {
  const response = await visit(client, url)
  response.assertStatus(status)
  return response
}

/** Live views of a day (today by default) once the buffer has drained, by path */
async function liveViews(tracking: TestTracking, day?: string): Promise<Array<[string, number]>> {
  await tracking.manager.drain()
  const views = await tracking.manager.store.getDaily(
    day ?? tracking.manager.recorder.dayOf(Date.now())
  )
  return [...views].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

test.group('Recording through the demo app', () => {
  test('an authenticated GET 200 is counted with the user id as visitor', async ({
    client,
    assert,
    cleanup,
  }) => {
    const tracking = await tracked(cleanup)
    const response = await loginAs(visit(client, '/about'), 'user')
    response.assertStatus(200)
    assert.deepEqual(await liveViews(tracking), [['/about', 1]])
    const day = tracking.manager.recorder.dayOf(Date.now())
    assert.equal(await tracking.manager.store.getUniqueCount(day), 1)
  })

  test('the analytics page and its exports are not page views', async ({
    client,
    assert,
    cleanup,
  }) => {
    const tracking = await tracked(cleanup)
    for (const url of [
      '/cabinet/tracking',
      '/cabinet/tracking?format=json',
      '/cabinet/tracking/export.csv',
    ]) {
      const response = await loginAs(visit(client, url), 'staff')
      response.assertStatus(200)
    }
    await loginAs(visit(client, '/about'), 'staff')
    assert.deepEqual(await liveViews(tracking), [['/about', 1]])
  })

  test('anonymous traffic with trackAnonymous: {trackAnonymous}')
    .with([
      { trackAnonymous: false, views: [['/posts/1', 1]], visitors: 1 },
      {
        trackAnonymous: true,
        views: [
          ['/about', 2],
          ['/posts/1', 1],
        ],
        visitors: 2,
      },
    ])
    .run(async ({ client, assert, cleanup }, { trackAnonymous, views, visitors }) => {
      const tracking = await tracked(cleanup, { trackAnonymous })
      await visitExpecting(client, '/about')
      await visitExpecting(client, '/about?utm_source=x')
      /* control: the same setup counts a logged-in visit */
      const loggedIn = await loginAs(visit(client, '/posts/1'), 'user')
      loggedIn.assertStatus(200)
      assert.deepEqual(await liveViews(tracking), views)
      /* the same ip and user agent: one anonymous visitor, through the hashed id, plus the user */
      const day = tracking.manager.recorder.dayOf(Date.now())
      assert.equal(await tracking.manager.store.getUniqueCount(day), visitors)
    })

  test('skipped prefixes, HEAD, POST, 404, 500, bots and prefetches are not counted', async ({
    client,
    assert,
    cleanup,
  }) => {
    const tracking = await tracked(cleanup, { trackAnonymous: true })
    await visit(client, '/assets/app.css')
    await client.head('/about').header('user-agent', BROWSER_UA)
    await client.post('/logout').header('user-agent', BROWSER_UA).redirects(0)
    await visit(client, '/no-such-page')
    await visit(client, '/boom')
    await client
      .get('/about')
      .header('user-agent', 'Googlebot/2.1 (+http://www.google.com/bot.html)')
    await visit(client, '/about').header('sec-purpose', 'prefetch')
    assert.deepEqual(await liveViews(tracking), [])
    /* control: the same setup counts a plain browser GET */
    await visitExpecting(client, '/about')
    assert.deepEqual(await liveViews(tracking), [['/about', 1]])
  })

  test('301/302 with {title}')
    .with([
      {
        title: 'trackRedirects: false',
        config: { trackRedirects: false },
        views: [['/about', 1]],
      },
      {
        title: 'the default (trackRedirects: true)',
        config: {},
        views: [
          ['/about', 1],
          ['/moved', 1],
          ['/old-home', 1],
        ],
      },
    ])
    .run(async ({ client, assert, cleanup }, { config, views }) => {
      const tracking = await tracked(cleanup, { trackAnonymous: true, ...config })
      await visitExpecting(client, '/old-home', 302)
      await visitExpecting(client, '/moved', 301)
      /* control: the same setup counts a 200 */
      await visitExpecting(client, '/about')
      assert.deepEqual(await liveViews(tracking), views)
    })

  test('a 3,000-character {title} path is stored cut to 500 characters, without its query string')
    .with([
      { title: 'ASCII', path: `/wiki/${'a'.repeat(2994)}`, stored: `/wiki/${'a'.repeat(494)}` },
      {
        /* percent-encoded on the wire; the cut at 500 falls among 4-byte characters */
        title: 'UTF-8',
        path: `/wiki/${'ü'.repeat(10)}${'a'.repeat(480)}${'😀'.repeat(10)}${'b'.repeat(2494)}`,
        stored: `/wiki/${'ü'.repeat(10)}${'a'.repeat(480)}${'😀'.repeat(4)}`,
      },
    ])
    .run(async ({ client, assert, cleanup }, { path, stored }) => {
      await truncateTrackingTables()
      const tracking = await tracked(cleanup, { trackAnonymous: true })
      assert.lengthOf(Array.from(path), 3000)
      await visitExpecting(
        client,
        `${encodeURI(path)}?utm_source=mail&q=${encodeURIComponent('é')}`
      )

      const live = await liveViews(tracking)
      assert.deepEqual(live, [[stored, 1]])
      assert.lengthOf(Array.from(live[0][0]), 500)
      assert.isTrue(live[0][0].isWellFormed())

      await flushPageViews(tracking.manager, db)
      const rows = await db.from(TRACKING_TABLES.pageViews).select('path', 'views')
      assert.deepEqual(
        rows.map((row) => [row.path, Number(row.views)]),
        [[stored, 1]]
      )
    })

  test('a request at 23:30 UTC lands on {day} with timezone {timezone}')
    .with([
      { timezone: 'UTC+2', day: '2026-03-11', otherDay: '2026-03-10' },
      { timezone: 'UTC', day: '2026-03-10', otherDay: '2026-03-11' },
    ])
    .run(async ({ client, assert, cleanup }, { timezone, day, otherDay }) => {
      const at = Date.UTC(2026, 2, 10, 23, 30)
      const tracking = await tracked(cleanup, { trackAnonymous: true, timezone }, { now: () => at })
      await visitExpecting(client, '/about')
      assert.deepEqual(await liveViews(tracking, day), [['/about', 1]])
      assert.deepEqual(await liveViews(tracking, otherDay), [])
    })

  test('America/Santiago: 00:05 on 2025-09-08, after the skipped midnight of 09-07, counts on 09-08', async ({
    client,
    assert,
    cleanup,
  }) => {
    /* 2025-09-07 has no 00:00 (23:59 -04 is followed by 01:00 -03) */
    let now = Date.parse('2025-09-07T15:00:00Z')
    const tracking = await tracked(
      cleanup,
      { trackAnonymous: true, timezone: 'America/Santiago' },
      { now: () => now }
    )
    await visitExpecting(client, '/about')
    now = Date.parse('2025-09-08T03:05:00Z')
    await visitExpecting(client, '/')
    assert.deepEqual(await liveViews(tracking, '2025-09-07'), [['/about', 1]])
    assert.deepEqual(await liveViews(tracking, '2025-09-08'), [['/', 1]])
  })

  test('bidirectional controls are not stored, in Redis nor in SQL', async ({
    client,
    assert,
    cleanup,
  }) => {
    await truncateTrackingTables()
    const tracking = await tracked(cleanup, { trackAnonymous: true })
    /* the override would show "/wiki/invoice-fdp.exe" as "/wiki/invoice-exe.pdf" */
    await visitExpecting(client, encodeURI('/wiki/invoice-\u202Efdp.exe\u202C'))
    await visitExpecting(
      client,
      encodeURI('/wiki/\u2066a\u2069\u200Eb\u200F\u061Cc\u202A\u202B\u202D')
    )
    const expected = [
      ['/wiki/abc', 1],
      ['/wiki/invoice-fdp.exe', 1],
    ]
    assert.deepEqual(await liveViews(tracking), expected)
    await flushPageViews(tracking.manager, db)
    const rows = await db.from(TRACKING_TABLES.pageViews).select('path', 'views').orderBy('path')
    assert.deepEqual(
      rows.map((row) => [row.path, Number(row.views)]),
      expected
    )
  })

  test('a percent-encoded Latin-1 character is stored as itself: /wiki/café', async ({
    client,
    assert,
    cleanup,
  }) => {
    const tracking = await tracked(cleanup, { trackAnonymous: true })
    await visitExpecting(client, '/wiki/caf%C3%A9')
    await visitExpecting(client, encodeURI('/wiki/ünïcödé/€'))
    assert.deepEqual(await liveViews(tracking), [
      ['/wiki/café', 1],
      ['/wiki/ünïcödé/€', 1],
    ])
  })

  test('trailingSlash {trailingSlash}: /about/ and /about are counted as {title}')
    .with([
      {
        trailingSlash: 'keep' as const,
        title: 'two pages',
        views: [
          ['/wiki/a', 1],
          ['/wiki/a/', 2],
        ],
      },
      {
        trailingSlash: 'strip' as const,
        title: 'one page',
        views: [
          ['/', 1],
          ['/wiki/a', 3],
        ],
      },
    ])
    .run(async ({ client, assert, cleanup }, { trailingSlash, views }) => {
      const tracking = await tracked(cleanup, { trackAnonymous: true, trailingSlash })
      await visitExpecting(client, '/wiki/a/')
      await visitExpecting(client, '/wiki/a/?utm_source=x')
      await visitExpecting(client, '/wiki/a')
      if (trailingSlash === 'strip') await visitExpecting(client, '/')
      assert.deepEqual(await liveViews(tracking), views)
    })

  test('1,000 concurrent requests give exactly 1,000 views', async ({
    client,
    assert,
    cleanup,
  }) => {
    const tracking = await tracked(cleanup, { trackAnonymous: true })
    const responses = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => visit(client, i % 2 ? '/about' : '/'))
    )
    assert.deepEqual([...new Set(responses.map((response) => response.status()))], [200])
    let total = 0
    for (const [, count] of await liveViews(tracking)) total += count
    assert.equal(total, 1000)
  }).timeout(60_000)
})
