/*
|--------------------------------------------------------------------------
| R6: a fleet of app processes on one Redis (or a Redis Cluster) and PostgreSQL
|--------------------------------------------------------------------------
|
| Four demo app processes on their own ports share one redis-server (and,
| in the second run, a local three-node Redis Cluster) and PostgreSQL, each
| with autoFlush every second. Open-loop traffic is spread over the four:
| anonymous visitors (distinct user agents), a logged-in user, views from
| referrers and with UTM tags, sign-ups (POST /signup: a `signup`
| event). Mid-run one process is SIGKILLed and
| started again, and a flusher process is SIGKILLed in the middle of its
| flush. Then every process stops (SIGTERM drains it) and flush_page_views
| runs until nothing is left in Redis.
|
| Exact: SQL views = the 200 responses, less what the killed process had
| not sent yet; those may be no more than it answered in its last bufferMs
| (measured from the responses' times, not assumed). The same for the
| events, in tracking_dimension_stats. No count doubled.
| Unique visitors within the sketch's error.
|
*/

import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { TrackingKeys } from '../../src/stores/keys.ts'
import { TestRedisServer } from '../../tests/redis_server.ts'
import { TestRedisCluster } from '../../tests/redis_cluster.ts'
import { formatNumber, type Report } from './checks.ts'
import { BROWSER_UA, Load, PAGES, type Sample } from './load.ts'
import { DemoApp, ace, appEnv } from './processes.ts'
import { liveTotal, scanKeys } from './redis_counts.ts'
import { login } from './r5_access.ts'
import { startFlusher } from './r2_flush.ts'
import { closeDatabase, openDatabase, sumOf, truncateTracking } from './sql.ts'

/** Sizes of R6 */
export interface FleetOptions {
  /** app processes */
  apps: number
  /** requests sent over the run, all processes together */
  requests: number
  /** requests per second, all processes together */
  rate: number
  /** distinct anonymous visitors */
  visitors: number
}

/** The package default the demo runs with: how long a process may hold views */
const BUFFER_MS = 1000

/** Referrers of the sourced traffic */
const REFERRERS = [
  'https://www.google.com/search?q=adonis',
  'https://news.ycombinator.com/item?id=1',
  'https://github.com/adonisjs/core',
]

/** Headers, path and method of request number k of the whole fleet (1 in 25 a sign-up event) */
function requestOf(k: number, userCookie: string, visitors: number) {
  const headers: Record<string, string> = {}
  const post = k % 25 === 13
  let path = post ? `/signup?plan=${k % 2 ? 'pro' : 'free'}` : PAGES[k % PAGES.length]
  if (k % 10 === 0) {
    headers['user-agent'] = BROWSER_UA
    headers.cookie = userCookie
  } else {
    headers['user-agent'] = `${BROWSER_UA} visitor/${Math.floor(k / 10) % visitors}`
  }
  if (k % 3 === 1) headers.referer = REFERRERS[k % REFERRERS.length]
  if (!post && k % 20 === 7) path += '?utm_source=newsletter&utm_medium=email&utm_campaign=fleet'
  return { headers, path, post }
}

/**
 * The 200 responses of samples that ended in [from, to] (performance.now()):
 * the GETs (page views), or with `posts` the POSTs (sign-up events)
 */
function answered(samples: Sample[], from = -Infinity, to = Infinity, posts = false) {
  return samples.filter(
    (sample) =>
      sample.status === 200 &&
      Boolean(sample.post) === posts &&
      sample.at + sample.ms >= from &&
      sample.at + sample.ms <= to
  ).length
}

export async function fleet(report: Report, variant: 'redis' | 'cluster', options: FleetOptions) {
  const S = `R6 ${variant === 'cluster' ? 'Redis Cluster' : 'one Redis'}`
  const server = variant === 'redis' ? await new TestRedisServer().start() : null
  const cluster = variant === 'cluster' ? await new TestRedisCluster().start() : null
  const keys = new TrackingKeys('tracking')
  /* a client on the node that holds the app's keys (one slot: the {tracking} tag) */
  const probePort = server ? server.port : await cluster!.nodeOf(keys.days())
  const probe = new Redis({ host: '127.0.0.1', port: probePort })
  const database = openDatabase('pg')
  const apps: Array<DemoApp | undefined> = []
  const loads: Load[] = []
  try {
    await truncateTracking(database)
    const env = appEnv({
      db: 'pg',
      redisPort: server?.port ?? cluster!.ports[0],
      extra: {
        TRACKING_ANONYMOUS: 'true',
        TRACKING_AUTO_FLUSH: '1s',
        ...(cluster
          ? { REDIS_CLUSTER_NODES: cluster.ports.map((port) => `127.0.0.1:${port}`).join(',') }
          : {}),
      },
    })
    /* one after the other: each boot seeds the demo users */
    for (let slot = 0; slot < options.apps; slot++) apps.push(await DemoApp.start(env))
    const userCookie = await login(apps[0]!.url, 'user@example.com')

    const perApp = options.rate / options.apps
    const seconds = options.requests / options.rate
    const loadOf = (slot: number, app: DemoApp) =>
      new Load({
        port: app.port,
        rate: perApp,
        headers: (i) => requestOf(i * options.apps + slot, userCookie, options.visitors).headers,
        path: (i) => requestOf(i * options.apps + slot, userCookie, options.visitors).path,
        post: (i) => requestOf(i * options.apps + slot, userCookie, options.visitors).post,
      }).start()
    for (let slot = 0; slot < options.apps; slot++) loads.push(loadOf(slot, apps[slot]!))
    const started = performance.now()

    /* at 40 %: SIGKILL process 2, start it again and send its share of the traffic there */
    await sleep(seconds * 400)
    const killed = apps[1]!
    const killedLoad = loads[1]
    const killAt = performance.now()
    await killed.stop('SIGKILL')
    await killedLoad.stop()
    const lastBuffer = answered(killedLoad.samples, killAt - BUFFER_MS, killAt)
    const lastBufferEvents = answered(killedLoad.samples, killAt - BUFFER_MS, killAt, true)
    const answeredBeforeKill = answered(killedLoad.samples)
    const restarted = await DemoApp.start(env)
    apps[1] = restarted
    loads.push(loadOf(1, restarted))

    /* at 60 %: a flusher SIGKILLed in the middle of its flush */
    await sleep(Math.max(0, seconds * 600 - (performance.now() - started)))
    const flusher = startFlusher('pg', probePort, 'once', cluster?.ports)
    await flusher.go()
    await sleep(Math.floor(Math.random() * 30))
    flusher.child.kill('SIGKILL')
    const flusherExit = await flusher.exit
    const flusherDone = flusher.output().includes('done')

    await sleep(Math.max(0, seconds * 1000 - (performance.now() - started)))
    for (const load of loads) await load.stop()
    const ranSeconds = (performance.now() - started) / 1000
    const samples = loads.flatMap((load) => load.samples)
    const ok = answered(samples)
    const okEvents = answered(samples, -Infinity, Infinity, true)
    const failed = samples.length - ok - okEvents
    for (const app of apps) await app?.stop('SIGTERM')

    /* what autoFlush left (the last second, the killed flusher's taken-aside counts) */
    const flushEnv = env
    let flushes = 0
    for (; flushes < 10; flushes++) {
      const left =
        (await liveTotal(probe)) +
        (await probe.hlen(keys.flushes())) +
        (await probe.scard(keys.days()))
      if (left === 0) break
      const result = await ace(['flush_page_views'], flushEnv)
      if (result.code !== 0) throw new Error(`flush_page_views failed:\n${result.output}`)
    }
    const inSql = await sumOf(database, 'tracking_page_views')
    const daily = await sumOf(database, 'tracking_daily_stats')
    const uniques = await sumOf(database, 'tracking_daily_stats', 'unique_visitors')
    const eventRow = await database
      .connection()
      .from('tracking_dimension_stats')
      .where('dimension', 'event')
      .where('value', 'signup')
      .sum('views as n')
      .first()
    const eventsInSql = Number(eventRow?.n ?? 0)
    const lostEvents = okEvents - eventsInSql
    const flushRow = await database.connection().from('tracking_flushes').count('* as n').first()
    const autoFlushes = Number(flushRow?.n ?? 0)
    /* every anonymous visitor comes back many times (requests >> visitors), plus the user */
    const expectedVisitors = options.visitors + 1
    const lost = ok - inSql

    report.figure(
      S,
      'fleet',
      `${options.apps} demo app processes on PostgreSQL and ${variant === 'cluster' ? 'a local three-node Redis Cluster' : 'one redis-server'}, autoFlush every 1 s in each, bufferMs ${BUFFER_MS}`
    )
    report.figure(
      S,
      'traffic',
      `${formatNumber(samples.length)} requests at ${formatNumber(options.rate)}/s over ${formatNumber(ranSeconds)} s: ${formatNumber(ok)} page views and ${formatNumber(okEvents)} sign-ups (POST /signup: a \`signup\` event) answered 200, ${formatNumber(failed)} not (cut by the SIGKILL or sent while it restarted); ${formatNumber(options.visitors)} anonymous visitors, a logged-in user on 1 in 10, referrers on 1 in 3, UTM tags on 1 in 20, a sign-up on 1 in 25`
    )
    report.figure(
      S,
      'SIGKILLed process',
      `answered ${formatNumber(answeredBeforeKill)} page views before the kill, ${formatNumber(lastBuffer)} of them (and ${formatNumber(lastBufferEvents)} sign-ups) in its last ${BUFFER_MS} ms`
    )
    report.figure(
      S,
      'SIGKILLed flusher',
      flusherDone
        ? `finished its flush before the kill (exit ${flusherExit.code ?? flusherExit.signal})`
        : `killed during its flush (${flusherExit.signal ?? flusherExit.code})`
    )
    report.figure(
      S,
      'flushes',
      `${formatNumber(autoFlushes)} committed flushes in all (autoFlush of every process, the final flush_page_views run ${flushes} time(s))`
    )
    report.check(
      S,
      'no view counted twice',
      inSql <= ok && daily === inSql,
      `${formatNumber(inSql)} in SQL (day totals ${formatNumber(daily)}) of ${formatNumber(ok)} answered 200`,
      '<= answered, day totals = rows'
    )
    report.check(
      S,
      "views lost: only the SIGKILLed process's last bufferMs",
      lost >= 0 && lost <= lastBuffer,
      `${formatNumber(lost)} lost (it answered ${formatNumber(lastBuffer)} in its last ${BUFFER_MS} ms)`,
      `0 .. ${formatNumber(lastBuffer)}`
    )
    report.check(
      S,
      "events: none counted twice, lost only from the SIGKILLed process's last bufferMs",
      lostEvents >= 0 && lostEvents <= lastBufferEvents,
      `${formatNumber(eventsInSql)} signup events in SQL of ${formatNumber(okEvents)} answered 200 (${formatNumber(lostEvents)} lost; it answered ${formatNumber(lastBufferEvents)} in its last ${BUFFER_MS} ms)`,
      `lost 0 .. ${formatNumber(lastBufferEvents)}`
    )
    const left = (await liveTotal(probe)) + (await probe.hlen(keys.flushes()))
    report.check(S, 'nothing left in Redis after the final flush', left === 0, `${left}`, '0')
    report.check(
      S,
      'unique visitors within the sketch error',
      Math.abs(uniques - expectedVisitors) <= Math.max(2, expectedVisitors * 0.03),
      `${formatNumber(uniques)} (${formatNumber(expectedVisitors)} distinct visitors answered)`,
      '±3 %'
    )
    const staleKeys = await scanKeys(probe, `${keys.tag}:*`)
    report.figure(
      S,
      'Redis keys after the run',
      `${staleKeys.length} (salts, sketches, markers: all with a TTL)`
    )
  } finally {
    for (const load of loads) await load.stop().catch(() => {})
    for (const app of apps) await app?.stop('SIGKILL')
    probe.disconnect()
    await closeDatabase(database)
    await server?.stop()
    await cluster?.stop()
  }
}
