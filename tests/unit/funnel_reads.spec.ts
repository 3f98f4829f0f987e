/*
|--------------------------------------------------------------------------
| Funnels: the read side on both stores, live and flushed
|--------------------------------------------------------------------------
|
| Every funnel step is a row of the stored dimension `funnel`
| (funnelStepValue(): funnel, step from 1, goal): its views are the visits
| that reached the step, its sketch their visitors. The batches below are
| written straight into the store as the write path leaves them, so these
| specs pin the reads down: visitors per step (unions of sketches over the
| range, never sums), visits, drop-off and conversion rate, the same live,
| after a flush and across a flushed and a live day. Real Redis and the
| memory store; SQLite, PostgreSQL or MySQL as DB says.
|
*/

import { randomUUID } from 'node:crypto'
import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { flushPageViews } from '../../src/flush.ts'
import { funnelStepValue } from '../../src/funnels.ts'
import { TrackingSelector } from '../../src/selector.ts'
import { TRACKING_TABLES } from '../../src/tables.ts'
import type { TrackingManager } from '../../src/manager.ts'
import type { TrackingConfig, TrackingStoreName } from '../../src/types.ts'
import type { FunnelsWidgetData } from '../../src/widgets/types.ts'
import { buildManager, truncateTrackingTables, type TestTracking } from '../helpers.ts'

const DAY = '2026-06-10'
const PREVIOUS_DAY = '2026-06-09'
/** "now": noon of DAY in UTC */
const NOW = Date.parse(`${DAY}T12:00:00Z`)
const GOALS: TrackingConfig['goals'] = [
  { name: 'Pricing', path: '/pricing' },
  { name: 'Signup', event: 'signup' },
  { name: 'Checkout', event: 'checkout' },
]
const FUNNELS: TrackingConfig['funnels'] = [
  { name: 'Purchase', steps: ['Pricing', 'Signup', 'Checkout'] },
  { name: 'Quick', steps: ['Signup', 'Checkout'] },
]

function selectorOf(manager: TrackingManager) {
  return new TrackingSelector(manager, db, { now: () => NOW })
}

/**
 * Writes one batch of funnel step rows of a day, as the stores count them
 * when visits reach steps: step value -> [visits, visitors]
 */
async function writeSteps(
  manager: TrackingManager,
  day: string,
  steps: Array<[funnel: string, step: number, goal: string, visits: number, visitors: string[]]>
) {
  const dimensions = new Map(
    steps.map(([funnel, step, goal, views, visitors]) => [
      `funnel:${funnelStepValue(funnel, step, goal)}`,
      { views, visitors: new Set(visitors) },
    ])
  )
  await manager.store.write({
    id: randomUUID(),
    days: new Map([[day, { views: new Map(), visitors: new Set<string>(), dimensions }]]),
    minutes: new Map(),
  })
}

/** funnel -> [step, goal, visitors, visits, dropOff, conversionRate] per step */
function figures(data: FunnelsWidgetData) {
  return Object.fromEntries(
    data.funnels.map((funnel) => [
      funnel.name,
      funnel.items.map((step) => [
        step.step,
        step.name,
        step.visitors,
        step.visits,
        step.dropOff,
        step.conversionRate,
      ]),
    ])
  )
}

/**
 * 5 visitors reached Pricing (v1 in two visits: 6 visits), 3 of them then
 * Signup, 1 Checkout; Quick: 1 visit of v1 went Signup -> Checkout
 */
const TRAFFIC: Parameters<typeof writeSteps>[2] = [
  ['Purchase', 1, 'Pricing', 6, ['v1', 'v2', 'v3', 'v4', 'v5']],
  ['Purchase', 2, 'Signup', 3, ['v1', 'v2', 'v3']],
  ['Purchase', 3, 'Checkout', 1, ['v1']],
  ['Quick', 1, 'Signup', 2, ['v1', 'v6']],
  ['Quick', 2, 'Checkout', 1, ['v1']],
]

const EXPECTED = {
  Purchase: [
    [1, 'Pricing', 5, 6, null, 100],
    [2, 'Signup', 3, 3, 40, 60],
    [3, 'Checkout', 1, 1, 66.7, 20],
  ],
  Quick: [
    [1, 'Signup', 2, 2, null, 100],
    [2, 'Checkout', 1, 1, 50, 50],
  ],
}

for (const store of ['redis', 'memory'] as const satisfies TrackingStoreName[]) {
  test.group(`Funnels | reads | ${store} store`, (group) => {
    let tracking: TestTracking
    group.each.setup(async () => {
      await truncateTrackingTables()
      tracking = buildManager(
        { timezone: 'UTC', store, goals: GOALS, funnels: FUNNELS, bufferMs: 60_000 },
        { now: () => NOW }
      )
      return () => tracking.cleanup()
    })

    test('visitors, visits, drop-off and conversion rate per step: live = flushed = flushed twice', async ({
      assert,
    }) => {
      const { manager } = tracking
      const selector = selectorOf(manager)
      await writeSteps(manager, DAY, TRAFFIC)

      const live = await selector.funnels(1)
      assert.deepEqual(figures(live), EXPECTED)
      assert.equal(live.key, 'trackingFunnels')
      assert.equal(live.caption, 'today')

      await flushPageViews(manager, db)
      const rows = await db
        .from(TRACKING_TABLES.dimensionStats)
        .where('dimension', 'funnel')
        .select('value', 'views', 'unique_visitors')
      assert.sameDeepMembers(
        rows.map((row) => [row.value, Number(row.views), Number(row.unique_visitors)]),
        TRAFFIC.map(([funnel, step, goal, visits, visitors]) => [
          funnelStepValue(funnel, step, goal),
          visits,
          visitors.length,
        ])
      )
      assert.deepEqual(await manager.store.getDimension(DAY, 'funnel'), new Map())
      const flushed = await selector.funnels(1)
      assert.deepEqual(flushed, live)

      /* exactly once: a second flush adds nothing */
      await flushPageViews(manager, db)
      assert.deepEqual(await selector.funnels(1), live)

      /* live counts after the flush add to the stored rows; the visitors are a union */
      await writeSteps(manager, DAY, [
        ['Purchase', 2, 'Signup', 2, ['v4', 'v1']],
        ['Purchase', 3, 'Checkout', 1, ['v2']],
      ])
      assert.deepEqual(figures(await selector.funnels(1)).Purchase, [
        [1, 'Pricing', 5, 6, null, 100],
        [2, 'Signup', 4, 5, 20, 80],
        [3, 'Checkout', 2, 2, 50, 40],
      ])
    })

    test('the widgets: a list per funnel (label = goal, value = visitors, share of step 1), in config order', async ({
      assert,
    }) => {
      const { manager } = tracking
      await writeSteps(manager, DAY, TRAFFIC)
      const data = await selectorOf(manager).funnels(1)
      assert.equal(data.kind, 'funnels')
      assert.deepEqual(
        data.funnels.map((funnel) => [
          funnel.kind,
          funnel.key,
          funnel.title,
          funnel.unit,
          funnel.visitors,
          funnel.conversionRate,
        ]),
        [
          ['list', 'trackingFunnel1', 'Purchase', 'visitors', 5, 20],
          ['list', 'trackingFunnel2', 'Quick', 'visitors', 2, 50],
        ]
      )
      assert.deepEqual(
        data.funnels[0].items.map((item) => [item.label, item.value, item.share]),
        [
          ['Pricing', 5, 1],
          ['Signup', 3, 0.6],
          ['Checkout', 1, 0.2],
        ]
      )
    })

    test('a range of two days: visits are summed, visitors are the union (a flushed and a live day)', async ({
      assert,
    }) => {
      const { manager } = tracking
      const selector = selectorOf(manager)
      /* b and c reach both steps on both days: 4 visitors over the range, not 6 */
      await writeSteps(manager, PREVIOUS_DAY, [
        ['Purchase', 1, 'Pricing', 3, ['a', 'b', 'c']],
        ['Purchase', 2, 'Signup', 2, ['b', 'c']],
      ])
      await writeSteps(manager, DAY, [
        ['Purchase', 1, 'Pricing', 4, ['b', 'c', 'd']],
        ['Purchase', 2, 'Signup', 2, ['b', 'c']],
        ['Purchase', 3, 'Checkout', 1, ['c']],
      ])
      const range = { from: PREVIOUS_DAY, to: DAY }
      const expected = [
        [1, 'Pricing', 4, 7, null, 100],
        [2, 'Signup', 2, 4, 50, 50],
        [3, 'Checkout', 1, 1, 50, 25],
      ]
      assert.deepEqual(figures(await selector.funnels(range)).Purchase, expected)
      /* each day on its own */
      assert.deepEqual(
        figures(await selector.funnels({ from: PREVIOUS_DAY, to: PREVIOUS_DAY })).Purchase,
        [
          [1, 'Pricing', 3, 3, null, 100],
          [2, 'Signup', 2, 2, 33.3, 66.7],
          [3, 'Checkout', 0, 0, 100, 0],
        ]
      )

      /* the previous day in SQL, today live */
      await flushPageViews(manager, db, { date: PREVIOUS_DAY })
      assert.deepEqual(figures(await selector.funnels(range)).Purchase, expected)
      /* both in SQL */
      await flushPageViews(manager, db)
      assert.deepEqual(figures(await selector.funnels(range)).Purchase, expected)
      /* a range without the days: zeros, no drop-off without visitors before */
      assert.deepEqual(
        figures(await selector.funnels({ from: '2026-06-01', to: '2026-06-05' })).Purchase,
        [
          [1, 'Pricing', 0, 0, null, 0],
          [2, 'Signup', 0, 0, 0, 0],
          [3, 'Checkout', 0, 0, 0, 0],
        ]
      )
    })

    test('the analytics context carries trackingFunnels, the same as selector.funnels()', async ({
      assert,
    }) => {
      const { manager } = tracking
      const selector = selectorOf(manager)
      await writeSteps(manager, DAY, TRAFFIC)
      const live = await selector.getAnalyticsContext(1)
      assert.deepEqual(live.trackingFunnels, await selector.funnels(1))
      assert.deepEqual(figures(live.trackingFunnels!), EXPECTED)
      await flushPageViews(manager, db)
      const flushed = await selector.getAnalyticsContext(1)
      assert.deepEqual(flushed.trackingFunnels, live.trackingFunnels)
      /* funnel rows are no page views and no visitors of the day */
      assert.equal(flushed.trackingTotalViews.value, 0)
      assert.equal(flushed.trackingUniqueVisitors.value, 0)
    })

    test('a step row of a goal no longer in the funnel is not read; without funnels, none', async ({
      assert,
    }) => {
      const { manager } = tracking
      /* Purchase once had Docs as its second step */
      await writeSteps(manager, DAY, [
        ['Purchase', 1, 'Pricing', 2, ['v1', 'v2']],
        ['Purchase', 2, 'Docs', 2, ['v1', 'v2']],
      ])
      assert.deepEqual(figures(await selectorOf(manager).funnels(1)).Purchase, [
        [1, 'Pricing', 2, 2, null, 100],
        [2, 'Signup', 0, 0, 100, 0],
        [3, 'Checkout', 0, 0, 0, 0],
      ])

      await tracking.cleanup()
      tracking = buildManager({ timezone: 'UTC', store, goals: GOALS }, { now: () => NOW })
      await writeSteps(tracking.manager, DAY, TRAFFIC)
      const selector = selectorOf(tracking.manager)
      const none = await selector.funnels(1)
      assert.deepEqual(none.funnels, [])
      const context = await selector.getAnalyticsContext(1)
      assert.deepEqual(context.trackingFunnels?.funnels, [])
    })
  })
}
