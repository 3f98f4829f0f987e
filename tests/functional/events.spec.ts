/*
|--------------------------------------------------------------------------
| Events and goals over HTTP (the demo's GET /pricing and POST /signup)
|--------------------------------------------------------------------------
|
| The acceptance of issue #16 (without funnels) as a user sees it: 5
| visitors view /pricing, 3 of them sign up (tracking.event(ctx, 'signup',
| { plan }) in the demo's controller). The analytics JSON, the goals and
| events CSV datasets and the page's Goals and Events panels show Signup 3
| conversions, Pricing 5 and the plans pro 2 / free 1, live and after a
| flush. Junk input still answers 200 and is stored within the limits.
|
*/

import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { flushPageViews } from '../../src/flush.ts'
import { TRACKING_TABLES } from '../../src/tables.ts'
import { EVENT_PART_SEPARATOR, MAX_PROP_LENGTH } from '../../src/dimensions/names.ts'
import { BROWSER_UA, loginAs, truncateTrackingTables, useTrackingManager } from '../helpers.ts'

const GOALS = [
  { name: 'Signup', event: 'signup' },
  { name: 'Pricing', path: '/pricing' },
  { name: 'Docs', path: '/docs/*' },
]

/** Goal name -> [visitors, completions, conversion rate] of the JSON */
function goalFigures(json: any) {
  return Object.fromEntries(
    json.trackingGoals.items.map((goal: any) => [
      goal.name,
      [goal.visitors, goal.completions, goal.conversionRate],
    ])
  )
}

/** The signup event of the JSON: count, visitors, its plans */
function signupFigures(json: any) {
  const signup = json.trackingEvents.items.find((item: any) => item.name === 'signup')
  return {
    count: signup?.count,
    visitors: signup?.visitors,
    plans: signup?.props.plan.map((one: any) => [one.value, one.count]),
  }
}

/** The rows of a CSV answer, without its header */
function csvRows(text: string): string[][] {
  return text
    .trim()
    .split(/\r\n/)
    .slice(1)
    .map((line) => line.split(','))
}

test.group('Events and goals | over HTTP', (group) => {
  group.each.setup(async () => {
    await truncateTrackingTables()
  })

  test('5 visitors view /pricing, 3 sign up: Signup 3, Pricing 5, pro 2 / free 1 in the JSON, CSV and page, live and flushed', async ({
    client,
    assert,
    cleanup,
  }) => {
    const tracking = await useTrackingManager({
      goals: GOALS,
      visitorId: (ctx) => ctx.request.header('x-visitor') ?? null,
    })
    cleanup(() => tracking.cleanup())
    for (let visitor = 1; visitor <= 5; visitor++) {
      const page = await client
        .get('/pricing')
        .header('user-agent', BROWSER_UA)
        .header('x-visitor', `v${visitor}`)
      page.assertStatus(200)
    }
    for (const [visitor, plan] of [
      [1, 'pro'],
      [2, 'pro'],
      [3, 'free'],
    ] as const) {
      const signup = await client
        .post('/signup')
        .header('user-agent', BROWSER_UA)
        .header('x-visitor', `v${visitor}`)
        .form({ plan })
      signup.assertStatus(200)
    }
    await tracking.manager.drain()

    const read = async () => {
      const json = await loginAs(client.get('/cabinet/tracking?format=json&days=1'), 'staff')
      json.assertStatus(200)
      const goals = await loginAs(
        client.get('/cabinet/tracking/export.csv?days=1&dataset=goals'),
        'staff'
      )
      const events = await loginAs(
        client.get('/cabinet/tracking/export.csv?days=1&dataset=events'),
        'staff'
      )
      return { json: json.body(), goals: goals.text(), events: events.text() }
    }
    const expectGoals = {
      Signup: [3, 3, 60],
      Pricing: [5, 5, 100],
      Docs: [0, 0, 0],
    }
    const expectSignup = {
      count: 3,
      visitors: 3,
      plans: [
        ['pro', 2],
        ['free', 1],
      ],
    }
    const live = await read()
    assert.deepEqual(goalFigures(live.json), expectGoals)
    assert.deepEqual(signupFigures(live.json), expectSignup)
    assert.equal(live.json.trackingUniqueVisitors.value, 5)
    /* the POSTs are no page views */
    assert.equal(live.json.trackingTotalViews.value, 5)
    assert.deepEqual(csvRows(live.goals), [
      ['Signup', 'event', 'signup', '3', '3', '60'],
      ['Pricing', 'path', '/pricing', '5', '5', '100'],
      ['Docs', 'path', '/docs/*', '0', '0', '0'],
    ])
    assert.deepEqual(csvRows(live.events), [
      ['signup', 'event', '', '', '3', '3'],
      ['signup', 'prop', 'plan', 'pro', '2', ''],
      ['signup', 'prop', 'plan', 'free', '1', ''],
      ['signup', 'page', '', '/signup', '3', ''],
    ])
    assert.match(
      live.goals.split('\r\n')[0],
      /^goal,kind,target,visitors,completions,conversion_rate$/
    )
    assert.match(live.events.split('\r\n')[0], /^event,kind,key,value,count,visitors$/)

    await flushPageViews(tracking.manager, db)
    const flushed = await read()
    assert.deepEqual(flushed, live)

    const page = await loginAs(client.get('/cabinet/tracking?days=1'), 'staff')
    page.assertStatus(200)
    const html = page.text()
    assert.include(html, 'data-widget="trackingGoals"')
    assert.include(html, 'data-widget="trackingEvents"')
    assert.include(html, 'data-widget="trackingEventDetail"')
    assert.include(html, '>Signup<')
    assert.include(html, '(60%)')
    /* the event links to its props, a tab per key (plain links, no script) */
    assert.include(html, '?days=1&amp;event=signup#trk-event-detail')
    assert.include(html, 'event_tab=prop%3Aplan')
    assert.include(html, 'event_tab=pages')
    assert.notInclude(html, '<script')
    const pagesTab = await loginAs(
      client.get('/cabinet/tracking?days=1&event=signup&event_tab=pages'),
      'staff'
    )
    assert.include(pagesTab.text(), 'event_tab=pages#trk-event-detail" aria-current="page">Pages<')
    assert.include(pagesTab.text(), '>/signup<')
    /* the events' own links do not keep the tab of the event shown */
    assert.notInclude(pagesTab.text(), 'event=signup&amp;event_tab=pages#trk-event-detail">signup<')
  })

  test('junk from the request still answers 200 and is stored within the limits', async ({
    client,
    assert,
    cleanup,
  }) => {
    const tracking = await useTrackingManager({
      visitorId: (ctx) => ctx.request.header('x-visitor') ?? null,
    })
    cleanup(() => tracking.cleanup())
    const long = await client
      .post('/signup')
      .header('user-agent', BROWSER_UA)
      .header('x-visitor', 'junk-1')
      .form({ plan: `\u202e${'p'.repeat(10_240)}` })
    long.assertStatus(200)
    const object = await client
      .post('/signup')
      .header('user-agent', BROWSER_UA)
      .header('x-visitor', 'junk-2')
      .json({ plan: { nested: ['x'] } })
    object.assertStatus(200)
    const bot = await client.post('/signup').header('x-visitor', 'junk-3').form({ plan: 'pro' })
    bot.assertStatus(200)
    await tracking.manager.drain()
    await flushPageViews(tracking.manager, db)
    const rows = await db
      .from(TRACKING_TABLES.dimensionStats)
      .whereIn('dimension', ['event', 'event_prop'])
      .select('dimension', 'value', 'views')
    const byValue = Object.fromEntries(
      rows.map((row) => [`${row.dimension}:${row.value}`, Number(row.views)])
    )
    /* the bot (no browser user agent) is not counted; the object plan is dropped */
    const s = EVENT_PART_SEPARATOR
    assert.deepEqual(byValue, {
      'event:signup': 2,
      [`event_prop:signup${s}plan${s}${'p'.repeat(MAX_PROP_LENGTH)}`]: 1,
    })
  })
})
