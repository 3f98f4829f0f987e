import { test } from '@japa/runner'
import { createHash, randomUUID } from 'node:crypto'
import db from '@adonisjs/lucid/services/db'
import { flushPageViews } from '../../src/flush.ts'
import { E_TRACKING_INVALID_RANGE } from '../../src/errors.ts'
import { TrackingSelector, comparePaths } from '../../src/selector.ts'
import { TrackingKeys } from '../../src/stores/keys.ts'
import { PathSketch, SPARSE_LIMIT, hashPath } from '../../src/stores/path_sketch.ts'
import type { TrackingManager } from '../../src/manager.ts'
import { buildTrend, rangeCaption } from '../../src/widgets/builders.ts'
import {
  buildManager,
  redisClient,
  truncateTrackingTables,
  type TestTracking,
  storeBatch as batch,
} from '../helpers.ts'

const D1 = '2026-03-08'
const D2 = '2026-03-09'
const D3 = '2026-03-10'
const D4 = '2026-03-11'
const D5 = '2026-03-12'
const D6 = '2026-03-13'
/** "now" of the selectors below: noon of D6 in UTC */
const NOW = Date.parse(`${D6}T12:00:00Z`)

function visitors(from: number, to: number, prefix = 'u'): string[] {
  const out: string[] = []
  for (let i = from; i <= to; i++) out.push(`${prefix}${i}`)
  return out
}

function selectorOf(manager: TrackingManager, now: number | null = NOW) {
  return new TrackingSelector(manager, db, now === null ? {} : { now: () => now })
}

async function flush(manager: TrackingManager) {
  return flushPageViews(manager, db)
}

/** Every test: empty tables, its own Redis key prefix, cleaned afterwards */
function setup(group: { each: { setup(fn: () => Promise<() => Promise<void>>): void } }) {
  const state = { tracking: undefined as unknown as TestTracking }
  group.each.setup(async () => {
    await truncateTrackingTables()
    state.tracking = buildManager({ timezone: 'UTC' })
    return () => state.tracking.cleanup()
  })
  return state
}

test.group('Selector | seed cases on SQL + Redis', (group) => {
  const state = setup(group)

  test('live counts are added to the flushed rows of the same day', async ({ assert }) => {
    const { manager } = state.tracking
    await manager.store.write(batch({ [D5]: { '/a': 3, '/b': 1 } }, { [D5]: ['u1', 'u2'] }))
    const summary = await flush(manager)
    assert.equal(summary.views, 4)
    await manager.store.write(batch({ [D5]: { '/a': 2, '/c': 4 } }, { [D5]: ['u2', 'u3'] }))

    const selector = selectorOf(manager)
    assert.deepEqual(Object.fromEntries(await selector.dailyCounts(D5)), {
      '/a': 5,
      '/b': 1,
      '/c': 4,
    })
    assert.equal(await selector.totalViews(D5), 10)
    assert.deepEqual(await selector.topPages(D5, 2), [
      { path: '/a', views: 5 },
      { path: '/c', views: 4 },
    ])
    assert.equal(await selector.uniqueVisitors(D5), 3)
  })

  test('multi-day totals combine SQL days and live days', async ({ assert }) => {
    const { manager } = state.tracking
    await manager.store.write(batch({ [D1]: { '/a': 3 }, [D2]: { '/a': 1 } }))
    await flush(manager)
    await manager.store.write(batch({ [D2]: { '/b': 2 }, [D3]: { '/c': 5 } }))

    const selector = selectorOf(manager)
    const totals = await selector.multiDayTotals([D3, D1, D2, D4])
    assert.deepEqual(
      [...totals],
      [
        [D3, 5],
        [D1, 3],
        [D2, 3],
        [D4, 0],
      ]
    )
    assert.equal(await selector.totalViewsForRange({ from: D1, to: D3 }), 11)
    assert.deepEqual(await selector.topPagesForRange({ from: D1, to: D4 }), [
      { path: '/c', views: 5 },
      { path: '/a', views: 4 },
      { path: '/b', views: 2 },
    ])
  })

  test('skip prefixes hide paths in SQL rows and live data, in top pages and totals', async ({
    assert,
  }) => {
    const { manager, keyPrefix } = state.tracking
    await manager.store.write(batch({ [D5]: { '/admin/users': 7, '/a': 2, '/adminx': 1 } }))
    await flush(manager)
    await manager.store.write(
      batch({ [D5]: { '/admin/live': 4, '/a': 1 }, [D6]: { '/admin/': 9 } })
    )

    /* the same data read with /admin/ added to skipPrefixes after it was recorded */
    const later = buildManager({ keyPrefix, timezone: 'UTC', skipPrefixes: ['/admin/'] })
    try {
      const selector = selectorOf(later.manager)
      assert.deepEqual(Object.fromEntries(await selector.dailyCounts(D5)), {
        '/a': 3,
        '/adminx': 1,
      })
      assert.deepEqual(await selector.topPagesForRange({ from: D5, to: D6 }), [
        { path: '/a', views: 3 },
        { path: '/adminx', views: 1 },
      ])
      assert.equal(await selector.totalViews(D5), 4)
      assert.equal(await selector.totalViews(D6), 0)
      assert.equal(await selector.trackedPagesForRange({ from: D5, to: D6 }), 2)

      const context = await selector.getAnalyticsContext({ from: D5, to: D6 })
      assert.equal(context.trackingTotalViews.value, 4)
      assert.equal(context.trackingTrackedPages.value, 2)
      assert.deepEqual(context.trackingViewsChart.series[0].values, [4, 0])
      assert.deepEqual(
        context.trackingRecentPageViews.rows.map((row) => row.path),
        ['/a', '/adminx']
      )

      /* without the prefix, everything counts again */
      const all = selectorOf(manager)
      assert.equal(await all.totalViewsForRange({ from: D5, to: D6 }), 24)
    } finally {
      await later.manager.shutdown()
    }
  })

  test('the context carries today: views, visitors, chart, top pages, table, realtime', async ({
    assert,
  }) => {
    const { manager } = state.tracking
    const selector = selectorOf(manager, null)
    const today = selector.today()
    const yesterday = selector.resolveRange(2).from
    /* drain() only writes once the connection is ready */
    await manager.store.ping()
    for (const [path, visitor, count] of [
      ['/', 'u1', 3],
      ['/', 'u2', 2],
      ['/about', 'u1', 2],
    ] as const) {
      for (let i = 0; i < count; i++) manager.recorder.recordView({ path, day: today, visitor })
    }
    manager.recorder.recordView({
      path: '/',
      day: yesterday,
      visitor: 'u9',
      at: Date.now() - 86_400_000,
    })
    await manager.drain()
    await flush(manager)
    manager.recorder.recordView({ path: '/pricing', day: today, visitor: 'u3' })
    await manager.drain()

    const context = await selector.getAnalyticsContext(7)
    assert.equal(context.range.days, 7)
    assert.equal(context.range.to, today)
    assert.equal(context.trackingTotalViews.value, 9)
    assert.equal(context.trackingTotalViews.caption, 'last 7 days')
    assert.isNull(context.trackingTotalViews.trend)
    assert.equal(context.trackingUniqueVisitors.value, 4)
    assert.equal(context.trackingTrackedPages.value, 3)
    assert.deepEqual(context.trackingViewsChart.labels.slice(-2), [yesterday, today])
    assert.deepEqual(context.trackingViewsChart.series[0].values, [0, 0, 0, 0, 0, 1, 8])
    assert.deepEqual(context.trackingViewsChart.series[1].values, [0, 0, 0, 0, 0, 1, 3])
    assert.deepEqual(
      context.trackingTopPages.items.map((item) => [item.label, item.value, item.share]),
      [
        ['/', 6, 0.6667],
        ['/about', 2, 0.2222],
        ['/pricing', 1, 0.1111],
      ]
    )
    assert.deepEqual(context.trackingRecentPageViews.rows, [
      { path: '/', views: 6 },
      { path: '/about', views: 2 },
      { path: '/pricing', views: 1 },
    ])
    assert.equal(context.trackingRecentPageViews.total, 3)
    /* u9 was seen yesterday, not in the last 5 minutes */
    assert.equal(context.realtimeVisitors, 3)

    const todayOnly = await selector.getAnalyticsContext(1)
    assert.equal(todayOnly.trackingTotalViews.caption, 'today')
    assert.equal(todayOnly.trackingTotalViews.value, 8)
    /* 8 today against 1 yesterday */
    assert.equal(todayOnly.trackingTotalViews.trend?.label, '+700%')

    /* the payloads carry no presentation */
    assert.notMatch(JSON.stringify(context), /color|icon|class|#[0-9a-f]{3,6}\b/i)
  })

  test('search and pagination of the page-views table', async ({ assert }) => {
    const { manager } = state.tracking
    await manager.store.write(
      batch({ [D5]: { '/blog/a': 5, '/blog/b': 4, '/about': 3, '/Blog/C': 2, '/100%_off': 1 } })
    )
    await flush(manager)
    await manager.store.write(batch({ [D6]: { '/blog/d': 6 } }))
    const selector = selectorOf(manager)
    const range = { from: D5, to: D6 }

    const page2 = await selector.getAnalyticsContext(range, { page: 2, perPage: 2 })
    assert.deepEqual(page2.trackingRecentPageViews.rows, [
      { path: '/blog/b', views: 4 },
      { path: '/about', views: 3 },
    ])
    assert.equal(page2.trackingRecentPageViews.total, 6)
    assert.equal(page2.trackingRecentPageViews.page, 2)

    const blog = await selector.getAnalyticsContext(range, { search: 'BLOG', perPage: 3 })
    assert.deepEqual(
      blog.trackingRecentPageViews.rows.map((row) => row.path),
      ['/blog/d', '/blog/a', '/blog/b']
    )
    assert.equal(blog.trackingRecentPageViews.total, 4)
    /* LIKE wildcards are plain characters */
    const percent = await selector.getAnalyticsContext(range, { search: '%_' })
    assert.deepEqual(percent.trackingRecentPageViews.rows, [{ path: '/100%_off', views: 1 }])
    assert.equal(percent.trackingRecentPageViews.total, 1)
    /* the top pages ignore the search */
    assert.equal(blog.trackingTopPages.items.length, 6)
  })
})

test.group('Selector | unique visitors and comparison', (group) => {
  const state = setup(group)

  test('range uniques are the HLL union of stored sketches and live days', async ({ assert }) => {
    const { manager, keyPrefix } = state.tracking
    const keys = new TrackingKeys(keyPrefix)
    await manager.store.write(
      batch(
        { [D1]: { '/': 1 }, [D2]: { '/': 1 } },
        { [D1]: visitors(1, 50), [D2]: visitors(26, 75) }
      )
    )
    await flush(manager)
    /* the live keys of the flushed days expire: only the stored sketches remain */
    await redisClient().del(keys.visitors(D1), keys.visitors(D2))
    await manager.store.write(batch({ [D3]: { '/': 1 } }, { [D3]: [...visitors(51, 100), 'u1'] }))

    const stored = await db
      .from('tracking_daily_stats')
      .whereIn('date', [D1, D2])
      .select('visitors_sketch')
    assert.lengthOf(stored, 2)
    assert.isTrue(stored.every((row) => row.visitors_sketch && row.visitors_sketch.length > 0))

    const selector = selectorOf(manager)
    const union = await selector.uniqueVisitorsForRange({ from: D1, to: D3 })

    /* the same visitors in one HyperLogLog: a union of HLLs is exactly that */
    const reference = `${keys.tag}:test-reference-${randomUUID()}`
    await redisClient().pfadd(reference, ...visitors(1, 100))
    const expected = await redisClient().pfcount(reference)
    await redisClient().del(reference)

    assert.equal(union, expected)
    assert.closeTo(union, 100, 2)
    /* not a sum of days (50 + 50 + 51) */
    assert.equal(
      await selector.uniqueVisitors(D1),
      await selector.uniqueVisitorsForRange({ from: D1, to: D1 })
    )
    const context = await selector.getAnalyticsContext({ from: D1, to: D3 })
    assert.equal(context.trackingUniqueVisitors.value, expected)
  })

  test('comparison figures match a hand-computed fixture', async ({ assert }) => {
    const { manager } = state.tracking
    /* previous range D1..D3: 20 views, 10 visitors, 2 pages */
    await manager.store.write(
      batch(
        { [D1]: { '/a': 10 }, [D2]: { '/a': 5, '/b': 3 }, [D3]: { '/b': 2 } },
        { [D1]: visitors(1, 6), [D2]: visitors(4, 10), [D3]: ['u1'] }
      )
    )
    await flush(manager)
    /* current range D4..D6: 25 views, 9 visitors, 4 pages; D6 stays live */
    await manager.store.write(
      batch(
        { [D4]: { '/a': 10, '/c': 5 }, [D5]: { '/d': 4 } },
        { [D4]: visitors(1, 5), [D5]: visitors(3, 7) }
      )
    )
    await flush(manager)
    await manager.store.write(batch({ [D6]: { '/a': 4, '/b': 2 } }, { [D6]: ['u8', 'u9', 'u1'] }))

    const selector = selectorOf(manager)
    const comparison = await selector.compare({ from: D4, to: D6 })
    assert.deepEqual(comparison.previous, {
      range: { from: D1, to: D3, days: 3 },
      totalViews: 20,
      uniqueVisitors: 10,
      trackedPages: 2,
    })
    assert.deepEqual(comparison.current, {
      range: { from: D4, to: D6, days: 3 },
      totalViews: 25,
      uniqueVisitors: 9,
      trackedPages: 4,
    })
    assert.deepEqual(comparison.trends.totalViews, {
      percent: 25,
      label: '+25%',
      direction: 'up',
      previous: 20,
    })
    assert.deepEqual(comparison.trends.uniqueVisitors, {
      percent: -10,
      label: '-10%',
      direction: 'down',
      previous: 10,
    })
    assert.equal(comparison.trends.trackedPages?.label, '+100%')

    const context = await selector.getAnalyticsContext({ from: D4, to: D6 })
    assert.deepEqual(context.previousRange, { from: D1, to: D3, days: 3 })
    assert.equal(context.trackingTotalViews.trend?.label, '+25%')
    assert.equal(context.trackingUniqueVisitors.trend?.label, '-10%')
    assert.equal(context.trackingTotalViews.caption, 'last 3 days')
    assert.deepEqual(context.trackingViewsChart.series[0].values, [15, 4, 6])
    assert.deepEqual(
      context.trackingTopPages.items.map((item) => [item.label, item.value]),
      [
        ['/a', 14],
        ['/c', 5],
        ['/d', 4],
        ['/b', 2],
      ]
    )

    /* a base of 0 has no trend */
    const empty = await selector.compare({ from: '2026-01-01', to: '2026-01-03' })
    assert.isNull(empty.trends.totalViews)
  })
})

test.group('Selector | exactness', (group) => {
  const state = setup(group)

  test('counts a running flush took aside and SQL has not committed, once', async ({ assert }) => {
    const { manager } = state.tracking
    await manager.store.write(batch({ [D5]: { '/a': 3 } }))
    await flush(manager)
    await manager.store.write(batch({ [D5]: { '/a': 2, '/b': 1 } }))
    assert.isTrue(await manager.store.takeAside(D5, 'crashed-flush'))
    await manager.store.write(batch({ [D5]: { '/b': 1 } }))

    const selector = selectorOf(manager)
    assert.deepEqual(Object.fromEntries(await selector.dailyCounts(D5)), { '/a': 5, '/b': 2 })
    assert.equal(await selector.totalViews(D5), 7)

    /* committed by a recovering flush, but not yet dropped from Redis: counted once */
    const crash = await flushPageViews(manager, db, {
      hooks: {
        afterCommit: (taken) => {
          if (taken.flushId === 'crashed-flush') throw new Error('crash after commit')
        },
      },
    }).then(
      () => null,
      (error: Error) => error
    )
    assert.equal(crash?.message, 'crash after commit')
    const left = await manager.store.takenFlushes()
    assert.deepEqual(
      left.map((taken) => taken.flushId),
      ['crashed-flush']
    )
    assert.deepEqual(Object.fromEntries(await selector.dailyCounts(D5)), { '/a': 5, '/b': 2 })
    assert.equal(await selector.totalViews(D5), 7)
    await flush(manager)
    assert.equal(await selector.totalViews(D5), 7)
  })

  test('exported pages are the ranked rows, also when the SQL answer is cut short', async ({
    assert,
  }) => {
    const { manager } = state.tracking
    const stored: Record<string, number> = { '/assets/x.js': 500 }
    for (let i = 0; i < 40; i++) stored[`/s/${i}`] = 100 - i * 2
    await manager.store.write(batch({ [D4]: stored }))
    await flush(manager)
    /* live paths: one near the bottom of SQL that climbs to the top, ties, new paths */
    await manager.store.write(
      batch({ [D5]: { '/s/39': 200, '/s/1': 2, '/s/3': 6, '/new': 90, '/assets/y.js': 999 } })
    )
    const selector = selectorOf(manager)
    const range = { from: D1, to: D6 }
    for (const limit of [0, 1, 5, 12, 100]) {
      const ranked = await selector.pagesForRange(range, { perPage: limit })
      assert.deepEqual([...(await selector.exportPages(range, { limit }))], ranked.rows, `${limit}`)
    }
    const searched = await selector.pagesForRange(range, { perPage: 100, search: '/S/3' })
    assert.deepEqual([...(await selector.exportPages(range, { search: '/S/3' }))], searched.rows)
    assert.deepEqual(
      [...(await selector.exportPages(range, { limit: 3 }))],
      [
        { path: '/s/39', views: 222 },
        { path: '/s/0', views: 100 },
        { path: '/s/1', views: 100 },
      ]
    )
  })

  test('ranked pages equal a brute-force ranking (ties, live, pruning)', async ({ assert }) => {
    const { manager } = state.tracking
    const days = [D1, D2, D3, D4, D5]
    const expected = new Map<string, number>()
    let seed = 7
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    /* zipf-like views on 300 paths, so the threshold prunes, with ties */
    const write = async (day: string, paths: number) => {
      const views: Record<string, number> = {}
      for (let rank = 1; rank <= paths; rank++) {
        const path = `/p/${Math.floor(random() * 300)}`
        const count = Math.max(1, Math.round(400 / rank))
        views[path] = (views[path] ?? 0) + count
        expected.set(path, (expected.get(path) ?? 0) + count)
      }
      await manager.store.write(batch({ [day]: views }))
    }
    for (const day of days) await write(day, 200)
    await flush(manager)
    await write(D4, 50)
    await write(D5, 50)

    const brute = [...expected]
      .map(([path, views]) => ({ path, views }))
      .sort((a, b) => b.views - a.views || comparePaths(a.path, b.path))
    const selector = selectorOf(manager)
    const range = { from: D1, to: D5 }
    for (const limit of [1, 5, 10, 37]) {
      assert.deepEqual(
        await selector.topPagesForRange(range, limit),
        brute.slice(0, limit),
        `top ${limit}`
      )
    }
    const page = await selector.pagesForRange(range, { page: 3, perPage: 20 })
    assert.deepEqual(page.rows, brute.slice(40, 60))
    assert.equal(page.total, brute.length)
    const single = await selector.topPages(D2, 5)
    const rowsD2 = await db.from('tracking_page_views').where('date', D2).select('path', 'views')
    const bruteD2 = rowsD2
      .map((row) => ({ path: row.path as string, views: Number(row.views) }))
      .sort((a, b) => b.views - a.views || comparePaths(a.path, b.path))
    assert.deepEqual(single, bruteD2.slice(0, 5))
  })

  test('ranges are validated with a clear error', async ({ assert }) => {
    const selector = selectorOf(state.tracking.manager)
    assert.throws(
      () => selector.resolveRange({ from: D3, to: D1 }),
      /from "2026-03-10" is after to "2026-03-08"/
    )
    assert.throws(
      () => selector.resolveRange({ from: '2025-01-01', to: '2026-01-02' }),
      /the range covers 367 days; at most 366 are allowed/
    )
    assert.throws(
      () => selector.resolveRange({ from: '2026-02-30', to: D1 }),
      /Invalid date for "from"/
    )
    assert.throws(() => selector.resolveRange(0), /days must be a whole number/)
    await assert.rejects(
      () => selector.getAnalyticsContext({ from: D3, to: D1 }),
      E_TRACKING_INVALID_RANGE as any
    )
    assert.deepEqual(selector.resolveRange(7), { from: '2026-03-07', to: D6, days: 7 })
    assert.deepEqual(selector.resolveRange({ from: D1, to: D1, days: 9 }), {
      from: D1,
      to: D1,
      days: 1,
    })
  })
})

test.group('Selector | tracked pages', (group) => {
  const state = setup(group)

  /** `count` paths `/p/<from>`, `/p/<from + 1>`, ... with 1 to 3 views each */
  function pages(from: number, count: number, prefix = '/p/'): Record<string, number> {
    const out: Record<string, number> = {}
    for (let i = from; i < from + count; i++) out[`${prefix}${i}`] = 1 + (i % 3)
    return out
  }

  /** Views per path over days of batches, to rank by brute force */
  function brute(...days: Array<Record<string, number>>) {
    const sums = new Map<string, number>()
    for (const views of days) {
      for (const [path, count] of Object.entries(views)) {
        sums.set(path, (sums.get(path) ?? 0) + count)
      }
    }
    return sums
  }

  test('exact up to 2,048 paths, within 3% beyond; views and top pages stay exact', async ({
    assert,
  }) => {
    const { manager, keyPrefix } = state.tracking
    const d4 = pages(0, 1500)
    const d5 = { ...pages(1000, 1800), ...pages(0, 120, '/admin/') }
    const d6 = { ...pages(2900, 300), '/admin/live': 5, '/p/7': 40 }
    await manager.store.write(batch({ [D4]: d4, [D5]: d5 }))
    await flush(manager)
    await manager.store.write(batch({ [D6]: d6 }))

    const later = buildManager({ keyPrefix, timezone: 'UTC', skipPrefixes: ['/admin/'] })
    try {
      const selector = selectorOf(later.manager)
      /* one day below the exact limit: exact, /admin/ paths taken off by name */
      assert.equal(await selector.trackedPagesForRange({ from: D4, to: D4 }), 1500)
      assert.equal(await selector.trackedPagesForRange({ from: D5, to: D5 }), 1800)

      /* /p/0../p/2799 and /p/2900../p/3199 over three days: a HyperLogLog estimate */
      const range = { from: D4, to: D6 }
      const tracked = await selector.trackedPagesForRange(range)
      assert.closeTo(tracked, 3100, 3100 * 0.03)
      const context = await selector.getAnalyticsContext(range)
      assert.equal(context.trackingTrackedPages.value, tracked)

      /* views and rankings are exact, /admin/ hidden everywhere */
      const sums = brute(d4, d5, d6)
      const visible = [...sums].filter(([path]) => !path.startsWith('/admin/'))
      const total = visible.reduce((sum, [, views]) => sum + views, 0)
      assert.equal(await selector.totalViewsForRange(range), total)
      assert.equal(context.trackingTotalViews.value, total)
      const ranked = visible
        .map(([path, views]) => ({ path, views }))
        .sort((a, b) => b.views - a.views || comparePaths(a.path, b.path))
      assert.deepEqual(await selector.topPagesForRange(range, 25), ranked.slice(0, 25))
      assert.deepEqual(
        context.trackingTopPages.items.map((item) => ({ path: item.label, views: item.value })),
        ranked.slice(0, 10)
      )
      const page = await selector.pagesForRange(range, { page: 7, perPage: 50 })
      assert.deepEqual(page.rows, ranked.slice(300, 350))
    } finally {
      await later.manager.shutdown()
    }
  }).timeout(30_000)

  test('a table page near the end of an estimated count gets the exact total', async ({
    assert,
  }) => {
    const { manager } = state.tracking
    await manager.store.write(batch({ [D5]: pages(0, 2600) }))
    await flush(manager)
    await manager.store.write(batch({ [D6]: pages(2500, 150) }))
    const selector = selectorOf(manager)
    const range = { from: D5, to: D6 }

    const first = await selector.getAnalyticsContext(range, { perPage: 100 })
    assert.closeTo(first.trackingRecentPageViews.total, 2650, 2650 * 0.03)
    const last = await selector.getAnalyticsContext(range, { page: 27, perPage: 100 })
    assert.equal(last.trackingRecentPageViews.total, 2650)
    assert.lengthOf(last.trackingRecentPageViews.rows, 50)
    const ranked = await selector.pagesForRange(range, { page: 27, perPage: 100 })
    assert.equal(ranked.total, 2650)
    assert.deepEqual(ranked.rows, last.trackingRecentPageViews.rows)
  }).timeout(30_000)

  test('days stored without a path sketch are counted from their rows', async ({ assert }) => {
    const { manager } = state.tracking
    /* rows written by something else than the flush: no path sketch */
    await db.table('tracking_page_views').multiInsert([
      { path: '/old/a', date: D2, views: 2 },
      { path: '/old/b', date: D2, views: 1 },
      { path: '/shared', date: D2, views: 1 },
    ])
    await db.table('tracking_daily_stats').insert({ date: D2, views: 4, unique_visitors: 0 })
    await manager.store.write(batch({ [D3]: { '/shared': 2, '/new': 1 } }))
    await flush(manager)
    await manager.store.write(batch({ [D4]: { '/live': 1, '/new': 1 } }))

    const selector = selectorOf(manager)
    assert.equal(await selector.trackedPagesForRange({ from: D2, to: D4 }), 5)
    assert.equal(await selector.trackedPagesForRange({ from: D2, to: D2 }), 3)
    assert.equal(await selector.totalViewsForRange({ from: D2, to: D4 }), 9)
  })

  test('nested and repeated skip prefixes take each skipped view off once', async ({ assert }) => {
    const { manager, keyPrefix } = state.tracking
    await manager.store.write(
      batch({
        [D5]: {
          '/admin/users/1': 4,
          '/admin/x': 2,
          '/static/app.css': 3,
          '/a': 5,
          '/adminx': 1,
        },
      })
    )
    await flush(manager)
    const later = buildManager({
      keyPrefix,
      timezone: 'UTC',
      skipPrefixes: ['/admin/users/', '/admin/', '/static/', '/admin/users/1'],
    })
    try {
      const selector = selectorOf(later.manager)
      assert.equal(await selector.totalViews(D5), 6)
      assert.equal(await selector.trackedPagesForRange({ from: D5, to: D5 }), 2)
      assert.deepEqual(await selector.topPages(D5), [
        { path: '/a', views: 5 },
        { path: '/adminx', views: 1 },
      ])
    } finally {
      await later.manager.shutdown()
    }
  })
})

test.group('PathSketch', () => {
  test('exact while small: union, removal and bytes round trip', ({ assert }) => {
    const day1 = new PathSketch()
    const day2 = new PathSketch()
    for (const path of ['/a', '/b', '/c']) day1.add(path)
    for (const path of ['/c', '/d', '/\u{1F600}']) day2.add(path)
    const union = PathSketch.fromBuffer(day1.toBuffer())!
    assert.isTrue(union.merge(day2.toBuffer()))
    /* merging the same day again changes nothing */
    assert.isTrue(union.merge(day2))
    assert.equal(union.count(), 5)
    assert.isTrue(union.exact)
    assert.isTrue(union.delete('/b'))
    assert.equal(union.count(), 4)
  })

  test('the hash and the bytes are pinned: sketches stored in SQL stay readable', ({ assert }) => {
    /* changing hashPath or the byte layout makes every stored sketch count wrong */
    assert.deepEqual(
      ['/', '/a', '/A', '/about', '/\u{1F600}', '/posts/42'].map((path) => hashPath(path)),
      [
        111275533514432, 109441006202205, 96091131162082, 99897438639557, 178345856939618,
        178785356137164,
      ]
    )
    const small = new PathSketch()
    for (const path of ['/a', '/b', '/c']) small.add(path)
    const bytes = '016389384c6d5dbee792630e0fc04a5f649683'
    assert.equal(small.toBuffer().toString('hex'), bytes)
    /* bytes written by an earlier version read back as the same set */
    const stored = PathSketch.fromBuffer(Buffer.from(bytes, 'hex'))!
    assert.equal(stored.count(), 3)
    assert.isTrue(stored.delete('/b'))
    assert.equal(stored.count(), 2)

    const dense = new PathSketch()
    for (let i = 0; i <= SPARSE_LIMIT; i++) dense.add(`/posts/${i}`)
    const registers = dense.toBuffer()
    assert.equal(registers.length, 1 + 2 ** 14)
    assert.equal(
      createHash('sha256').update(registers).digest('hex'),
      '0b2a01f85c55e36841b4276956f51e76f8e91d96d24b765a2a034f5f900e27f5'
    )
    assert.equal(PathSketch.fromBuffer(registers)!.count(), 2052)
  })

  test('a HyperLogLog beyond 2,048 paths, within 3% at every size', ({ assert }) => {
    for (const size of [SPARSE_LIMIT + 1, 5_000, 20_000, 60_000, 200_000]) {
      const sketch = new PathSketch()
      for (let i = 0; i < size; i++) sketch.add(`/posts/${i}`)
      assert.isFalse(sketch.exact)
      assert.closeTo(sketch.count(), size, size * 0.03, `${size} paths`)
      assert.isFalse(sketch.delete('/posts/1'))
      /* the bytes hold the same registers */
      assert.equal(PathSketch.fromBuffer(sketch.toBuffer())!.count(), sketch.count())
    }
    /* a union of overlapping halves counts the overlap once */
    const left = new PathSketch()
    const right = new PathSketch()
    for (let i = 0; i < 30_000; i++) left.add(`/x/${i}`)
    for (let i = 20_000; i < 50_000; i++) right.add(`/x/${i}`)
    left.merge(right.toBuffer())
    assert.closeTo(left.count(), 50_000, 1_500)
  })

  test('bytes that are not a sketch are refused', ({ assert }) => {
    assert.isNull(PathSketch.fromBuffer(null))
    assert.isNull(PathSketch.fromBuffer(Buffer.alloc(0)))
    assert.isNull(PathSketch.fromBuffer(Buffer.from('hello')))
    assert.isNull(PathSketch.fromBuffer(Buffer.from([0x01, 1, 2, 3])))
    const registers = Buffer.alloc(2 ** 14 + 1)
    registers[0] = 0x02
    registers[5] = 200
    assert.isNull(PathSketch.fromBuffer(registers))
  })
})

test.group('Selector | widget builders', () => {
  test('trend labels, null when the base is 0', ({ assert }) => {
    assert.deepEqual(buildTrend(125, 100), {
      percent: 25,
      label: '+25%',
      direction: 'up',
      previous: 100,
    })
    assert.deepEqual(buildTrend(90, 100), {
      percent: -10,
      label: '-10%',
      direction: 'down',
      previous: 100,
    })
    assert.deepEqual(buildTrend(100, 100), {
      percent: 0,
      label: '0%',
      direction: 'flat',
      previous: 100,
    })
    assert.equal(buildTrend(1000, 999)?.label, '0%')
    assert.isNull(buildTrend(5, 0))
  })

  test('captions match the real window', ({ assert }) => {
    assert.equal(rangeCaption({ from: D6, to: D6, days: 1 }, D6), 'today')
    assert.equal(rangeCaption({ from: D5, to: D5, days: 1 }, D6), 'yesterday')
    assert.equal(rangeCaption({ from: '2026-03-07', to: D6, days: 7 }, D6), 'last 7 days')
    assert.equal(rangeCaption({ from: D1, to: D3, days: 3 }, D6), `${D1} to ${D3}`)
  })

  test('code point order of paths, as SQL binary collations sort', ({ assert }) => {
    const paths = ['/b', '/a', '/\u{1F600}', '/\uFFFD', '/A', '/a/b']
    assert.deepEqual([...paths].sort(comparePaths), [
      '/A',
      '/a',
      '/a/b',
      '/b',
      '/\uFFFD',
      '/\u{1F600}',
    ])
  })
})
