import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { errors } from '../../index.ts'
import type { DimensionName } from '../../src/dimensions/names.ts'
import { OTHER_VALUE } from '../../src/dimensions/names.ts'
import { flushPageViews } from '../../src/flush.ts'
import { parseDimensionFilter } from '../../src/read/filter.ts'
import { TrackingSelector } from '../../src/selector.ts'
import { TRACKING_TABLES } from '../../src/tables.ts'
import type { TrackingManager } from '../../src/manager.ts'
import type { TrackingStoreName } from '../../src/types.ts'
import type { TrackingBatch } from '../../src/stores/types.ts'
import {
  buildManager,
  near,
  storeBatch,
  truncateTrackingTables,
  type TestTracking,
} from '../helpers.ts'
import { insertDimensionRows, type DimensionRowInput } from '../dimension_rows.ts'
import { clusterForGroup } from '../redis_cluster.ts'

/*
|--------------------------------------------------------------------------
| Dimension reads (selector.breakdown, the context lists, the filter)
|--------------------------------------------------------------------------
|
| The SQL side is written as the flush writes it: one row per (date,
| dimension, value) with its views, its unique visitors and its visitors
| as Redis HyperLogLog bytes. Live counts come from the stores once they
| keep dimensions (see the "through the recorder" group, when it exists).
|
*/

const D1 = '2026-03-08'
const D2 = '2026-03-09'
const D3 = '2026-03-10'
const D6 = '2026-03-13'
/** "now" of the selectors: noon of D6 in UTC */
const NOW = Date.parse(`${D6}T12:00:00Z`)

function ids(from: number, to: number, prefix = 'v'): string[] {
  const out: string[] = []
  for (let i = from; i <= to; i++) out.push(`${prefix}${i}`)
  return out
}

function selectorOf(manager: TrackingManager) {
  return new TrackingSelector(manager, db, { now: () => NOW })
}

function setup(
  group: {
    setup(fn: () => Promise<() => Promise<void>>): void
    each: { setup(fn: () => Promise<() => Promise<void>>): void }
  },
  store: TrackingStoreName | 'cluster'
) {
  const state = { tracking: undefined as unknown as TestTracking }
  /* cluster: the Redis store on a local three-node Redis Cluster */
  const cluster = store === 'cluster' ? clusterForGroup(group) : null
  group.each.setup(async () => {
    await truncateTrackingTables()
    state.tracking =
      store === 'cluster'
        ? buildManager({ timezone: 'UTC', store: 'redis' }, { client: () => cluster!.client() })
        : buildManager({ timezone: 'UTC', store })
    return () => state.tracking.cleanup()
  })
  return state
}

/** A small data set: sources over D1..D3, a few other dimensions */
async function sample() {
  await insertDimensionRows([
    { date: D1, dimension: 'source', value: 'github.com', views: 5, visitors: ids(1, 3) },
    { date: D2, dimension: 'source', value: 'github.com', views: 4, visitors: ids(2, 5) },
    { date: D1, dimension: 'source', value: 'google.com', views: 6, visitors: ids(10, 15) },
    { date: D3, dimension: 'source', value: 'Direct / None', views: 2, visitors: ids(20, 21) },
    { date: D3, dimension: 'source', value: OTHER_VALUE, views: 2, visitors: ids(30, 30) },
    { date: D3, dimension: 'source', value: 'bing.com', views: 1, visitors: ids(40, 40) },
    /* out of the ranges read below */
    { date: '2026-02-01', dimension: 'source', value: 'old.example', views: 99, visitors: ['x'] },
    { date: D1, dimension: 'channel', value: 'Referral', views: 9, visitors: ids(1, 5) },
    { date: D1, dimension: 'channel', value: 'Organic Search', views: 6, visitors: ids(10, 15) },
    { date: D2, dimension: 'utm_campaign', value: 'launch', views: 3, visitors: ids(2, 4) },
    { date: D2, dimension: 'browser', value: 'Firefox', views: 7, visitors: ids(1, 7) },
    { date: D2, dimension: 'os', value: 'Linux', views: 7, visitors: ids(1, 7) },
    { date: D2, dimension: 'device', value: 'desktop', views: 7, visitors: ids(1, 7) },
    { date: D2, dimension: 'country', value: 'DE', views: 7, visitors: ids(1, 7) },
    { date: D2, dimension: 'language', value: 'fr', views: 7, visitors: ids(1, 7) },
  ])
}

for (const store of ['redis', 'memory'] as const) {
  test.group(`Breakdown | SQL rows (${store} store)`, (group) => {
    const state = setup(group, store)

    test('values ranked by views over the range, shares of the dimension, visitors unioned', async ({
      assert,
    }) => {
      await sample()
      const list = await selectorOf(state.tracking.manager).breakdown('source', {
        from: D1,
        to: D3,
      })
      assert.equal(list.kind, 'list')
      assert.equal(list.key, 'trackingSources')
      assert.equal(list.dimension, 'source')
      assert.equal(list.caption, `${D1} to ${D3}`)
      /* 20 views: github 9, google 6, Direct 2, (other) 2, bing 1 */
      assert.deepEqual(
        list.items.map((item) => [item.label, item.value, item.share]),
        [
          ['github.com', 9, 0.45],
          ['google.com', 6, 0.3],
          ['(other)', 2, 0.1],
          ['Direct / None', 2, 0.1],
          ['bing.com', 1, 0.05],
        ]
      )
      /* github.com: v1..v3 on D1, v2..v5 on D2: 5 distinct, not 7 */
      assert.deepEqual(
        list.items.map((item) => item.visitors),
        [5, 6, 1, 2, 1]
      )
    })

    test('the limit keeps the top values, ties by value in code point order', async ({
      assert,
    }) => {
      const rows: DimensionRowInput[] = []
      for (let i = 0; i < 40; i++) {
        rows.push({
          date: D1,
          dimension: 'browser',
          value: `B${String(i).padStart(2, '0')}`,
          views: i % 8,
          visitors: [`b${i}`],
        })
        rows.push({
          date: D2,
          dimension: 'browser',
          value: `B${String(i).padStart(2, '0')}`,
          views: 1,
        })
      }
      await insertDimensionRows(rows)
      const list = await selectorOf(state.tracking.manager).breakdown(
        'browser',
        { from: D1, to: D3 },
        { limit: 6 }
      )
      assert.deepEqual(
        list.items.map((item) => [item.label, item.value]),
        [
          ['B07', 8],
          ['B15', 8],
          ['B23', 8],
          ['B31', 8],
          ['B39', 8],
          ['B06', 7],
        ]
      )
      /* the total is every value's views, not only the listed ones */
      const total = 40 + 5 * (0 + 1 + 2 + 3 + 4 + 5 + 6 + 7)
      assert.equal(list.items[0].share, Math.round((8 / total) * 10_000) / 10_000)
      assert.deepEqual(
        list.items.map((item) => item.visitors),
        [1, 1, 1, 1, 1, 1]
      )
    })

    test('a filter on the dimension keeps its value; on another dimension it changes nothing', async ({
      assert,
    }) => {
      await sample()
      const selector = selectorOf(state.tracking.manager)
      const range = { from: D1, to: D3 }
      const only = await selector.breakdown('source', range, { filter: 'source:google.com' })
      assert.deepEqual(
        only.items.map((item) => [item.label, item.value, item.share, item.visitors]),
        [['google.com', 6, 0.3, 6]]
      )
      const absent = await selector.breakdown('source', range, { filter: 'source:nowhere.test' })
      assert.deepEqual(absent.items, [])
      const other = await selector.breakdown('channel', range, { filter: 'source:google.com' })
      assert.deepEqual(
        other.items.map((item) => [item.label, item.value]),
        [
          ['Referral', 9],
          ['Organic Search', 6],
        ]
      )
    })

    test('rows without a sketch (old flushes, imports) give the least their days make sure of', async ({
      assert,
    }) => {
      await insertDimensionRows([
        { date: D1, dimension: 'country', value: 'FR', views: 4, uniqueVisitors: 3 },
        { date: D2, dimension: 'country', value: 'FR', views: 2, uniqueVisitors: 2 },
      ])
      const list = await selectorOf(state.tracking.manager).breakdown('country', {
        from: D1,
        to: D2,
      })
      /* 3 on one day and 2 on the other: at least 3, up to 5 (daily counts do not combine) */
      assert.deepEqual(list.items, [
        { label: 'FR', value: 6, share: 1, visitors: 3, visitorsAtLeast: true, visitorsUpTo: 5 },
      ])
    })

    test('the analytics context lists every dimension under its contract key', async ({
      assert,
    }) => {
      await sample()
      const context = await selectorOf(state.tracking.manager).getAnalyticsContext({
        from: D1,
        to: D3,
      })
      const keys = {
        trackingSources: 'github.com',
        trackingChannels: 'Referral',
        trackingCampaigns: 'launch',
        trackingBrowsers: 'Firefox',
        trackingOperatingSystems: 'Linux',
        trackingDevices: 'desktop',
        trackingCountries: 'DE',
        trackingLanguages: 'fr',
      } as const
      for (const [key, first] of Object.entries(keys)) {
        const list = context[key as keyof typeof keys]!
        assert.equal(list.kind, 'list', key)
        assert.equal(list.key, key)
        assert.equal(list.items[0]?.label, first, key)
      }
      assert.deepEqual(context.trackingUtmMediums?.items, [])
      assert.equal(context.trackingCampaigns?.dimension, 'utm_campaign')
      assert.isNull(context.filter)
      /* JSON keeps the shape */
      const json = JSON.parse(JSON.stringify(context))
      assert.deepEqual(json.trackingCountries.items, [
        { label: 'DE', value: 7, share: 1, visitors: 7 },
      ])
    })

    test('a filter narrows the views, visitors, chart and trends, not the pages', async ({
      assert,
    }) => {
      const { manager } = state.tracking
      /* page views: 30 on D1..D3, 8 in the previous range */
      await manager.store.write(
        storeBatch(
          {
            [D1]: { '/a': 10 },
            [D2]: { '/a': 10, '/b': 5 },
            [D3]: { '/c': 5 },
            '2026-03-06': { '/a': 8 },
          },
          { [D1]: ids(1, 20), [D2]: ids(1, 20) }
        )
      )
      await flushPageViews(manager, db)
      await sample()
      await insertDimensionRows([
        {
          date: '2026-03-06',
          dimension: 'source',
          value: 'github.com',
          views: 3,
          visitors: ids(1, 2),
        },
      ])
      const selector = selectorOf(manager)
      const range = { from: D1, to: D3 }
      const plain = await selector.getAnalyticsContext(range)
      assert.equal(plain.trackingTotalViews.value, 30)

      const context = await selector.getAnalyticsContext(range, { filter: 'source:github.com' })
      assert.deepEqual(context.filter, { dimension: 'source', value: 'github.com' })
      assert.equal(context.trackingTotalViews.value, 9)
      near(assert, context.trackingUniqueVisitors.value, 5)
      assert.deepEqual(context.trackingViewsChart.labels, [D1, D2, D3])
      assert.deepEqual(context.trackingViewsChart.series[0].values, [5, 4, 0])
      assert.deepEqual(context.trackingViewsChart.series[1].values, [3, 4, 0])
      /* the previous range (D5..D7 of March minus 3: 03-05..03-07) had 3 views of github.com */
      assert.equal(context.trackingTotalViews.trend?.previous, 3)
      assert.equal(context.trackingTotalViews.trend?.label, '+200%')
      assert.equal(context.trackingUniqueVisitors.trend?.previous, 2)
      /* not narrowed: pages, tracked pages, the other lists */
      assert.deepEqual(context.trackingTopPages, plain.trackingTopPages)
      assert.deepEqual(context.trackingTrackedPages, plain.trackingTrackedPages)
      assert.deepEqual(context.trackingChannels, plain.trackingChannels)
      assert.deepEqual(
        context.trackingSources?.items.map((item) => item.label),
        ['github.com']
      )
      /* `campaign` is utm_campaign */
      const campaign = await selector.getAnalyticsContext(range, { filter: 'campaign:launch' })
      assert.equal(campaign.trackingTotalViews.value, 3)
      assert.deepEqual(campaign.filter, { dimension: 'utm_campaign', value: 'launch' })
    })

    test('an unknown dimension or a malformed filter is a clear error', async ({ assert }) => {
      const selector = selectorOf(state.tracking.manager)
      await assert.rejects(
        () => selector.getAnalyticsContext(7, { filter: 'planet:mars' }),
        /Invalid analytics filter: .*"planet" is not a dimension/
      )
      await assert.rejects(
        () => selector.breakdown('source', 7, { filter: 'source:' }),
        /the value is missing/
      )
      await assert.rejects(
        () => selector.breakdown('planet' as DimensionName, 7),
        /unknown dimension "planet"/
      )
      try {
        await selector.breakdown('source', 7, { filter: 'nope' })
        assert.fail('no error')
      } catch (error) {
        assert.instanceOf(error, errors.E_TRACKING_INVALID_FILTER)
      }
    })
  })
}

/** A store batch of one day with dimension counts: `source:github.com` -> [views, visitors] */
function dimensionBatch(
  day: string,
  views: Record<string, number>,
  dimensions: Record<string, [views: number, visitors: string[]]>
): TrackingBatch {
  const all = new Set(Object.values(dimensions).flatMap(([, visitors]) => visitors))
  return {
    days: new Map([
      [
        day,
        {
          views: new Map(Object.entries(views)),
          visitors: all,
          dimensions: new Map(
            Object.entries(dimensions).map(([key, [count, visitors]]) => [
              key,
              { views: count, visitors: new Set(visitors) },
            ])
          ),
        },
      ],
    ]),
    minutes: new Map(),
  }
}

/**
 * Whether the stores keep dimension counts yet (the storage part of #14):
 * until then the live cases below are skipped, then they run on their own
 */
async function storesKeepDimensions(): Promise<boolean> {
  const { manager, cleanup } = buildManager({ timezone: 'UTC' }, { store: 'memory' })
  try {
    manager.buffer.addView(D1, '/', 'a', null, 0, ['source:x.test'])
    await manager.drain()
    const live = await manager.store.getDimension(D1, 'source')
    return live.get('x.test') === 1
  } finally {
    await cleanup()
  }
}
const LIVE_DIMENSIONS = await storesKeepDimensions()
const NOT_YET = 'the stores do not keep dimension counts yet'

for (const store of ['redis', 'memory', 'cluster'] as const) {
  test.group(`Breakdown | live counts and the flush (${store} store)`, (group) => {
    const state = setup(group, store)

    test('live, taken aside by a running flush, and flushed: the same figures', async ({
      assert,
    }) => {
      const { manager } = state.tracking
      const selector = selectorOf(manager)
      const range = { from: D1, to: D6 }
      await insertDimensionRows([
        { date: D2, dimension: 'source', value: 'github.com', views: 2, visitors: ['b', 'd'] },
      ])
      await manager.store.write(
        dimensionBatch(
          D3,
          { '/': 4 },
          {
            'source:github.com': [3, ['a', 'b']],
            'source:google.com': [1, ['c']],
            'channel:Referral': [3, ['a', 'b']],
          }
        )
      )
      const expected = [
        ['github.com', 5, 3],
        ['google.com', 1, 1],
      ]
      const read = async () => {
        const list = await selector.breakdown('source', range)
        const context = await selector.getAnalyticsContext(range, { filter: 'source:github.com' })
        return {
          items: list.items.map((item) => [item.label, item.value, item.visitors]),
          views: context.trackingTotalViews.value,
          visitors: context.trackingUniqueVisitors.value,
          chart: context.trackingViewsChart.series[0].values,
        }
      }
      const live = await read()
      assert.deepEqual(live.items, expected)
      assert.equal(live.views, 5)
      assert.equal(live.visitors, 3)
      assert.deepEqual(live.chart, [0, 2, 3, 0, 0, 0])

      /* a flush that took the day aside and has not committed: still counted once */
      assert.isTrue(await manager.store.takeAside(D3, 'flush-under-way'))
      assert.deepEqual(await read(), live)

      /* the flush (it recovers the taken-aside counts) moves them into SQL */
      await flushPageViews(manager, db)
      assert.deepEqual(await read(), live)
      const rows = await db
        .from(TRACKING_TABLES.dimensionStats)
        .where('dimension', 'source')
        .where('value', 'github.com')
        .sum('views as views')
        .first()
      assert.equal(Number(rows.views), 5)

      /* new live views add to the flushed rows */
      await manager.store.write(dimensionBatch(D3, { '/': 1 }, { 'source:google.com': [5, ['e']] }))
      const list = await selector.breakdown('source', range)
      assert.deepEqual(
        list.items.map((item) => [item.label, item.value, item.visitors]),
        [
          ['google.com', 6, 2],
          ['github.com', 5, 3],
        ]
      )
    }).skip(!LIVE_DIMENSIONS, NOT_YET)

    test('views recorded through the write buffer: the same figures live and flushed', async ({
      assert,
    }) => {
      const { manager } = state.tracking
      const selector = selectorOf(manager)
      const views: Array<[day: string, visitor: string, dimensions: string[]]> = [
        [D2, 'u1', ['source:github.com', 'channel:Referral', 'browser:Firefox']],
        [D3, 'u1', ['source:github.com', 'channel:Referral', 'browser:Firefox']],
        [D3, 'u2', ['source:github.com', 'channel:Referral', 'browser:Safari']],
        [D3, 'u3', ['source:google.com', 'channel:Organic Search', 'browser:Firefox']],
        [D3, 'u4', ['browser:Firefox']],
      ]
      for (const [day, visitor, dimensions] of views) {
        manager.buffer.addView(day, '/', visitor, null, 0, dimensions)
      }
      await manager.drain()
      const range = { from: D1, to: D6 }
      const read = async () => {
        const lists = await selector.breakdowns(['source', 'channel', 'browser'], range)
        const context = await selector.getAnalyticsContext(range, { filter: 'source:github.com' })
        const plain = await selector.getAnalyticsContext(range)
        return {
          lists: Object.fromEntries(
            [...lists].map(([dimension, list]) => [
              dimension,
              [list.total, ...list.rows.map((row) => [row.value, row.views, row.visitors])],
            ])
          ),
          views: context.trackingTotalViews.value,
          visitors: context.trackingUniqueVisitors.value,
          chart: context.trackingViewsChart.series,
          all: plain.trackingTotalViews.value,
        }
      }
      const live = await read()
      assert.deepEqual(live.lists, {
        source: [4, ['github.com', 3, 2], ['google.com', 1, 1]],
        channel: [4, ['Referral', 3, 2], ['Organic Search', 1, 1]],
        browser: [5, ['Firefox', 4, 3], ['Safari', 1, 1]],
      })
      assert.equal(live.all, 5)
      assert.equal(live.views, 3)
      assert.equal(live.visitors, 2)
      assert.deepEqual(live.chart[0].values, [0, 1, 2, 0, 0, 0])
      assert.deepEqual(live.chart[1].values, [0, 1, 2, 0, 0, 0])

      await flushPageViews(manager, db)
      assert.deepEqual(await manager.store.pendingDays(), [])
      assert.deepEqual(await read(), live)
    }).skip(!LIVE_DIMENSIONS, NOT_YET)
  })
}

test.group('Breakdown | filter text', () => {
  test('dimension names, the campaign alias, colons in values, cut values', ({ assert }) => {
    assert.deepEqual(parseDimensionFilter('source:github.com'), {
      dimension: 'source',
      value: 'github.com',
    })
    assert.deepEqual(parseDimensionFilter(' Campaign : spring:sale '), {
      dimension: 'utm_campaign',
      value: 'spring:sale',
    })
    assert.deepEqual(parseDimensionFilter('os_version:14'), {
      dimension: 'os_version',
      value: '14',
    })
    const long = parseDimensionFilter(`utm_term:${'é'.repeat(150)}`)
    assert.deepEqual(long, { dimension: 'utm_term', value: 'é'.repeat(100) })
    assert.property(parseDimensionFilter('sources:x'), 'problem')
    assert.property(parseDimensionFilter('source'), 'problem')
    assert.property(parseDimensionFilter(':x'), 'problem')
  })
})
