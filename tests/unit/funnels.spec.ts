/*
|--------------------------------------------------------------------------
| Funnels: the write path, both stores, the flush
|--------------------------------------------------------------------------
|
| Views and events recorded with a pinned clock through the recorder. A
| funnel's step counts the visits that reached it in order within one
| visit (the `funnel` dimension rows, on the visit's start day) and their
| visitors; the same live and after the flush, exactly once. Real Redis and
| the memory store; SQLite, PostgreSQL or MySQL as DB says.
|
*/

import { test } from '@japa/runner'
import type { TestContext } from '@japa/runner/core'
import db from '@adonisjs/lucid/services/db'
import { flushPageViews } from '../../src/flush.ts'
import { funnelStepValue } from '../../src/funnels.ts'
import { TrackingSelector } from '../../src/selector.ts'
import { TRACKING_TABLES } from '../../src/tables.ts'
import type { TrackingConfig, TrackingStoreName } from '../../src/types.ts'
import { buildManager, dbName, truncateTrackingTables } from '../helpers.ts'

const STORES: TrackingStoreName[] = ['redis', 'memory']
const DAY = '2026-06-10'
const NEXT_DAY = '2026-06-11'
const T0 = Date.parse(`${DAY}T10:00:00Z`)
const MINUTE = 60_000
const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0'
const CONFIG: TrackingConfig = {
  trackAnonymous: true,
  bufferMs: 60_000,
  goals: [
    { name: 'Signup', event: 'signup' },
    { name: 'Pricing', path: '/pricing' },
    { name: 'Docs', path: '/docs/*' },
    { name: 'Checkout', event: 'checkout' },
  ],
  funnels: [
    { name: 'Purchase', steps: ['Pricing', 'Signup', 'Checkout'] },
    { name: 'Learn', steps: ['Docs', 'Pricing'] },
  ],
}
const PURCHASE = ['Pricing', 'Signup', 'Checkout'].map((goal, i) =>
  funnelStepValue('Purchase', i + 1, goal)
)
const LEARN = ['Docs', 'Pricing'].map((goal, i) => funnelStepValue('Learn', i + 1, goal))

/** The part of an HttpContext the recorder reads: a user, or a guest by ip */
function ctxOf(who: number | string, url: string, method = 'GET') {
  const ip = typeof who === 'string' ? who : '203.0.113.7'
  const headers = { 'user-agent': UA, 'host': 'app.example' }
  return {
    request: {
      url: () => url,
      method: () => method,
      ip: () => ip,
      header: (name: string) => (headers as Record<string, string>)[name],
      request: { headers, url, socket: { remoteAddress: ip } },
    },
    response: { getStatus: () => 200 },
    auth: typeof who === 'number' ? { user: { id: who } } : undefined,
  } as any
}

function tracked(cleanup: TestContext['cleanup'], store: TrackingStoreName, config = CONFIG) {
  const clock = { now: T0 }
  const tracking = buildManager(config, { store, now: () => clock.now })
  cleanup(() => tracking.cleanup())
  const { manager } = tracking
  return {
    manager,
    clock,
    view(minute: number, who: number | string, url: string) {
      clock.now = T0 + minute * MINUTE
      if (!manager.recorder.record(ctxOf(who, url))) throw new Error(`${url} not counted`)
    },
    event(minute: number, who: number | string, name: string) {
      clock.now = T0 + minute * MINUTE
      if (!manager.event(ctxOf(who, '/api', 'POST'), name)) throw new Error(`${name} not counted`)
    },
    /** per funnel: its steps' [visitors, visits, drop-off] on DAY, as the selector reads them */
    async read() {
      const selector = new TrackingSelector(manager, db, { now: () => clock.now })
      const widget = await selector.funnels({ from: DAY, to: DAY })
      return Object.fromEntries(
        widget.funnels.map((funnel) => [
          funnel.name,
          funnel.items.map((step) => [step.visitors, step.visits, step.dropOff]),
        ])
      )
    },
    /** visits per step value of a day, live */
    async live(day = DAY) {
      return Object.fromEntries(await manager.store.getDimension(day, 'funnel'))
    },
    /** visitors of a step value of a day, live */
    async liveVisitors(value: string, day = DAY) {
      return manager.store.countDimensionUnion('funnel', value, [], [day])
    },
  }
}

/** visits per step value in SQL (the tests write one day) */
async function stored() {
  const rows = await db
    .from(TRACKING_TABLES.dimensionStats)
    .where('dimension', 'funnel')
    .select('value', 'views')
  return Object.fromEntries(rows.map((row) => [row.value, Number(row.views)]))
}

function counts(values: string[], visits: number[]) {
  return Object.fromEntries(values.flatMap((value, i) => (visits[i] ? [[value, visits[i]]] : [])))
}

test.group(`Funnels (${dbName})`, (group) => {
  group.each.setup(() => truncateTrackingTables())

  for (const store of STORES) {
    test(`${store}: steps in order within a visit, the same live and after a flush`, async ({
      assert,
      cleanup,
    }) => {
      const t = tracked(cleanup, store)
      /* five users view /pricing; 1, 2 and 3 sign up after it, 1 and 2 check out */
      for (let user = 1; user <= 5; user++) t.view(user, user, '/pricing')
      for (const user of [1, 2, 3]) t.event(10 + user, user, 'signup')
      for (const user of [1, 2]) t.event(20 + user, user, 'checkout')
      /* 6 signs up first, then views /pricing: only the first step */
      t.event(1, 6, 'signup')
      t.view(2, 6, '/pricing')
      /* 7 checks out without signing up: the third step needs the second */
      t.view(1, 7, '/pricing')
      t.event(3, 7, 'checkout')
      /* a guest reads the docs, then the pricing: the Learn funnel, and Purchase's first step */
      t.view(1, '198.51.100.9', '/docs/intro')
      t.view(2, '198.51.100.9', '/docs/setup')
      t.view(3, '198.51.100.9', '/pricing')
      /* 8 signs up twice and views /pricing twice in one visit: each step once */
      t.view(1, 8, '/pricing')
      t.event(2, 8, 'signup')
      t.view(3, 8, '/pricing')
      t.event(4, 8, 'signup')
      await t.manager.drain()

      const expected = {
        ...counts(PURCHASE, [9, 4, 2]),
        ...counts(LEARN, [1, 1]),
      }
      assert.deepEqual(await t.live(), expected)
      assert.equal(await t.liveVisitors(PURCHASE[0]), 9)
      assert.equal(await t.liveVisitors(PURCHASE[1]), 4)
      assert.equal(await t.liveVisitors(PURCHASE[2]), 2)
      const read = {
        Purchase: [
          [9, 9, null],
          [4, 4, 55.6],
          [2, 2, 50],
        ],
        Learn: [
          [1, 1, null],
          [1, 1, 0],
        ],
      }
      assert.deepEqual(await t.read(), read)

      await flushPageViews(t.manager, db)
      assert.deepEqual(await stored(), expected)
      assert.deepEqual(await t.read(), read)
      assert.deepEqual(await t.live(), {})
      /* a second flush adds nothing */
      await flushPageViews(t.manager, db)
      assert.deepEqual(await stored(), expected)
    })

    test(`${store}: a visit goes on across batches; a new visit starts the funnel again`, async ({
      assert,
      cleanup,
    }) => {
      const t = tracked(cleanup, store)
      t.view(0, 1, '/pricing')
      await t.manager.drain()
      t.event(5, 1, 'signup')
      await t.manager.drain()
      /* 40 minutes later (the timeout is 30): a new visit, which starts at step 1 again */
      t.event(45, 1, 'checkout')
      t.view(46, 1, '/pricing')
      await t.manager.drain()
      t.event(47, 1, 'signup')
      await t.manager.drain()
      assert.deepEqual(await t.live(), counts(PURCHASE, [2, 2, 0]))
      /* two visits, one visitor */
      assert.equal(await t.liveVisitors(PURCHASE[0]), 1)

      await flushPageViews(t.manager, db)
      t.event(48, 1, 'checkout')
      await t.manager.drain()
      /* the third step of the second visit, after the flush: live 1, SQL the rest */
      assert.deepEqual(await t.live(), counts(PURCHASE, [0, 0, 1]))
      await flushPageViews(t.manager, db)
      assert.deepEqual(await stored(), counts(PURCHASE, [2, 2, 1]))
    })

    test(`${store}: an event outside a visit advances no funnel`, async ({ assert, cleanup }) => {
      const t = tracked(cleanup, store)
      t.event(0, 1, 'signup')
      t.manager.recordEvent({ name: 'signup', visitor: 2 })
      await t.manager.drain()
      assert.deepEqual(await t.live(), {})
    })

    test(`${store}: recordEvent() with the visitor's id advances its visit`, async ({
      assert,
      cleanup,
    }) => {
      const t = tracked(cleanup, store)
      t.view(0, 3, '/pricing')
      await t.manager.drain()
      t.manager.recordEvent({ name: 'signup', visitor: 3, at: T0 + MINUTE })
      await t.manager.drain()
      assert.deepEqual(await t.live(), counts(PURCHASE, [1, 1, 0]))
    })

    test(`${store}: a visit that crosses midnight counts on its start day`, async ({
      assert,
      cleanup,
    }) => {
      const t = tracked(cleanup, store)
      const beforeMidnight = (Date.parse(`${NEXT_DAY}T00:00:00Z`) - T0) / MINUTE - 10
      t.view(beforeMidnight, '198.51.100.20', '/pricing')
      t.view(beforeMidnight, 20, '/pricing')
      await t.manager.drain()
      t.view(beforeMidnight + 20, '198.51.100.20', '/about')
      t.event(beforeMidnight + 20, '198.51.100.20', 'signup')
      t.event(beforeMidnight + 20, 20, 'signup')
      await t.manager.drain()
      assert.deepEqual(await t.live(DAY), counts(PURCHASE, [2, 2, 0]))
      assert.deepEqual(await t.live(NEXT_DAY), {})
    })
  }

  test('redis: two processes serving one visitor count one funnel visit', async ({
    assert,
    cleanup,
  }) => {
    const first = tracked(cleanup, 'redis')
    const keyPrefix = first.manager.settings.keyPrefix
    const second = tracked(cleanup, 'redis', { ...CONFIG, keyPrefix })
    first.view(0, 1, '/pricing')
    await first.manager.drain()
    second.event(1, 1, 'signup')
    await second.manager.drain()
    first.event(2, 1, 'checkout')
    second.event(2, 1, 'checkout')
    await Promise.all([first.manager.drain(), second.manager.drain()])
    assert.deepEqual(await first.live(), counts(PURCHASE, [1, 1, 1]))
  })

  test('a trail is one buffer entry per visitor and day, whatever its views and events', ({
    assert,
    cleanup,
  }) => {
    const traffic = (t: ReturnType<typeof tracked>) => {
      for (let user = 1; user <= 3; user++) {
        for (let i = 0; i < 5; i++) {
          t.view(i, user, '/pricing')
          t.event(i, user, 'signup')
          t.event(i, user, 'checkout')
        }
      }
      return t.manager.buffer.size
    }
    const withFunnels = traffic(tracked(cleanup, 'memory'))
    const without = traffic(tracked(cleanup, 'memory', { ...CONFIG, funnels: [] }))
    assert.equal(withFunnels - without, 3)
  })

  test('without funnels nothing is written to the funnel dimension', async ({
    assert,
    cleanup,
  }) => {
    const t = tracked(cleanup, 'redis', { ...CONFIG, funnels: [] })
    t.view(0, 1, '/pricing')
    t.event(1, 1, 'signup')
    await t.manager.drain()
    assert.deepEqual(await t.live(), {})
  })
})
