import { test } from '@japa/runner'
import { isbot } from 'isbot'
import db from '@adonisjs/lucid/services/db'
import { sampleTraffic, writeSampleTraffic } from '#demo/sample_traffic'
import { browserAgents, mixedRequests, REFERRERS } from '#demo/traffic_mix'
import { TRACKING_TABLES } from '../../src/flush.ts'
import { TrackingSelector } from '../../src/selector.ts'
import { buildManager, truncateTrackingTables } from '../helpers.ts'

/** Noon UTC of the day after the sample's last day */
const LAST_DAY = '2026-03-10'
const UNTIL = Date.parse('2026-03-11T12:00:00Z')

test.group('Demo sample traffic', (group) => {
  group.each.setup(() => truncateTrackingTables())

  test('a few days go through the recorder and the flush: SQL holds every generated view', async ({
    assert,
    cleanup,
  }) => {
    /* a small buffer: the sample drains it before it would drop views */
    const tracking = buildManager({ timezone: 'UTC', bufferMaxEntries: 200 })
    cleanup(() => tracking.cleanup())
    const sample = sampleTraffic({ days: 3, lastDay: LAST_DAY, until: UNTIL })
    const generated = sample.map(({ day, requests }) => [day, requests.length] as const)

    const summary = await writeSampleTraffic(tracking.manager, db, {
      days: 3,
      lastDay: LAST_DAY,
      until: UNTIL,
    })

    assert.deepEqual(
      generated.map(([day]) => day),
      ['2026-03-08', '2026-03-09', '2026-03-10']
    )
    const total = generated.reduce((sum, [, views]) => sum + views, 0)
    assert.isAbove(total, 300)
    const signups = sample.reduce((sum, day) => sum + day.events.length, 0)
    assert.deepEqual(summary, { days: 3, views: total, events: signups, flushed: total })
    const rows = await db
      .from(TRACKING_TABLES.dailyStats)
      .select('date', 'views', 'unique_visitors')
      .orderBy('date')
    assert.deepEqual(
      rows.map((row) => Number(row.views)),
      generated.map(([, views]) => views)
    )
    /* a few hundred visitors a day, each seeing a few pages */
    for (const row of rows) {
      assert.isAbove(Number(row.unique_visitors), 100)
      assert.isBelow(Number(row.unique_visitors), Number(row.views))
    }
    const pages = await db.from(TRACKING_TABLES.pageViews).distinct('path')
    assert.includeMembers(
      pages.map((row) => row.path),
      ['/', '/about', '/posts/1']
    )
    assert.isEmpty(await tracking.manager.store.pendingDays())
  })

  test('some visitors of /pricing sign up: the goals and the funnel of the demo have figures', async ({
    assert,
    cleanup,
  }) => {
    const tracking = buildManager({
      timezone: 'UTC',
      bufferMaxEntries: 200,
      goals: [
        { name: 'Signup', event: 'signup' },
        { name: 'Pricing', path: '/pricing' },
      ],
      funnels: [{ name: 'Purchase', steps: ['Pricing', 'Signup'] }],
    })
    cleanup(() => tracking.cleanup())
    const sample = sampleTraffic({ days: 3, lastDay: LAST_DAY, until: UNTIL })
    const signups = sample.flatMap((day) => day.events)
    assert.isAbove(signups.length, 5)
    /* each after a view of /pricing by the same visitor, within a visit */
    for (const day of sample) {
      for (const event of day.events) {
        const pricing = day.requests.filter(
          (r) => r.ip === event.ip && r.url.startsWith('/pricing') && r.at < event.at
        )
        assert.isTrue(
          pricing.some((r) => event.at - r.at < 30 * 60_000),
          `${event.ip} at ${event.at}`
        )
      }
    }

    const summary = await writeSampleTraffic(tracking.manager, db, {
      days: 3,
      lastDay: LAST_DAY,
      until: UNTIL,
    })
    assert.equal(summary.events, signups.length)
    const selector = new TrackingSelector(tracking.manager, db, { now: () => UNTIL })
    const range = { from: '2026-03-08', to: '2026-03-10' }
    const goals = await selector.goals(range)
    const signup = goals.items.find((item) => item.label === 'Signup')!
    assert.equal(signup.value, signups.length)
    const funnels = await selector.funnels(range)
    const [funnel] = funnels.funnels
    assert.equal(funnel.items.length, 2)
    assert.isAbove(funnel.items[0].visitors, funnel.items[1].visitors)
    assert.isAbove(funnel.items[1].visitors, 0)
  })

  test('the sample is deterministic: the same days give the same requests', ({ assert }) => {
    const first = sampleTraffic({ days: 4, lastDay: LAST_DAY, until: UNTIL })
    const again = sampleTraffic({ days: 4, lastDay: LAST_DAY, until: UNTIL })
    assert.deepEqual(again, first)
    const other = sampleTraffic({ days: 4, lastDay: LAST_DAY, until: UNTIL, seed: 7 })
    assert.notDeepEqual(other, first)
  })

  test('90 days: a weekly rhythm, ~10 % campaigns, every header the dimensions read', ({
    assert,
  }) => {
    const sample = sampleTraffic({ lastDay: LAST_DAY, until: UNTIL })
    assert.lengthOf(sample, 90)
    const requests = sample.flatMap((day) => day.requests)
    const landings = requests.filter((r) => !r.headers.referer?.startsWith('http://localhost'))
    const utm = landings.filter((r) => r.url.includes('utm_source=')).length
    assert.isAbove(utm / landings.length, 0.06)
    assert.isBelow(utm / landings.length, 0.15)
    /* weekends are lower than weekdays */
    const byWeekday = new Map<number, number[]>()
    for (const { day, requests: views } of sample) {
      const weekday = new Date(`${day}T00:00:00Z`).getUTCDay()
      byWeekday.set(weekday, [...(byWeekday.get(weekday) ?? []), views.length])
    }
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length
    assert.isBelow(mean(byWeekday.get(0)!), mean(byWeekday.get(3)!) * 0.8)
    for (const request of requests) {
      assert.properties(request.headers, ['user-agent', 'accept-language', 'cf-ipcountry', 'host'])
    }
    const sources = new Set<string | undefined>(
      requests.map((r) => r.headers.referer && new URL(r.headers.referer).host)
    )
    for (const host of [
      'www.google.com',
      'duckduckgo.com',
      'www.bing.com',
      'news.ycombinator.com',
      'github.com',
      'x.com',
      'www.reddit.com',
      undefined,
    ]) {
      assert.isTrue(sources.has(host), String(host))
    }
  })
})

test.group('Benchmark request mix', () => {
  test('at least 200 distinct user agents, none a bot, 50 referrers, UTM on 10 %', ({ assert }) => {
    const agents = browserAgents()
    assert.isAtLeast(new Set(agents.map((agent) => agent.userAgent)).size, 200)
    assert.equal(new Set(agents.map((agent) => agent.userAgent)).size, agents.length)
    for (const agent of agents) assert.isFalse(isbot(agent.userAgent), agent.userAgent)
    assert.equal(new Set(REFERRERS).size, 50)

    const requests = mixedRequests(['/', '/about'], { origin: 'http://127.0.0.1:3000' })
    assert.isAtLeast(new Set(requests.map((r) => r.headers['user-agent'])).size, 200)
    assert.equal(new Set(requests.map((r) => r.headers.referer).filter(Boolean)).size, 50)
    assert.equal(requests.filter((r) => r.path.includes('utm_')).length / requests.length, 0.1)
    for (const request of requests) {
      assert.properties(request.headers, ['accept-language', 'cf-ipcountry'])
    }
  })
})
