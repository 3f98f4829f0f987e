/*
|--------------------------------------------------------------------------
| Events and goals: both stores, the flush, the reads
|--------------------------------------------------------------------------
|
| The acceptance of issue #16 (without funnels) through the recorder and
| the selector: 5 visitors view /pricing, 3 of them sign up (plans pro, pro,
| free): Signup 3 conversions, Pricing 5, the plan breakdown pro 2 / free 1,
| live and after a flush (and a second flush adds nothing). Real Redis and
| the memory store; SQLite, PostgreSQL or MySQL as DB says.
|
*/

import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { flushPageViews } from '../../src/flush.ts'
import { TrackingSelector } from '../../src/selector.ts'
import { TRACKING_TABLES } from '../../src/tables.ts'
import type { TrackingManager } from '../../src/manager.ts'
import type { TrackingConfig, TrackingStoreName } from '../../src/types.ts'
import type { AnalyticsContext } from '../../src/widgets/types.ts'
import {
  EVENT_PART_SEPARATOR,
  MAX_EVENT_NAME_LENGTH,
  MAX_EVENT_PROPS,
  MAX_PROP_LENGTH,
  OTHER_VALUE,
} from '../../src/dimensions/names.ts'
import { buildManager, dbName, truncateTrackingTables, type TestTracking } from '../helpers.ts'

const DAY = '2026-06-10'
const PREVIOUS_DAY = '2026-06-09'
/** "now": noon of DAY in UTC */
const NOW = Date.parse(`${DAY}T12:00:00Z`)
const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0'
const GOALS: TrackingConfig['goals'] = [
  { name: 'Signup', event: 'signup' },
  { name: 'Pricing', path: '/pricing' },
  { name: 'Docs', path: '/docs/*' },
]

/** The part of an HttpContext the recorder reads */
function fakeCtx(options: { user: number; url: string; method?: string; status?: number }) {
  const headers = { 'user-agent': UA, 'host': 'app.example' }
  return {
    request: {
      url: () => options.url,
      method: () => options.method ?? 'GET',
      ip: () => '203.0.113.7',
      header: (name: string) => (headers as Record<string, string>)[name],
      request: { headers, url: options.url },
    },
    response: { getStatus: () => options.status ?? 200 },
    auth: { user: { id: options.user } },
  } as any
}

function selectorOf(manager: TrackingManager) {
  return new TrackingSelector(manager, db, { now: () => NOW })
}

/** The figures of the acceptance, as the context shows them */
function figures(context: AnalyticsContext) {
  const goals = Object.fromEntries(
    context.trackingGoals!.items.map((goal) => [
      goal.name,
      [goal.visitors, goal.completions, goal.conversionRate],
    ])
  )
  const signup = context.trackingEvents!.items.find((item) => item.name === 'signup')
  return {
    goals,
    signup: signup && {
      count: signup.count,
      visitors: signup.visitors,
      plan: signup.props.plan?.map((one) => [one.value, one.count]),
      pages: signup.pages.map((one) => [one.path, one.count]),
    },
    signupGoalPlans: context.trackingGoals!.items[0].props?.plan?.map((one) => [
      one.value,
      one.count,
    ]),
    visitors: context.trackingUniqueVisitors.value,
    views: context.trackingTotalViews.value,
  }
}

/** 5 visitors view /pricing (and 2 of them /docs/intro), 3 of them sign up: pro, pro, free */
function acceptanceTraffic(manager: TrackingManager) {
  for (let user = 1; user <= 5; user++) {
    assert(manager.recorder.record(fakeCtx({ user, url: '/pricing' })))
  }
  manager.recorder.record(fakeCtx({ user: 1, url: '/docs/intro' }))
  manager.recorder.record(fakeCtx({ user: 2, url: '/docs/' }))
  manager.recorder.record(fakeCtx({ user: 2, url: '/docs' }))
  for (const [user, plan] of [
    [1, 'pro'],
    [2, 'pro'],
    [3, 'free'],
  ] as const) {
    assert(
      manager.event(fakeCtx({ user, url: '/signup', method: 'POST', status: 201 }), 'signup', {
        plan,
      })
    )
  }
}

function assert(value: boolean): void {
  if (!value) throw new Error('the recorder did not count it')
}

const EXPECTED = {
  goals: {
    Signup: [3, 3, 60],
    Pricing: [5, 5, 100],
    Docs: [2, 2, 40],
  },
  signup: {
    count: 3,
    visitors: 3,
    plan: [
      ['pro', 2],
      ['free', 1],
    ],
    pages: [['/signup', 3]],
  },
  signupGoalPlans: [
    ['pro', 2],
    ['free', 1],
  ],
  visitors: 5,
  views: 8,
}

for (const store of ['redis', 'memory'] as const satisfies TrackingStoreName[]) {
  test.group(`Events and goals | ${store} store`, (group) => {
    let tracking: TestTracking
    group.each.setup(async () => {
      await truncateTrackingTables()
      tracking = buildManager(
        { timezone: 'UTC', store, goals: GOALS, bufferMs: 60_000 },
        { now: () => NOW }
      )
      return () => tracking.cleanup()
    })

    test('the acceptance: Signup 3, Pricing 5, plans pro 2 / free 1, live and flushed', async ({
      assert: a,
    }) => {
      const { manager } = tracking
      const selector = selectorOf(manager)
      acceptanceTraffic(manager)
      await manager.drain()

      const live = figures(await selector.getAnalyticsContext(1))
      a.deepEqual(live, EXPECTED)

      const summary = await flushPageViews(manager, db)
      a.equal(summary.views, 8)
      a.deepEqual(figures(await selector.getAnalyticsContext(1)), EXPECTED)
      /* the rows: `views` of an event row counts completions */
      const rows = await db
        .from(TRACKING_TABLES.dimensionStats)
        .where('date', DAY)
        .whereIn('dimension', ['event', 'event_prop', 'event_page', 'goal'])
        .select('dimension', 'value', 'views', 'unique_visitors')
      const stored = Object.fromEntries(
        rows.map((row) => [
          `${row.dimension}:${row.value}`,
          [Number(row.views), Number(row.unique_visitors)],
        ])
      )
      const s = EVENT_PART_SEPARATOR
      a.deepEqual(stored, {
        'event:signup': [3, 3],
        [`event_prop:signup${s}plan${s}pro`]: [2, 2],
        [`event_prop:signup${s}plan${s}free`]: [1, 1],
        [`event_page:signup${s}/signup`]: [3, 3],
        'goal:/pricing': [5, 5],
        'goal:/docs/*': [2, 2],
      })

      /* exactly once: a second flush adds nothing */
      await flushPageViews(manager, db)
      a.deepEqual(figures(await selector.getAnalyticsContext(1)), EXPECTED)

      /* live counts after the flush add to the stored rows */
      manager.event(fakeCtx({ user: 4, url: '/signup', method: 'POST' }), 'signup', {
        plan: 'free',
      })
      await manager.drain()
      const more = figures(await selector.getAnalyticsContext(1))
      a.deepEqual(more.goals.Signup, [4, 4, 80])
      a.deepEqual(more.signup!.plan, [
        ['free', 2],
        ['pro', 2],
      ])
    })

    test('selector.goals() and selector.events(): the same figures as the context, and trends', async ({
      assert: a,
    }) => {
      const { manager } = tracking
      const selector = selectorOf(manager)
      /* the previous day: 2 visitors, 1 signup */
      manager.recordEvent({
        name: 'signup',
        visitor: '9',
        at: Date.parse(`${PREVIOUS_DAY}T10:00:00Z`),
      })
      manager.recorder.recordView({ path: '/pricing', visitor: '9', day: PREVIOUS_DAY })
      manager.recorder.recordView({ path: '/', visitor: '10', day: PREVIOUS_DAY })
      acceptanceTraffic(manager)
      await manager.drain()
      await flushPageViews(manager, db, { date: PREVIOUS_DAY })

      const goals = await selector.goals(1)
      a.deepEqual(
        goals.items.map((goal) => [
          goal.name,
          goal.kind,
          goal.target,
          goal.visitors,
          goal.trend?.label ?? null,
        ]),
        [
          ['Signup', 'event', 'signup', 3, '+200%'],
          ['Pricing', 'path', '/pricing', 5, '+400%'],
          ['Docs', 'path', '/docs/*', 2, null],
        ]
      )
      a.deepEqual(goals.items[0].previous, { visitors: 1, completions: 1, conversionRate: 50 })
      a.equal(goals.items[0].share, 0.6)
      a.equal(goals.items[0].value, 3)
      const context = await selector.getAnalyticsContext(1)
      a.deepEqual(goals.items, context.trackingGoals!.items)

      const events = await selector.events({ from: PREVIOUS_DAY, to: DAY })
      a.deepEqual(
        events.items.map((item) => [item.label, item.value, item.visitors, item.share]),
        [['signup', 4, 4, 1]]
      )
      a.deepEqual(events.items[0].props.plan, [
        { value: 'pro', count: 2 },
        { value: 'free', count: 1 },
      ])
    })

    test('junk is stored within the limits: 50 props, a 10 KB name, non-string values', async ({
      assert: a,
    }) => {
      const { manager } = tracking
      const props: Record<string, unknown> = { object: { a: 1 }, list: [1], nothing: null }
      for (let i = 0; i < 50; i++) props[`${i}-${'k'.repeat(150)}`] = i % 2 ? 'v'.repeat(500) : i
      a.isTrue(
        manager.event(fakeCtx({ user: 1, url: '/x', method: 'POST' }), 'n'.repeat(10_240), props)
      )
      await manager.drain()
      await flushPageViews(manager, db)
      const rows = await db
        .from(TRACKING_TABLES.dimensionStats)
        .where('date', DAY)
        .whereIn('dimension', ['event', 'event_prop'])
        .select('dimension', 'value')
      const name = 'n'.repeat(MAX_EVENT_NAME_LENGTH)
      a.deepEqual(
        rows.filter((row) => row.dimension === 'event').map((row) => row.value),
        [name]
      )
      const propRows = rows.filter((row) => row.dimension === 'event_prop')
      a.lengthOf(propRows, MAX_EVENT_PROPS)
      for (const row of propRows) {
        const [rowName, key, value] = String(row.value).split(EVENT_PART_SEPARATOR)
        a.equal(rowName, name)
        a.isAtMost(key.length, MAX_PROP_LENGTH)
        a.isAtMost(value.length, MAX_PROP_LENGTH)
      }
      /* the longest value kept whole: 120 + 100 + 100 and two separators */
      a.equal(Math.max(...propRows.map((row) => String(row.value).length)), 322)
      const events = await selectorOf(manager).events(1)
      a.equal(events.items[0].name, name)
      a.lengthOf(Object.keys(events.items[0].props), MAX_EVENT_PROPS)
    })

    test("distinct prop values per day are capped with '(other)'", async ({ assert: a }) => {
      await tracking.cleanup()
      tracking = buildManager(
        { timezone: 'UTC', store, maxValuesPerDimension: 3, bufferMs: 60_000 },
        { now: () => NOW }
      )
      const { manager } = tracking
      for (let i = 0; i < 6; i++) {
        manager.recordEvent({ name: 'search', visitor: `v${i}`, props: { query: `q${i}` } })
      }
      await manager.drain()
      const live = await manager.store.getDimension(DAY, 'event_prop')
      a.equal(live.size, 4)
      a.equal(live.get(OTHER_VALUE), 3)
      await flushPageViews(manager, db)
      const events = await selectorOf(manager).events(1)
      a.equal(events.items[0].count, 6)
      a.equal(events.otherProps, 3)
      a.lengthOf(events.items[0].props.query, 3)
    })
  })
}

test.group('Events and goals | before the upgrade migration', (group) => {
  let tracking: TestTracking
  const narrow = {
    pg: [
      'ALTER TABLE tracking_dimension_stats ALTER COLUMN value TYPE varchar(100) COLLATE "C"',
      'ALTER TABLE tracking_dimension_stats ALTER COLUMN value TYPE varchar(400) COLLATE "C"',
    ],
    mysql: [
      'ALTER TABLE tracking_dimension_stats MODIFY value varchar(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL',
      'ALTER TABLE tracking_dimension_stats MODIFY value varchar(400) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL',
    ],
  }[dbName as 'pg' | 'mysql']
  group.each.setup(async () => {
    await truncateTrackingTables()
    tracking = buildManager({ timezone: 'UTC', store: 'memory' }, { now: () => NOW })
    return () => tracking.cleanup()
  })

  test('a column of 100 characters: long event values are cut, counts kept, one warning', async ({
    assert: a,
    cleanup,
  }) => {
    const warnings: Error[] = []
    const listen = (warning: Error) => warnings.push(warning)
    process.on('warning', listen)
    cleanup(() => {
      process.off('warning', listen)
    })
    await db.rawQuery(narrow![0])
    cleanup(async () => {
      await db.rawQuery(narrow![1])
    })
    const { manager } = tracking
    const name = 'e'.repeat(MAX_EVENT_NAME_LENGTH)
    manager.recordEvent({ name, visitor: 'u1', props: { plan: 'pro' } })
    manager.recordEvent({ name: 'signup', visitor: 'u1', props: { plan: 'pro' } })
    await manager.drain()
    await flushPageViews(manager, db)
    const rows = await db
      .from(TRACKING_TABLES.dimensionStats)
      .where('dimension', 'event')
      .select('value', 'views')
    a.sameDeepMembers(
      rows.map((row) => [row.value, Number(row.views)]),
      [
        ['e'.repeat(100), 1],
        ['signup', 1],
      ]
    )
    await new Promise((resolve) => setImmediate(resolve))
    a.isTrue(warnings.some((warning) => String(warning.message).includes('migration:run')))
  }).skip(dbName === 'sqlite', 'SQLite enforces no length: nothing is cut there')
})
