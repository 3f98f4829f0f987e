import { test } from '@japa/runner'
import { DateTime } from 'luxon'
import app from '@adonisjs/core/services/app'
import router from '@adonisjs/core/services/router'
import db from '@adonisjs/lucid/services/db'
import edge from 'edge.js'
import type { HttpContext } from '@adonisjs/core/http'
import { configProvider } from '@adonisjs/core'
import { defineConfig, errors } from '../../index.ts'
import { flushPageViews } from '../../src/flush.ts'
import { registerTrackingRoutes } from '../../src/http/routes.ts'
import { registerTrackingViews } from '../../src/http/views.ts'
import { MAX_RANGE_DAYS } from '../../src/ranges.ts'
import { RedisHll } from '../../src/stores/redis_hll.ts'
import { TrackingSelector } from '../../src/selector.ts'
import { resolveSettings } from '../../src/settings.ts'
import type { TrackingManager } from '../../src/manager.ts'
import type { TrackingSettings } from '../../src/types.ts'
import type { AnalyticsContext, AnalyticsRange } from '../../src/widgets/types.ts'
import { loginAs, storeBatch, useTrackingManager, truncateTrackingTables } from '../helpers.ts'
import { insertDimensionRows } from '../dimension_rows.ts'

const XSS_PATH = '/"><script>alert(1)</script>'

/* ---------------------------------------------------------------------------
 | Routes under test
 |----------------------------------------------------------------------------
 | The provider registers /cabinet/tracking when `registerRoutes` is true;
 | until then (or when it does not), the spec registers it with the same
 | function, before the test server commits the routes. Three more mounts
 | with a fixed data source cover the options: the host layout, the login
 | redirect and CSV cells that only a legacy import could hold.
 */

const appManager = await app.container.make('tracking.manager')
const appSettings: TrackingSettings = appManager.settings

/* no-ops when the provider has done it already (at boot, when the app uses Edge) */
registerTrackingViews(edge)
registerTrackingRoutes(router, appSettings)

/** A fixed analytics context: what the fixture mounts answer */
function fixtureContext(range: AnalyticsRange): AnalyticsContext {
  const caption = `${range.from} to ${range.to}`
  const metric = (key: string, title: string, value: number) => ({
    kind: 'metric' as const,
    key,
    title,
    caption,
    value,
    trend: {
      percent: 25,
      label: '+25%',
      direction: 'up' as const,
      previous: Math.round(value / 1.25),
    },
  })
  return {
    range,
    previousRange: range,
    trackingTotalViews: metric('trackingTotalViews', 'Page views', 1250),
    trackingUniqueVisitors: metric('trackingUniqueVisitors', 'Unique visitors', 40),
    trackingTrackedPages: metric('trackingTrackedPages', 'Tracked pages', 3),
    trackingViewsChart: {
      kind: 'chart',
      key: 'trackingViewsChart',
      title: 'Views per day',
      caption,
      labels: ['2026-01-01', '2026-01-02'],
      series: [{ key: 'views', name: 'Views', values: [1000, 250] }],
    },
    trackingTopPages: {
      kind: 'list',
      key: 'trackingTopPages',
      title: 'Top pages',
      caption,
      items: [{ label: XSS_PATH, value: 1250, share: 1 }],
    },
    trackingRecentPageViews: {
      kind: 'table',
      key: 'trackingRecentPageViews',
      title: 'Page views',
      caption,
      columns: [
        { key: 'path', label: 'Path' },
        { key: 'views', label: 'Views' },
      ],
      rows: [
        { path: '=cmd()', views: 5 },
        { path: '+SUM(A1)', views: -3 },
        { path: '-2+3', views: 2 },
        { path: '@A1', views: 1 },
        { path: '\tTAB', views: 1 },
        { path: '\rCR', views: 1 },
        { path: XSS_PATH, views: 1 },
      ],
      page: 1,
      perPage: 100,
      total: 7,
    },
    realtimeVisitors: 2,
    trackingSources: {
      kind: 'list',
      key: 'trackingSources',
      title: 'Sources',
      caption,
      dimension: 'source',
      items: [
        { label: '=HYPERLINK("x")', value: 3, share: 0.75, visitors: 2 },
        { label: XSS_PATH, value: 1, share: 0.25, visitors: 1 },
      ],
    },
    trackingEntryPages: {
      kind: 'list',
      key: 'trackingEntryPages',
      title: 'Entry pages',
      caption,
      unit: 'visits',
      items: [
        { label: '=cmd()', value: 3, share: 0.75 },
        { label: XSS_PATH, value: 1, share: 0.25 },
      ],
    },
  }
}

const fixtureLoader = async (_ctx: HttpContext, query: { range: AnalyticsRange }) =>
  fixtureContext(query.range)

registerTrackingRoutes(
  router,
  { ...appSettings, analyticsUrl: '/test-analytics/hosted' },
  { layout: 'layouts/main', loadContext: fixtureLoader, name: 'test.hosted' }
)
registerTrackingRoutes(
  router,
  { ...appSettings, analyticsUrl: '/test-analytics/login' },
  { loginUrl: '/login', loadContext: fixtureLoader, name: 'test.login' }
)
registerTrackingRoutes(
  router,
  { ...appSettings, analyticsUrl: '/test-analytics/fixture' },
  { loadContext: fixtureLoader, name: 'test.fixture' }
)
/* the package default: no authorize in the config */
registerTrackingRoutes(router, resolveSettings({ analyticsUrl: '/test-analytics/default' }), {
  loadContext: fixtureLoader,
  name: 'test.default',
})

/* ---------------------------------------------------------------------------
 | Seeded traffic
 */

function isoDay(daysAgo: number) {
  return DateTime.now().setZone(appSettings.timezone).minus({ days: daysAgo }).toISODate()!
}

/**
 * Views of the last days in the live store (the selector reads SQL + live
 * counts). 18 views in the last 7 days on 6 paths, 6 more 10 days ago.
 */
async function seedTraffic(manager: TrackingManager) {
  const views: Array<[daysAgo: number, path: string, visitor: string, count: number]> = [
    [0, '/', 'u1', 3],
    [0, '/', 'u2', 2],
    [0, '/about', 'u1', 2],
    [1, '/', 'u3', 3],
    [1, XSS_PATH, 'u4', 1],
    [3, '/posts/1', 'u2', 4],
    [10, '/', 'u5', 6],
  ]
  for (const [daysAgo, path, visitor, count] of views) {
    for (let index = 0; index < count; index++) {
      manager.recorder.recordView({ path, day: isoDay(daysAgo), visitor })
    }
  }
  await manager.drain()
  /* a path as only an import from elsewhere could store it (the recorder adds a "/") */
  await manager.store.write({
    days: new Map([
      [isoDay(1), { views: new Map([['=cmd()', 2]]), visitors: new Set(['u6']) }],
      [isoDay(0), { views: new Map([['@SUM(1+1)', 1]]), visitors: new Set(['u6']) }],
    ]),
    minutes: new Map(),
  })
}

/** 7 + 5 + 3 + 1 + 4 + 2 + 1 */
const SEEDED_VIEWS_LAST_7_DAYS = 18

async function selectorContext(
  manager: TrackingManager,
  days: number,
  options = { page: 1, perPage: 25, search: '' }
): Promise<AnalyticsContext> {
  const to = DateTime.now().setZone(appSettings.timezone).startOf('day')
  const range = { from: to.minus({ days: days - 1 }).toISODate()!, to: to.toISODate()!, days }
  const context = await new TrackingSelector(manager, db).getAnalyticsContext(range, options)
  return JSON.parse(JSON.stringify(context))
}

/* ---------------------------------------------------------------------------
 | Tests
 */

test.group('Analytics page | access', (group) => {
  group.each.setup(async () => {
    const tracking = await useTrackingManager()
    return () => tracking.cleanup()
  })

  const targets = [
    ['page', '/cabinet/tracking'],
    ['JSON', '/cabinet/tracking?format=json'],
    ['CSV', '/cabinet/tracking?format=csv'],
    ['CSV export', '/cabinet/tracking/export.csv'],
  ]

  for (const [name, url] of targets) {
    test(`anonymous visitors get 403 on the ${name}`, async ({ client, assert }) => {
      const response = await client.get(url).redirects(0)
      response.assertStatus(403)
      assert.notInclude(response.text(), 'trk-kpi')
    })

    test(`a logged-in user who is not staff gets 403 on the ${name}`, async ({
      client,
      assert,
    }) => {
      const response = await loginAs(client.get(url).redirects(0), 'user')
      response.assertStatus(403)
      assert.notInclude(response.text(), 'trk-kpi')
    })
  }

  test('staff gets the page, the JSON and the CSV', async ({ client, assert }) => {
    const page = await loginAs(client.get('/cabinet/tracking'), 'staff')
    page.assertStatus(200)
    assert.match(page.header('content-type') ?? '', /^text\/html/)
    assert.equal(page.header('cache-control'), 'private, no-store')

    const json = await loginAs(client.get('/cabinet/tracking?format=json'), 'staff')
    json.assertStatus(200)
    assert.properties(json.body(), ['range', 'trackingTotalViews', 'realtimeVisitors'])

    const csv = await loginAs(client.get('/cabinet/tracking/export.csv'), 'staff')
    csv.assertStatus(200)
    assert.match(csv.header('content-type') ?? '', /^text\/csv/)
    assert.match(csv.header('content-disposition') ?? '', /^attachment; filename="tracking-pages-/)
  })

  test('without authorize in the config, staff is refused too', async ({ client }) => {
    const response = await loginAs(client.get('/test-analytics/default?format=json'), 'staff')
    response.assertStatus(403)
  })

  test('with loginUrl, anonymous visitors of the page are sent to log in', async ({
    client,
    assert,
  }) => {
    const page = await client.get('/test-analytics/login?days=7').redirects(0)
    page.assertStatus(302)
    assert.equal(page.header('location'), '/login?next=%2Ftest-analytics%2Flogin%3Fdays%3D7')

    /* the exports and logged-in users without access still get 403 */
    const json = await client.get('/test-analytics/login?format=json').redirects(0)
    json.assertStatus(403)
    const user = await loginAs(client.get('/test-analytics/login').redirects(0), 'user')
    user.assertStatus(403)
  })
})

test.group('Analytics page | seeded data', (group) => {
  let manager: TrackingManager

  group.each.setup(async () => {
    await truncateTrackingTables()
    const tracking = await useTrackingManager({ trackAnonymous: true })
    manager = tracking.manager
    await seedTraffic(manager)
    return () => tracking.cleanup()
  })

  test('the JSON is what the selector computes', async ({ client, assert }) => {
    const response = await loginAs(client.get('/cabinet/tracking?format=json&days=7'), 'staff')
    response.assertStatus(200)
    const expected = await selectorContext(manager, 7)
    assert.deepEqual(response.body(), expected)
    assert.equal(expected.trackingTotalViews.value, SEEDED_VIEWS_LAST_7_DAYS)
    assert.equal(expected.range.days, 7)
  })

  test('the page shows the selector numbers: KPIs, chart, top pages, realtime', async ({
    client,
    assert,
  }) => {
    const response = await loginAs(client.get('/cabinet/tracking?days=7'), 'staff')
    response.assertStatus(200)
    const html = response.text()
    const expected = await selectorContext(manager, 7)

    for (const key of [
      'trackingTotalViews',
      'trackingUniqueVisitors',
      'trackingTrackedPages',
    ] as const) {
      const value = expected[key].value.toLocaleString('en-US')
      assert.match(
        html,
        new RegExp(`data-widget="${key}"[\\s\\S]*?trk-kpi-value">${value}<`),
        `${key} shows ${value}`
      )
    }
    assert.include(html, `<strong>${expected.realtimeVisitors}</strong>`)
    /* the chart: inline SVG with one line per series, and its table fallback */
    assert.match(html, /<svg viewBox="0 0 720 240" role="img"/)
    assert.equal(
      (html.match(/class="trk-line"/g) ?? []).length,
      expected.trackingViewsChart.series.length
    )
    for (const label of expected.trackingViewsChart.labels) {
      assert.include(html, `<time datetime="${label}">`)
    }
    /* the first top page is listed first */
    const top = expected.trackingTopPages.items[0]
    assert.match(html, new RegExp(`class="trk-list">\\s*<li>[\\s\\S]*?>${top.label}<`))
    /* the 7-day preset is the current one, compared with the previous 7 days */
    assert.match(html, /href="\/cabinet\/tracking\?days=7" aria-current="page"/)
    assert.include(html, 'compared with')
    assert.notInclude(html, '<script')
  })

  test('a tracked path with markup is shown escaped', async ({ client, assert }) => {
    const response = await loginAs(client.get('/cabinet/tracking?days=7'), 'staff')
    const html = response.text()
    assert.include(html, '/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;')
    assert.notInclude(html, '<script>alert(1)</script>')
    assert.notInclude(html, '"><script>')
  })

  test('the CSV neutralises cells a spreadsheet would run as formulas', async ({
    client,
    assert,
  }) => {
    const response = await loginAs(client.get('/cabinet/tracking/export.csv?days=7'), 'staff')
    response.assertStatus(200)
    const csv = response.text()
    assert.include(csv, `'=cmd()`)
    assert.include(csv, `'@SUM(1+1)`)
    assert.notMatch(csv, /(^|[,\r\n])[=@+-]/m)
    /* the markup path is a plain, quoted CSV cell */
    assert.include(csv, '"/""><script>alert(1)</script>"')
  })

  test('the daily CSV has one row per day of the range', async ({ client, assert }) => {
    const response = await loginAs(
      client.get('/cabinet/tracking/export.csv?days=7&dataset=daily'),
      'staff'
    )
    response.assertStatus(200)
    const lines = response.text().trim().split('\r\n')
    const expected = await selectorContext(manager, 7)
    assert.equal(lines.length, 1 + 7)
    assert.match(lines[0], /^date,/)
    const views = lines.slice(1).map((line) => Number(line.split(',')[1]))
    assert.deepEqual(views, expected.trackingViewsChart.series[0].values)
  })

  test('search and pagination reach the selector', async ({ client, assert }) => {
    const searched = await loginAs(
      client.get('/cabinet/tracking?format=json&days=7&q=about'),
      'staff'
    )
    searched.assertStatus(200)
    const expected = await selectorContext(manager, 7, { page: 1, perPage: 25, search: 'about' })
    assert.deepEqual(searched.body().trackingRecentPageViews, expected.trackingRecentPageViews)

    const paged = await loginAs(
      client.get('/cabinet/tracking?format=json&days=7&perPage=2&page=2'),
      'staff'
    )
    paged.assertStatus(200)
    const table = paged.body().trackingRecentPageViews
    assert.equal(table.page, 2)
    assert.equal(table.perPage, 2)
    assert.isAtMost(table.rows.length, 2)

    /* out-of-range pagination is clamped, never an error */
    const clamped = await loginAs(
      client.get('/cabinet/tracking?format=json&page=-4&perPage=100000'),
      'staff'
    )
    clamped.assertStatus(200)
    assert.equal(clamped.body().trackingRecentPageViews.perPage, 100)
  })

  test('a custom from/to range is used as given', async ({ client, assert }) => {
    const from = isoDay(3)
    const to = isoDay(1)
    const response = await loginAs(
      client.get(`/cabinet/tracking?format=json&from=${from}&to=${to}`),
      'staff'
    )
    response.assertStatus(200)
    assert.deepEqual(response.body().range, { from, to, days: 3 })
    /* 3 + 1 + 4 + 2 */
    assert.equal(response.body().trackingTotalViews.value, 10)
  })
})

test.group('Analytics page | invalid ranges', (group) => {
  group.each.setup(async () => {
    const tracking = await useTrackingManager()
    return () => tracking.cleanup()
  })

  const cases: Array<[string, string, string]> = [
    ['from=abc', 'from', 'from must be a date as YYYY-MM-DD'],
    ['to=2026-02-30', 'to', 'to must be a date as YYYY-MM-DD'],
    ['from=2026-03-10&to=2026-03-01', 'to', 'to must be on or after from'],
    [
      'from=2015-01-01&to=2025-01-01',
      'from',
      'the range covers 3654 days; at most 366 are allowed',
    ],
    ['days=0', 'days', 'days must be a whole number of days between 1 and 366'],
    ['days=3650', 'days', 'days must be a whole number of days between 1 and 366'],
    ['days=abc', 'days', 'days must be a whole number of days between 1 and 366'],
  ]

  for (const [qs, field, message] of cases) {
    test(`${qs} gets 422 with a clear message`, async ({ client, assert }) => {
      const json = await loginAs(client.get(`/cabinet/tracking?format=json&${qs}`), 'staff')
      json.assertStatus(422)
      assert.deepEqual(json.body(), { errors: [{ field, message }] })

      const page = await loginAs(client.get(`/cabinet/tracking?${qs}`), 'staff')
      page.assertStatus(422)
      assert.include(page.text(), message)
      assert.include(page.text(), 'role="alert"')

      const csv = await loginAs(client.get(`/cabinet/tracking/export.csv?${qs}`), 'staff')
      csv.assertStatus(422)
      assert.include(csv.text(), message)
    })
  }

  test('an unknown format gets 422', async ({ client, assert }) => {
    const response = await loginAs(client.get('/cabinet/tracking?format=xml'), 'staff')
    response.assertStatus(422)
    assert.deepEqual(response.body(), {
      errors: [{ field: 'format', message: 'format must be html, json or csv' }],
    })
  })

  test('invalid parameters are checked after access: anonymous still gets 403', async ({
    client,
  }) => {
    const response = await client.get('/cabinet/tracking?from=abc')
    response.assertStatus(403)
  })
})

test.group('Analytics page | CSV export of many paths', (group) => {
  let manager: TrackingManager
  group.each.setup(async () => {
    await truncateTrackingTables()
    const tracking = await useTrackingManager()
    manager = tracking.manager
    return () => tracking.cleanup()
  })

  /** CSV lines as { path, views } (paths here need no quoting), header first */
  function csvRows(text: string): Array<{ path: string; views: number }> {
    const lines = text.trim().split('\r\n')
    return lines.map((line) => {
      const cut = line.lastIndexOf(',')
      return { path: line.slice(0, cut), views: Number(line.slice(cut + 1)) }
    })
  }

  test('the export is the ranked table, in order, SQL and live counts merged', async ({
    client,
    assert,
  }) => {
    /* 1,200 paths flushed to SQL over 3 days, 700 of them live again today, skipped ones too */
    for (const daysAgo of [3, 2, 1]) {
      const views: Record<string, number> = { '/assets/app.js': 50 }
      for (let i = 0; i < 1200; i++) views[`/p/${i}`] = 1 + ((i * 37 + daysAgo) % 23)
      await manager.store.write(storeBatch({ [isoDay(daysAgo)]: views }))
    }
    await flushPageViews(manager, db)
    const live: Record<string, number> = { '/assets/app.js': 9, '/only-live': 31 }
    for (let i = 0; i < 1400; i += 2) live[`/p/${i}`] = 1 + ((i * 11) % 40)
    await manager.store.write(storeBatch({ [isoDay(0)]: live }))

    const selector = new TrackingSelector(manager, db)
    const range = { from: isoDay(6), to: isoDay(0) }
    for (const search of ['', '/p/1']) {
      const qs = new URLSearchParams({ days: '7', ...(search ? { q: search } : {}) })
      const response = await loginAs(client.get(`/cabinet/tracking/export.csv?${qs}`), 'staff')
      response.assertStatus(200)
      assert.equal(
        response.header('content-disposition'),
        `attachment; filename="tracking-pages-${range.from}-${range.to}.csv"`
      )
      const ranked = await selector.pagesForRange(range, { perPage: 5000, search })
      const [header, ...rows] = csvRows(response.text())
      assert.equal(header.path, 'Path')
      assert.equal(rows.length, ranked.total)
      assert.deepEqual(rows, ranked.rows, `search "${search}"`)
    }
    /* the rows are read once: no analytics context is rebuilt per 100 rows */
    const reads = { contexts: 0, exports: 0 }
    class CountingSelector extends TrackingSelector {
      override getAnalyticsContext(...args: Parameters<TrackingSelector['getAnalyticsContext']>) {
        reads.contexts++
        return super.getAnalyticsContext(...args)
      }
      override exportPages(...args: Parameters<TrackingSelector['exportPages']>) {
        reads.exports++
        return super.exportPages(...args)
      }
    }
    app.container.bindValue('tracking.selector', new CountingSelector(manager, db))
    const exported = await loginAs(client.get('/cabinet/tracking/export.csv?days=7'), 'staff')
    assert.deepEqual(reads, { contexts: 0, exports: 1 })
    const all = csvRows(exported.text()).slice(1)
    /* 1,200 flushed paths, 100 more live ones and /only-live */
    assert.equal(all.length, 1301)
    assert.notInclude(
      all.map((row) => row.path),
      '/assets/app.js'
    )
    /* a path live today and in SQL: both counts */
    assert.deepInclude(all, { path: '/p/0', views: 4 + 3 + 2 + 1 })
    assert.deepInclude(all, { path: '/only-live', views: 31 })
  })
})

test.group('Analytics page | analyticsDays', () => {
  test('analyticsDays beyond the longest range fails at boot, so the default context always works', async ({
    assert,
  }) => {
    for (const days of [MAX_RANGE_DAYS + 1, 1000, 3660]) {
      await assert.rejects(
        () => configProvider.resolve(app, defineConfig({ analyticsDays: days })),
        errors.E_TRACKING_INVALID_CONFIG
      )
    }
    const settings = await configProvider.resolve<TrackingSettings>(
      app,
      defineConfig({ analyticsDays: MAX_RANGE_DAYS })
    )
    const selector = new TrackingSelector({ settings: settings!, store: appManager.store }, db)
    const context = await selector.getAnalyticsContext()
    assert.equal(context.range.days, MAX_RANGE_DAYS)
  })
})

test.group('Analytics page | options and fixed data', () => {
  test('in the host layout, the page is the main slot of the layout component', async ({
    client,
    assert,
  }) => {
    const response = await loginAs(client.get('/test-analytics/hosted'), 'staff')
    response.assertStatus(200)
    const html = response.text()
    /* the demo layout's navigation and stylesheet, and our widgets inside */
    assert.include(html, '<link rel="stylesheet" href="/assets/app.css">')
    assert.include(html, 'staff@example.com')
    assert.match(html, /data-widget="trackingTotalViews"[\s\S]*?trk-kpi-value">1,250</)
    assert.isUndefined(response.header('content-security-policy'))
  })

  test('the own layout is self-contained: no script, no other origin', async ({
    client,
    assert,
  }) => {
    const response = await loginAs(client.get('/test-analytics/fixture'), 'staff')
    response.assertStatus(200)
    const html = response.text()
    assert.notInclude(html, '<script')
    assert.notMatch(html, /(src|href)="(https?:)?\/\//)
    assert.include(html, '@media (prefers-color-scheme:dark)')
    assert.match(response.header('content-security-policy') ?? '', /default-src 'none'/)
    assert.include(html, '/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;')
  })

  test('every formula-looking CSV cell is neutralised, numbers are kept', async ({
    client,
    assert,
  }) => {
    const response = await loginAs(client.get('/test-analytics/fixture/export.csv'), 'staff')
    response.assertStatus(200)
    assert.equal(
      response.text(),
      [
        'Path,Views',
        `'=cmd(),5`,
        `'+SUM(A1),-3`,
        `'-2+3,2`,
        `'@A1,1`,
        `'\tTAB,1`,
        `"'\rCR",1`,
        `"/""><script>alert(1)</script>",1`,
        '',
      ].join('\r\n')
    )
  })
})

test.group('Analytics page | dimensions from a custom loader', () => {
  test('the CSV datasets come from the context lists, cells neutralised; the panel is escaped', async ({
    client,
    assert,
  }) => {
    const csv = await loginAs(
      client.get('/test-analytics/fixture/export.csv?dataset=sources'),
      'staff'
    )
    csv.assertStatus(200)
    assert.equal(
      csv.text(),
      'dimension,value,views,visitors,share\r\nsource,"\'=HYPERLINK(""x"")",3,2,0.75\r\nsource,"/""><script>alert(1)</script>",1,1,0.25\r\n'
    )
    const empty = await loginAs(
      client.get('/test-analytics/fixture/export.csv?dataset=devices'),
      'staff'
    )
    assert.equal(empty.text(), 'dimension,value,views,visitors,share\r\n')
    const page = await loginAs(client.get('/test-analytics/fixture'), 'staff')
    const html = page.text()
    assert.include(html, 'data-widget="trackingSources"')
    assert.notInclude(html, '<script>alert(1)')
    /* the panels a custom context lacks are left out */
    assert.notInclude(html, 'data-widget="trackingDevices"')
    assert.notInclude(html, 'data-widget="trackingVisits"')
    assert.notInclude(html, 'data-widget="trackingExitPages"')
  })

  test('the entry and exit datasets come from the context lists, cells neutralised; the panel is escaped', async ({
    client,
    assert,
  }) => {
    const entry = await loginAs(
      client.get('/test-analytics/fixture/export.csv?dataset=entry'),
      'staff'
    )
    entry.assertStatus(200)
    assert.equal(
      entry.text(),
      'path,visits,share\r\n\'=cmd(),3,0.75\r\n"/""><script>alert(1)</script>",1,0.25\r\n'
    )
    const exit = await loginAs(
      client.get('/test-analytics/fixture/export.csv?dataset=exit'),
      'staff'
    )
    exit.assertStatus(200)
    assert.equal(exit.text(), 'path,visits,share\r\n')
    const page = await loginAs(client.get('/test-analytics/fixture'), 'staff')
    const html = page.text()
    assert.include(html, 'data-widget="trackingEntryPages"')
    assert.include(html, '3 <span class="trk-sr">visits,</span>')
    assert.notInclude(html, '<script>alert(1)')
  })
})

test.group('Edge components as tags', () => {
  const context = fixtureContext({ from: '2026-01-01', to: '2026-01-02', days: 2 })

  test('@!tracking.kpi renders a metric on its own', async ({ assert }) => {
    const html = await edge.renderRaw('<main>\n@!tracking.kpi({ data })\n</main>', {
      data: context.trackingTotalViews,
    })
    assert.include(html, 'trk-kpi-value">1,250<')
    assert.include(html, '+25%')
  })

  test('@!tracking.chart renders inline SVG with axis labels and a table', async ({ assert }) => {
    const html = await edge.renderRaw('@!tracking.chart({ data })', {
      data: context.trackingViewsChart,
    })
    assert.match(html, /<svg [^>]*role="img"/)
    assert.include(html, '>Jan 1</text>')
    assert.include(html, '>1k</text>')
    assert.include(html, '<td class="trk-num">1,000</td>')
  })

  test('@!tracking.list and @!tracking.table escape what they show', async ({ assert }) => {
    const html = await edge.renderRaw(
      '@!tracking.list({ data: list })\n@!tracking.table({ data: table })',
      { list: context.trackingTopPages, table: context.trackingRecentPageViews }
    )
    assert.notInclude(html, '<script>')
    assert.include(html, '&lt;script&gt;alert(1)&lt;/script&gt;')
    assert.include(html, '1–7 of 7')
  })

  test('@!tracking.dashboard renders every declared widget in order', async ({ assert }) => {
    const widgets = [
      context.trackingViewsChart,
      context.trackingTotalViews,
      context.trackingUniqueVisitors,
      context.trackingTopPages,
      context.trackingRecentPageViews,
    ]
    const html = await edge.renderRaw('@!tracking.dashboard({ widgets })', { widgets })
    const order = [...html.matchAll(/<section [^>]*data-widget="(\w+)"/g)].map((match) => match[1])
    assert.deepEqual(
      order,
      widgets.map((widget) => widget.key)
    )
  })

  test('@!tracking.topbar and @!tracking.sidebar link to the analytics page', async ({
    assert,
  }) => {
    const html = await edge.renderRaw(
      '@!tracking.topbar({ url: "/cabinet/tracking", active: true })\n@!tracking.sidebar({ entry: { label: "Traffic", url: "/stats" }, realtime: 4 })'
    )
    assert.include(html, 'href="/cabinet/tracking" aria-current="page"')
    assert.include(html, '<span>Analytics</span>')
    assert.include(html, 'href="/stats"')
    assert.include(html, '<span>Traffic</span>')
    assert.include(html, '4 now')
  })
})

/* ---------------------------------------------------------------------------
 | Dimensions: lists, CSV datasets, the filter
 */

/** Dimension rows of the last days, as the flush stores them (see tests/dimension_rows.ts) */
async function seedDimensions() {
  const all = ['v1', 'v2', 'v3', 'v4']
  await insertDimensionRows([
    { date: isoDay(1), dimension: 'source', value: 'github.com', views: 4, visitors: ['v1', 'v2'] },
    { date: isoDay(3), dimension: 'source', value: 'github.com', views: 3, visitors: ['v2', 'v3'] },
    { date: isoDay(1), dimension: 'source', value: 'google.com', views: 5, visitors: ['v4'] },
    { date: isoDay(1), dimension: 'channel', value: 'Referral', views: 7, visitors: ['v1', 'v2'] },
    { date: isoDay(1), dimension: 'channel', value: 'Organic Search', views: 5, visitors: ['v4'] },
    { date: isoDay(1), dimension: 'utm_campaign', value: 'launch', views: 2, visitors: ['v1'] },
    { date: isoDay(1), dimension: 'utm_medium', value: 'email', views: 2, visitors: ['v1'] },
    { date: isoDay(1), dimension: 'browser', value: 'Firefox', views: 12, visitors: all },
    {
      date: isoDay(1),
      dimension: 'browser_version',
      value: 'Firefox 133',
      views: 12,
      visitors: all,
    },
    { date: isoDay(1), dimension: 'os', value: 'Linux', views: 12, visitors: all },
    { date: isoDay(1), dimension: 'device', value: 'desktop', views: 12, visitors: all },
    { date: isoDay(1), dimension: 'country', value: 'DE', views: 12, visitors: all },
    { date: isoDay(1), dimension: 'language', value: 'fr', views: 12, visitors: all },
  ])
}

test.group('Analytics page | dimensions', (group) => {
  let manager: TrackingManager

  group.each.setup(async () => {
    await truncateTrackingTables()
    const tracking = await useTrackingManager({ trackAnonymous: true })
    manager = tracking.manager
    await seedTraffic(manager)
    await seedDimensions()
    return () => tracking.cleanup()
  })

  test('the JSON has a list per dimension under the contract keys', async ({ client, assert }) => {
    const response = await loginAs(client.get('/cabinet/tracking?format=json&days=7'), 'staff')
    response.assertStatus(200)
    const body = response.body()
    assert.deepEqual(body, await selectorContext(manager, 7))
    assert.deepEqual(body.trackingSources.items, [
      { label: 'github.com', value: 7, share: 0.5833, visitors: 3 },
      { label: 'google.com', value: 5, share: 0.4167, visitors: 1 },
    ])
    const first: Record<string, string> = {
      trackingChannels: 'Referral',
      trackingCampaigns: 'launch',
      trackingBrowsers: 'Firefox',
      trackingOperatingSystems: 'Linux',
      trackingDevices: 'desktop',
      trackingCountries: 'DE',
      trackingLanguages: 'fr',
    }
    for (const [key, label] of Object.entries(first)) assert.equal(body[key].items[0].label, label)
    assert.isNull(body.filter)
  })

  test('?filter= narrows the views, visitors and chart, not the pages', async ({
    client,
    assert,
  }) => {
    const unfiltered = await loginAs(client.get('/cabinet/tracking?format=json&days=7'), 'staff')
    const plain = unfiltered.body()
    const response = await loginAs(
      client.get('/cabinet/tracking?format=json&days=7&filter=source:github.com'),
      'staff'
    )
    response.assertStatus(200)
    const body = response.body()
    assert.deepEqual(body.filter, { dimension: 'source', value: 'github.com' })
    assert.equal(plain.trackingTotalViews.value, SEEDED_VIEWS_LAST_7_DAYS)
    assert.equal(body.trackingTotalViews.value, 7)
    assert.equal(body.trackingUniqueVisitors.value, 3)
    assert.deepEqual(body.trackingViewsChart.series[0].values, [0, 0, 0, 3, 0, 4, 0])
    assert.deepEqual(body.trackingTopPages, plain.trackingTopPages)
    assert.deepEqual(body.trackingTrackedPages, plain.trackingTrackedPages)
    assert.deepEqual(body.trackingChannels, plain.trackingChannels)
    assert.deepEqual(
      body.trackingSources.items.map((item: { label: string }) => item.label),
      ['github.com']
    )
  })

  test('CSV datasets: one row per value, campaigns with their dimension', async ({
    client,
    assert,
  }) => {
    const sources = await loginAs(
      client.get('/cabinet/tracking/export.csv?days=7&dataset=sources'),
      'staff'
    )
    sources.assertStatus(200)
    assert.match(sources.header('content-type') ?? '', /^text\/csv/)
    assert.match(sources.header('content-disposition') ?? '', /filename="tracking-sources-/)
    assert.equal(
      sources.text(),
      'dimension,value,views,visitors,share\r\nsource,github.com,7,3,0.5833\r\nsource,google.com,5,1,0.4167\r\n'
    )
    const campaigns = await loginAs(
      client.get('/cabinet/tracking/export.csv?days=7&dataset=campaigns'),
      'staff'
    )
    assert.equal(
      campaigns.text(),
      'dimension,value,views,visitors,share\r\nutm_medium,email,2,1,1\r\nutm_campaign,launch,2,1,1\r\n'
    )
    for (const dataset of ['channels', 'browsers', 'os', 'devices', 'countries', 'languages']) {
      const csv = await loginAs(
        client.get(`/cabinet/tracking/export.csv?days=7&dataset=${dataset}`),
        'staff'
      )
      csv.assertStatus(200)
      assert.equal(csv.text().split('\r\n')[0], 'dimension,value,views,visitors,share', dataset)
      assert.isAbove(csv.text().split('\r\n').length, 2, dataset)
    }
    const browsers = await loginAs(
      client.get('/cabinet/tracking/export.csv?days=7&dataset=browsers'),
      'staff'
    )
    assert.include(browsers.text(), 'browser_version,Firefox 133,12,4,1')

    /* the filter narrows its own dimension and the daily series */
    const filtered = await loginAs(
      client.get('/cabinet/tracking/export.csv?days=7&dataset=sources&filter=source:google.com'),
      'staff'
    )
    assert.equal(
      filtered.text(),
      'dimension,value,views,visitors,share\r\nsource,google.com,5,1,0.4167\r\n'
    )
    const daily = await loginAs(
      client.get('/cabinet/tracking/export.csv?days=7&dataset=daily&filter=source:github.com'),
      'staff'
    )
    assert.include(daily.text(), `${isoDay(1)},4,2`)

    const unknown = await loginAs(
      client.get('/cabinet/tracking/export.csv?dataset=planets'),
      'staff'
    )
    unknown.assertStatus(422)
    assert.include(unknown.text(), 'dataset must be one of pages, daily, sources, channels')
  })

  test('a malformed filter or an unknown dimension gets 422 with a clear message', async ({
    client,
    assert,
  }) => {
    for (const filter of ['planet:mars', 'source', 'source:']) {
      const qs = `filter=${encodeURIComponent(filter)}`
      const json = await loginAs(client.get(`/cabinet/tracking?format=json&${qs}`), 'staff')
      json.assertStatus(422)
      assert.equal(json.body().errors[0].field, 'filter')
      assert.match(json.body().errors[0].message, /^filter must be <dimension>:<value>/)
      const csv = await loginAs(
        client.get(`/cabinet/tracking/export.csv?dataset=sources&${qs}`),
        'staff'
      )
      csv.assertStatus(422)
      assert.include(csv.text(), 'filter must be <dimension>:<value>')
      const page = await loginAs(client.get(`/cabinet/tracking?${qs}`), 'staff')
      page.assertStatus(422)
      assert.include(page.text(), 'role="alert"')
    }
  })

  test('the page shows the panels; values link to the filter, tabs are links', async ({
    client,
    assert,
  }) => {
    const page = await loginAs(client.get('/cabinet/tracking?days=7'), 'staff')
    page.assertStatus(200)
    const html = page.text()
    for (const key of [
      'trackingSources',
      'trackingCampaigns',
      'trackingBrowsers',
      'trackingOperatingSystems',
      'trackingDevices',
      'trackingCountries',
      'trackingLanguages',
    ]) {
      assert.include(html, `data-widget="${key}"`)
    }
    for (const title of [
      'Sources',
      'Campaigns',
      'Browsers',
      'Operating systems',
      'Devices',
      'Countries',
      'Languages',
    ]) {
      assert.match(html, new RegExp(`<h2 id="trk-tracking\\w+-title">${title}</h2>`))
    }
    assert.include(html, 'href="/cabinet/tracking?days=7&amp;filter=source%3Agithub.com"')
    assert.include(html, 'href="/cabinet/tracking?days=7&amp;sources_tab=channels"')
    assert.include(html, 'href="/cabinet/tracking?days=7&amp;campaigns_tab=medium"')
    assert.include(html, '· 3 visitors')
    assert.notInclude(html, '@if')
    assert.notInclude(html, 'class="trk-chip"')
    assert.notInclude(html, '<script')

    /* the Channels tab: its list in the Sources panel, the tab marked current */
    const tab = await loginAs(client.get('/cabinet/tracking?days=7&sources_tab=channels'), 'staff')
    const channels = tab.text()
    assert.include(channels, 'data-widget="trackingChannels"')
    assert.notInclude(channels, 'data-widget="trackingSources"')
    assert.include(channels, 'href="/cabinet/tracking?days=7">Sources</a>')
    assert.include(channels, 'aria-current="page">Channels</a>')
    assert.include(
      channels,
      'href="/cabinet/tracking?days=7&amp;sources_tab=channels&amp;filter=channel%3AReferral"'
    )
  })

  test('the active filter shows as a chip with a link that clears it, and says what it narrows', async ({
    client,
    assert,
  }) => {
    const page = await loginAs(
      client.get('/cabinet/tracking?days=7&filter=source:github.com&campaigns_tab=medium'),
      'staff'
    )
    page.assertStatus(200)
    const html = page.text()
    assert.include(html, 'class="trk-chip"')
    assert.include(html, 'Source: <strong>github.com</strong>')
    assert.include(
      html,
      'href="/cabinet/tracking?days=7&amp;campaigns_tab=medium" aria-label="Clear the filter'
    )
    assert.include(html, 'are not narrowed')
    /* the KPI is the source's views; range links keep the filter */
    assert.match(html, /data-widget="trackingTotalViews"[\s\S]*?>7</)
    assert.include(html, 'href="/cabinet/tracking?days=30&amp;filter=source%3Agithub.com"')
    assert.include(html, 'name="filter" value="source:github.com"')
    assert.include(html, 'filter=source%3Agithub.com&amp;dataset=daily')
  })
})

test.group('Analytics page | daily visitor counts that cannot be combined', (group) => {
  let manager: TrackingManager
  const today = DateTime.now().setZone(appSettings.timezone).startOf('day')
  const day = (ago: number) => today.minus({ days: ago }).toISODate()!

  group.each.setup(async () => {
    await truncateTrackingTables()
    const tracking = await useTrackingManager()
    manager = tracking.manager
    /* two imported days (daily counts, no sketch) and a flushed day with 10 visitors in its sketch */
    const sketch = RedisHll.empty()
    sketch.addAll(Array.from({ length: 10 }, (_, i) => `v${i}`))
    await db.table('tracking_daily_stats').multiInsert([
      { date: day(3), views: 10, unique_visitors: 7, visitors_sketch: null },
      { date: day(2), views: 8, unique_visitors: 5, visitors_sketch: null },
      {
        date: day(1),
        views: 20,
        unique_visitors: sketch.count(),
        visitors_sketch: sketch.toBuffer(),
      },
    ])
    await insertDimensionRows([
      { date: day(3), dimension: 'country', value: 'DE', views: 6, uniqueVisitors: 4 },
      { date: day(2), dimension: 'country', value: 'DE', views: 3, uniqueVisitors: 3 },
      { date: day(1), dimension: 'country', value: 'FR', views: 2, visitors: ['v1', 'v2'] },
    ])
    return () => tracking.cleanup()
  })

  test('the JSON: the least that is known, atLeast and upTo', async ({ client, assert }) => {
    const response = await loginAs(client.get('/cabinet/tracking?format=json&days=7'), 'staff')
    response.assertStatus(200)
    const body = response.body()
    assert.deepEqual(body, await selectorContext(manager, 7))
    /* the union of the sketches (10) is more than the largest daily count (7); at most 10 + 7 + 5 */
    assert.deepInclude(body.trackingUniqueVisitors, { value: 10, atLeast: true, upTo: 22 })
    assert.deepEqual(body.trackingCountries.items, [
      { label: 'DE', value: 9, share: 0.8182, visitors: 4, visitorsAtLeast: true, visitorsUpTo: 7 },
      { label: 'FR', value: 2, share: 0.1818, visitors: 2 },
    ])

    /* narrowed to DE: the value's own bounds */
    const filtered = await loginAs(
      client.get('/cabinet/tracking?format=json&days=7&filter=country:DE'),
      'staff'
    )
    assert.deepInclude(filtered.body().trackingUniqueVisitors, {
      value: 4,
      atLeast: true,
      upTo: 7,
    })
    /* narrowed to FR (a sketch only): exact, whatever the pages' figure is */
    const exact = await loginAs(
      client.get('/cabinet/tracking?format=json&days=7&filter=country:FR'),
      'staff'
    )
    assert.equal(exact.body().trackingUniqueVisitors.value, 2)
    assert.notProperty(exact.body().trackingUniqueVisitors, 'atLeast')
    assert.notProperty(exact.body().trackingUniqueVisitors, 'upTo')
  })

  test('one day with a daily count, or none, changes nothing', async ({ client, assert }) => {
    for (const [from, to, visitors] of [
      [day(3), day(3), 7],
      [day(1), day(0), 10],
    ] as const) {
      const response = await loginAs(
        client.get(`/cabinet/tracking?format=json&from=${from}&to=${to}`),
        'staff'
      )
      const metric = response.body().trackingUniqueVisitors
      assert.equal(metric.value, visitors)
      assert.notProperty(metric, 'atLeast')
      assert.notProperty(metric, 'upTo')
    }
    const page = await loginAs(client.get(`/cabinet/tracking?from=${day(3)}&to=${day(3)}`), 'staff')
    assert.match(page.text(), /data-widget="trackingUniqueVisitors"[\s\S]*?trk-kpi-value">7</)
    assert.notInclude(page.text(), 'at least')
  })

  test('the page shows "at least N" and "up to M", in the KPI and the lists', async ({
    client,
    assert,
  }) => {
    const response = await loginAs(client.get('/cabinet/tracking?days=7'), 'staff')
    response.assertStatus(200)
    const html = response.text()
    assert.match(
      html,
      /data-widget="trackingUniqueVisitors"[\s\S]*?trk-kpi-value"><span class="trk-kpi-bound">at least<\/span> 10<\/p>\s*<p class="trk-caption trk-kpi-upto">up to 22 \(days with daily counts only\)<\/p>/
    )
    /* the other KPIs are exact */
    assert.match(html, /data-widget="trackingTotalViews"[\s\S]*?trk-kpi-value">38</)
    assert.match(
      html,
      /data-widget="trackingCountries"[\s\S]*?>DE<[\s\S]*?· at least 4 visitors \(up to 7\)[\s\S]*?>FR<[\s\S]*?· 2 visitors</
    )
  })
})
