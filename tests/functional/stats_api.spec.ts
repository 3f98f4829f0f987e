import { test } from '@japa/runner'
import { DateTime } from 'luxon'
import app from '@adonisjs/core/services/app'
import router from '@adonisjs/core/services/router'
import db from '@adonisjs/lucid/services/db'
import { flushPageViews } from '../../src/flush.ts'
import { registerTrackingRoutes } from '../../src/http/routes.ts'
import { resolveSettings } from '../../src/settings.ts'
import type { TrackingManager } from '../../src/manager.ts'
import type { TrackingSettings } from '../../src/types.ts'
import type { AnalyticsContext } from '../../src/widgets/types.ts'
import { loginAs, useTrackingManager, truncateTrackingTables } from '../helpers.ts'

/* ---------------------------------------------------------------------------
 | The stats API of the demo (/cabinet/tracking/api/v1/context): the demo
 | config reads its tokens from TRACKING_API_TOKENS (bin/test.ts gives one).
 | A second mount with a small limit covers the 429.
 */

const appManager = await app.container.make('tracking.manager')
const appSettings: TrackingSettings = appManager.settings
const TOKEN = (process.env.TRACKING_API_TOKENS ?? '').split(',')[0].trim()
const API = '/cabinet/tracking/api/v1/context'

/* a no-op when the provider has registered them at boot */
registerTrackingRoutes(router, appSettings)

const LIMITED_TOKEN = 'limited-stats-api-token-of-the-tests-0002'
const LIMITED_REQUESTS = 3
registerTrackingRoutes(
  router,
  resolveSettings({
    analyticsUrl: '/test-analytics/limited',
    timezone: appSettings.timezone,
    apiTokens: [LIMITED_TOKEN],
    apiRateLimit: { requests: LIMITED_REQUESTS, duration: '1h' },
  }),
  { name: 'test.limited' }
)
/* a mount without apiTokens: no API route */
const noApi = registerTrackingRoutes(
  router,
  resolveSettings({ analyticsUrl: '/test-analytics/no-api' }),
  { name: 'test.no-api' }
)

function isoDay(daysAgo: number) {
  return DateTime.now().setZone(appSettings.timezone).minus({ days: daysAgo }).toISODate()!
}

/**
 * Views in SQL (flushed) and live in the store: 4 + 3 + 5 in the last 7
 * days, 6 more 10 days ago; sources on two of them for the filter
 */
async function seedTraffic(manager: TrackingManager) {
  const flushed: Array<[daysAgo: number, path: string, visitor: string, count: number]> = [
    [1, '/', 'u1', 4],
    [3, '/posts/1', 'u2', 3],
    [10, '/', 'u5', 6],
  ]
  for (const [daysAgo, path, visitor, count] of flushed) {
    for (let index = 0; index < count; index++) {
      manager.recorder.recordView({ path, day: isoDay(daysAgo), visitor })
    }
  }
  await manager.drain()
  await flushPageViews(manager, db)
  for (let index = 0; index < 5; index++) {
    manager.recorder.recordView({ path: '/about', day: isoDay(0), visitor: `v${index % 2}` })
  }
  await manager.drain()
}

const SEEDED_VIEWS_LAST_7_DAYS = 12

function bearer(token: string) {
  return `Bearer ${token}`
}

test.group('Stats API | figures', (group) => {
  let manager: TrackingManager

  group.each.setup(async () => {
    await truncateTrackingTables()
    const tracking = await useTrackingManager({ trackAnonymous: true })
    manager = tracking.manager
    await seedTraffic(manager)
    return () => tracking.cleanup()
  })

  test('a valid token gets the JSON of the staff page for the same range', async ({
    client,
    assert,
  }) => {
    for (const qs of ['', '?days=7', `?from=${isoDay(12)}&to=${isoDay(1)}`, '?days=30&page=1']) {
      const api = await client.get(`${API}${qs}`).header('Authorization', bearer(TOKEN))
      api.assertStatus(200)
      assert.match(api.header('content-type') ?? '', /^application\/json/)
      assert.equal(api.header('cache-control'), 'private, no-store')
      const staff = await loginAs(
        client.get(`/cabinet/tracking${qs ? `${qs}&` : '?'}format=json`),
        'staff'
      )
      staff.assertStatus(200)
      assert.deepEqual(api.body(), staff.body(), `same context for "${qs}"`)
    }

    const week = await client.get(`${API}?days=7`).header('Authorization', bearer(TOKEN))
    const context = week.body() as AnalyticsContext
    assert.equal(context.trackingTotalViews.value, SEEDED_VIEWS_LAST_7_DAYS)
    assert.deepEqual(
      context.trackingTopPages.items.map((item) => [item.label, item.value]),
      [
        ['/about', 5],
        ['/', 4],
        ['/posts/1', 3],
      ]
    )
    assert.equal(context.range.days, 7)
    assert.equal(context.range.to, isoDay(0))
  })

  test('the same filter as the page, and the same 422 for bad parameters', async ({
    client,
    assert,
  }) => {
    const filtered = await client
      .get(`${API}?days=7&filter=browser:Firefox`)
      .header('Authorization', bearer(TOKEN))
    filtered.assertStatus(200)
    const staff = await loginAs(
      client.get('/cabinet/tracking?days=7&filter=browser:Firefox&format=json'),
      'staff'
    )
    assert.deepEqual(filtered.body(), staff.body())

    for (const qs of [
      '?days=0',
      '?days=abc',
      '?from=2026-13-01',
      '?filter=nope',
      '?from=2026-02-01&to=2026-01-01',
    ]) {
      const api = await client.get(`${API}${qs}`).header('Authorization', bearer(TOKEN))
      api.assertStatus(422)
      const page = await loginAs(client.get(`/cabinet/tracking${qs}&format=json`), 'staff')
      page.assertStatus(422)
      assert.deepEqual(api.body(), page.body(), `same problems for "${qs}"`)
      assert.isAbove((api.body() as { errors: unknown[] }).errors.length, 0)
    }
  })

  test('an API request is not a page view', async ({ client, assert }) => {
    const read = async () => {
      const response = await client.get(`${API}?days=7`).header('Authorization', bearer(TOKEN))
      return response.body() as AnalyticsContext
    }
    await read()
    await read()
    await manager.drain()
    const after = await read()
    assert.equal(after.trackingTotalViews.value, SEEDED_VIEWS_LAST_7_DAYS)
    assert.notInclude(
      after.trackingTopPages.items.map((item) => item.label),
      API
    )
  })
})

test.group('Stats API | access', (group) => {
  group.each.setup(async () => {
    const tracking = await useTrackingManager()
    return () => tracking.cleanup()
  })

  const refused: Array<[name: string, header: string | null]> = [
    ['no Authorization header', null],
    ['a wrong token', bearer('wrong-token-wrong-token-wrong-token-000')],
    ['a prefix of a valid token', bearer(TOKEN.slice(0, -1))],
    ['a valid token with a character more', bearer(`${TOKEN}0`)],
    ['an empty bearer', 'Bearer '],
    ['the token without the Bearer scheme', TOKEN],
    ['the token as Basic credentials', `Basic ${TOKEN}`],
  ]
  for (const [name, header] of refused) {
    test(`401 with WWW-Authenticate to ${name}`, async ({ client, assert }) => {
      const request = client.get(`${API}?days=7`)
      if (header !== null) request.header('Authorization', header)
      const response = await request
      response.assertStatus(401)
      const challenge = response.header('www-authenticate') ?? ''
      assert.match(challenge, /^Bearer realm="tracking"/)
      /* an error code only when a bearer token was sent (RFC 6750) */
      assert.equal(challenge.includes('error="invalid_token"'), /^Bearer \S/.test(header ?? ''))
      assert.deepEqual(response.body(), { errors: [{ message: 'Unauthorized' }] })
      assert.notProperty(response.body(), 'trackingTotalViews')
    })
  }

  test('a token in the query string is no credential', async ({ client }) => {
    const response = await client.get(`${API}?token=${encodeURIComponent(TOKEN)}`)
    response.assertStatus(401)
  })

  test('a staff session without a token gets 401', async ({ client, assert }) => {
    const response = await loginAs(client.get(`${API}?days=7`), 'staff')
    response.assertStatus(401)
    assert.match(response.header('www-authenticate') ?? '', /^Bearer/)
  })

  test('a valid token never opens the staff page, its JSON or its CSV', async ({
    client,
    assert,
  }) => {
    for (const url of [
      '/cabinet/tracking',
      '/cabinet/tracking?format=json',
      '/cabinet/tracking?format=csv',
      '/cabinet/tracking/export.csv',
    ]) {
      const response = await client.get(url).header('Authorization', bearer(TOKEN)).redirects(0)
      response.assertStatus(403)
      assert.notInclude(response.text(), 'trackingTotalViews')
      assert.notInclude(response.text(), 'trk-kpi')
    }
  })

  test('a token of one mount does not open another', async ({ client }) => {
    const response = await client
      .get('/test-analytics/limited/api/v1/context')
      .header('Authorization', bearer(TOKEN))
    response.assertStatus(401)
  })

  test('without apiTokens there is no API (404)', async ({ client, assert }) => {
    assert.isNull(noApi.api)
    const response = await client
      .get('/test-analytics/no-api/api/v1/context')
      .header('Authorization', bearer(TOKEN))
    response.assertStatus(404)
  })
})

test.group('Stats API | rate limit', (group) => {
  group.each.setup(async () => {
    const tracking = await useTrackingManager()
    return () => tracking.cleanup()
  })

  test(`429 with Retry-After after ${LIMITED_REQUESTS} requests of one token`, async ({
    client,
    assert,
  }) => {
    const url = '/test-analytics/limited/api/v1/context?days=7'
    for (let index = 0; index < LIMITED_REQUESTS; index++) {
      const response = await client.get(url).header('Authorization', bearer(LIMITED_TOKEN))
      response.assertStatus(200)
      assert.equal(response.header('x-ratelimit-limit'), String(LIMITED_REQUESTS))
      assert.equal(response.header('x-ratelimit-remaining'), String(LIMITED_REQUESTS - index - 1))
    }
    const over = await client.get(url).header('Authorization', bearer(LIMITED_TOKEN))
    over.assertStatus(429)
    const retryAfter = Number(over.header('retry-after'))
    assert.isTrue(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 3600)
    assert.deepEqual(over.body(), { errors: [{ message: 'Too many requests' }] })

    /* wrong tokens are refused before the limiter: they use up nothing, and still get 401 */
    const wrong = await client.get(url).header('Authorization', bearer(TOKEN))
    wrong.assertStatus(401)
  })
})
