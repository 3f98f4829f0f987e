import { test } from '@japa/runner'
import type { TestContext } from '@japa/runner/core'
import app from '@adonisjs/core/services/app'
import db from '@adonisjs/lucid/services/db'
import { registerTrackingReadBindings } from '../../src/bindings.ts'
import { Cabinet } from '../../src/cabinet/registry.ts'
import { DashboardRegistry } from '../../src/cabinet/dashboard.ts'
import { declareTrackingCabinet, TRACKING_DASHBOARD_WIDGETS } from '../../src/cabinet/tracking.ts'
import { resolveSettings } from '../../src/settings.ts'
import { TrackingSelector } from '../../src/selector.ts'
import type { TrackingSettings } from '../../src/types.ts'
import type { AnalyticsRange, MetricWidgetData, WidgetData } from '../../src/widgets/types.ts'
import { buildManager, truncateTrackingTables } from '../helpers.ts'

const RANGE_A: AnalyticsRange = { from: '2026-03-01', to: '2026-03-07', days: 7 }
const RANGE_B: AnalyticsRange = { from: '2026-03-02', to: '2026-03-08', days: 7 }

function metric(value: number): MetricWidgetData {
  return { kind: 'metric', key: 'm', title: 'M', caption: 'c', value, trend: null }
}

/** Settings read through a counter, to prove when they are read */
function lazySettings(overrides: Parameters<typeof resolveSettings>[0] = {}) {
  const state = { reads: 0, settings: resolveSettings({ analyticsUrl: '/stats', ...overrides }) }
  return {
    state,
    settings: (): TrackingSettings => {
      state.reads++
      return state.settings
    },
  }
}

const noSelector = () => {
  throw new Error('the selector is not needed here')
}

test.group('Cabinet | registry and tracking declaration', () => {
  test('the tracking module declares a topbar entry, a staff sidebar item and widgets', async ({
    assert,
  }) => {
    const { state, settings } = lazySettings()
    const cabinet = declareTrackingCabinet(new Cabinet(), { settings, selector: noSelector })
    /* declaring reads nothing: settings are read when a page renders */
    assert.equal(state.reads, 0)
    assert.deepEqual(cabinet.modules(), ['tracking'])

    assert.deepEqual(await cabinet.topbar(), [
      {
        key: 'tracking.analytics',
        label: 'Analytics',
        url: '/stats',
        audience: 'staff',
        module: 'tracking',
        space: 'staff',
      },
    ])
    assert.deepEqual(await cabinet.sidebar({ space: 'staff' }), [
      {
        key: 'tracking.analytics',
        label: 'Analytics',
        url: '/stats',
        audience: 'staff',
        module: 'tracking',
        space: 'staff',
      },
    ])
    assert.deepEqual(await cabinet.sidebar({ audience: 'user' }), [])
    assert.deepEqual(await cabinet.sidebar({ space: 'account' }), [])
    const refs = await cabinet.dashboardWidgetRefs()
    assert.deepEqual(
      refs.map((ref) => ref.widget),
      [...TRACKING_DASHBOARD_WIDGETS]
    )
    assert.isAbove(state.reads, 0)

    /* a later settings change (e.g. a new analyticsUrl) is seen on the next render */
    state.settings = resolveSettings({ analyticsUrl: '/analytics' })
    const [entry] = await cabinet.topbar()
    assert.equal(entry.url, '/analytics')
  })

  test('no dashboard widgets when trackDashboardWidgets is false', async ({ assert }) => {
    const { settings } = lazySettings({ trackDashboardWidgets: false })
    const cabinet = declareTrackingCabinet(new Cabinet(), { settings, selector: noSelector })
    assert.deepEqual(await cabinet.dashboardWidgetRefs(), [])
    assert.deepEqual(await cabinet.dashboardWidgets(), [])
    /* the entries stay */
    assert.lengthOf(await cabinet.topbar(), 1)
  })

  test("audience 'user' keeps other modules' entries and widgets not marked staff", async ({
    assert,
  }) => {
    const { settings } = lazySettings()
    const cabinet = declareTrackingCabinet(new Cabinet(), { settings, selector: noSelector })
    cabinet.declare({
      module: 'booking',
      topbar: [
        { key: 'booking.mine', label: 'My bookings', url: '/b' },
        { key: 'booking.all', label: 'All bookings', url: '/b/all', audience: 'staff' },
      ],
      dashboardWidgets: [
        { provider: 'booking', widget: 'mine', audience: 'user' },
        { provider: 'booking', widget: 'all', audience: 'staff' },
      ],
    })
    const keys = (entries: Array<{ key: string }>) => entries.map((entry) => entry.key)
    assert.deepEqual(keys(await cabinet.topbar({ audience: 'user' })), ['booking.mine'])
    assert.deepEqual(keys(await cabinet.topbar({ audience: 'staff' })), [
      'tracking.analytics',
      'booking.mine',
      'booking.all',
    ])
    assert.deepEqual(await cabinet.dashboardWidgetRefs({ audience: 'user' }), [
      { provider: 'booking', widget: 'mine', audience: 'user' },
    ])
    const staffRefs = await cabinet.dashboardWidgetRefs({ audience: 'staff' })
    assert.deepEqual(
      staffRefs.map((ref) => ref.widget),
      [...TRACKING_DASHBOARD_WIDGETS, 'mine', 'all']
    )
  })

  test('declaring a module again replaces it; other modules keep their order', async ({
    assert,
  }) => {
    const cabinet = new Cabinet()
    cabinet.declare({ module: 'booking', topbar: [{ key: 'b', label: 'Booking', url: '/b' }] })
    cabinet.declare({
      module: 'tracking',
      topbar: async () => [{ key: 't', label: 'T', url: '/t' }],
    })
    cabinet.declare({ module: 'booking', topbar: [{ key: 'b2', label: 'Bookings', url: '/b2' }] })
    assert.deepEqual(cabinet.modules(), ['booking', 'tracking'])
    const entries = await cabinet.topbar()
    assert.deepEqual(
      entries.map((entry) => entry.key),
      ['b2', 't']
    )
    assert.throws(() => cabinet.declare({ module: '' }), /needs a module name/)
  })
})

test.group('Cabinet | dashboard provider cache', () => {
  test('results are cached per range for the TTL (60 s by default)', async ({ assert }) => {
    let now = 1_000_000
    const dashboard = new DashboardRegistry({ now: () => now })
    const calls: string[] = []
    dashboard.register({
      key: 'demo',
      cacheKey: 'demo.dashboard',
      defaultRange: () => RANGE_A,
      load: async (range) => {
        calls.push(range.from)
        return { m: metric(calls.length) }
      },
    })
    assert.equal(dashboard.cacheKeyOf('demo', RANGE_A), 'demo.dashboard:2026-03-01:2026-03-07')

    const first = await dashboard.load('demo')
    assert.deepEqual(await dashboard.load('demo', RANGE_A), first)
    assert.deepEqual(calls, ['2026-03-01'])
    /* another range is another entry */
    await dashboard.load('demo', RANGE_B)
    assert.deepEqual(calls, ['2026-03-01', '2026-03-02'])

    now += 59_999
    await dashboard.load('demo', RANGE_A)
    assert.lengthOf(calls, 2)
    now += 1
    const fresh = await dashboard.load('demo', RANGE_A)
    assert.lengthOf(calls, 3)
    assert.equal((fresh.m as MetricWidgetData).value, 3)

    dashboard.invalidate('demo')
    await dashboard.load('demo', RANGE_A)
    assert.lengthOf(calls, 4)
  })

  test('concurrent requests share one computation; failures are not cached', async ({ assert }) => {
    const dashboard = new DashboardRegistry()
    let calls = 0
    let fail = true
    dashboard.register({
      key: 'flaky',
      ttlMs: 1000,
      defaultRange: () => RANGE_A,
      load: async () => {
        calls++
        await new Promise((resolve) => setTimeout(resolve, 10))
        if (fail) throw new Error('database down')
        return { m: metric(1) } as Record<string, WidgetData>
      },
    })
    const results = await Promise.allSettled([dashboard.load('flaky'), dashboard.load('flaky')])
    assert.deepEqual(
      results.map((result) => result.status),
      ['rejected', 'rejected']
    )
    assert.equal(calls, 1)
    fail = false
    await dashboard.load('flaky')
    assert.equal(calls, 2)
    await assert.rejects(() => dashboard.load('missing'), /Unknown dashboard provider "missing"/)
  })
})

/**
 * A tracking manager with views of today (path, visitor) drained to Redis,
 * and a cabinet declared on its selector, counting the selector lookups
 */
async function trackingDashboard(cleanup: TestContext['cleanup'], views: string[][]) {
  const tracking = buildManager({ timezone: 'UTC', analyticsDays: 7 })
  cleanup(() => tracking.cleanup())
  const { manager } = tracking
  const selector = new TrackingSelector(manager, db)
  const today = selector.today()
  /* drain() only writes once the connection is ready */
  await manager.store.ping()
  for (const [path, visitor] of views) manager.recorder.recordView({ path, day: today, visitor })
  await manager.drain()
  let loads = 0
  const cabinet = declareTrackingCabinet(new Cabinet(), {
    settings: () => manager.settings,
    selector: () => {
      loads++
      return selector
    },
  })
  return { manager, selector, today, cabinet, loads: () => loads }
}

test.group('Cabinet | tracking dashboard on SQL + Redis', (group) => {
  group.each.setup(async () => {
    await truncateTrackingTables()
  })

  test('the dashboard shows the selector widgets, cached until the TTL', async ({
    assert,
    cleanup,
  }) => {
    const { manager, selector, today, cabinet, loads } = await trackingDashboard(cleanup, [
      ['/', 'u1'],
      ['/about', 'u2'],
    ])
    const widgets = await cabinet.dashboardWidgets({ space: 'staff' })
    assert.deepEqual(
      widgets.map((widget) => widget.key),
      [...TRACKING_DASHBOARD_WIDGETS]
    )
    const context = await selector.getAnalyticsContext(7, { perPage: 10 })
    assert.deepEqual(widgets[0], context.trackingTotalViews)
    assert.equal((widgets[0] as MetricWidgetData).value, 2)
    assert.equal(widgets[0].caption, 'last 7 days')
    /* the visit KPIs: two one-view visits */
    const byKey = new Map(widgets.map((widget) => [widget.key, widget as MetricWidgetData]))
    assert.deepEqual(byKey.get('trackingVisits'), context.trackingVisits)
    assert.equal(byKey.get('trackingVisits')!.value, 2)
    assert.equal(byKey.get('trackingBounceRate')!.value, 100)

    /* new traffic: the cached dashboard still shows 2 until the entry expires */
    manager.recorder.recordView({ path: '/', day: today, visitor: 'u3' })
    await manager.drain()
    const loadsBefore = loads()
    const cached = await cabinet.dashboardWidgets()
    assert.equal((cached[0] as MetricWidgetData).value, 2)
    assert.equal(loads(), loadsBefore + 1, 'only the default range is resolved')
    cabinet.dashboard.invalidate('tracking')
    const refreshed = await cabinet.dashboardWidgets()
    assert.equal((refreshed[0] as MetricWidgetData).value, 3)
  })

  test('audience {label}: {title}')
    .with([
      {
        label: 'staff',
        audience: 'staff' as const,
        title: 'the Analytics entries and the widgets with their data',
      },
      {
        label: 'none given',
        audience: undefined,
        title: 'no filter: all of it, for a page the host guarded itself',
      },
      {
        label: 'user',
        audience: 'user' as const,
        title: 'no analytics navigation and no analytics data',
      },
    ])
    .run(async ({ assert, cleanup }, { audience }) => {
      const { manager, cabinet, loads } = await trackingDashboard(cleanup, [
        ['/admin/secret', 'u1'],
      ])

      const topbar = await cabinet.topbar({ audience })
      const sidebar = await cabinet.sidebar({ audience })
      const widgets = await cabinet.dashboardWidgets({ audience })
      if (audience === 'user') {
        assert.deepEqual(topbar, [])
        assert.deepEqual(sidebar, [])
        assert.deepEqual(await cabinet.dashboardWidgetRefs({ audience }), [])
        assert.deepEqual(widgets, [])
        assert.equal(loads(), 0, 'nothing is read for a user')
        return
      }
      assert.deepEqual(
        [...topbar, ...sidebar].map((entry) => [entry.key, entry.url]),
        [
          ['tracking.analytics', manager.settings.analyticsUrl],
          ['tracking.analytics', manager.settings.analyticsUrl],
        ]
      )
      assert.deepEqual(
        widgets.map((widget) => widget.key),
        [...TRACKING_DASHBOARD_WIDGETS]
      )
      assert.equal((widgets[0] as MetricWidgetData).value, 1)
      assert.include(JSON.stringify(widgets.at(-1)), '/admin/secret')
    })

  test('registerTrackingReadBindings binds tracking.selector and tracking.cabinet', async ({
    assert,
  }) => {
    registerTrackingReadBindings(app)
    const selector = await app.container.make('tracking.selector')
    assert.instanceOf(selector, TrackingSelector)
    const cabinet = await app.container.make('tracking.cabinet')
    assert.strictEqual(await app.container.make('tracking.cabinet'), cabinet)
    assert.deepEqual(cabinet.modules(), ['tracking'])
    const manager = await app.container.make('tracking.manager')
    const [entry] = await cabinet.topbar()
    assert.equal(entry.url, manager.settings.analyticsUrl)
  })
})
