/*
|--------------------------------------------------------------------------
| R7: flood of distinct paths and distinct visitors
|--------------------------------------------------------------------------
|
| What an anonymous attacker can send: every request a new path under a
| catch-all route (the slug pages of a CMS: /fuzz/*) and a new user agent,
| so every request is a new path and a new visitor of the day. Guests are
| counted (TRACKING_ANONYMOUS). Phase A, Redis up: `paths` requests, each a
| new path and visitor. Phase B, Redis down (the write buffer holds what it
| can): the rest of `visitors`, each a new visitor. Bounds: Redis memory
| (INFO memory of the run's own redis-server), live and SQL path rows of the
| day (maxPathsPerDay plus "(other)"), the app's resident memory, and the
| latency of the analytics JSON for the flooded day.
|
*/

import { Agent } from 'node:http'
import { formatNumber, percentile, type Report } from './checks.ts'
import { BROWSER_UA, PAGES, get } from './load.ts'
import { DemoApp, SoakRedis, ace, appEnv } from './processes.ts'
import { KEYS, settledTotal } from './redis_counts.ts'
import { login } from './r5_access.ts'
import { closeDatabase, openDatabase, sumOf, truncateTracking } from './sql.ts'
import { OTHER_PATH } from '../../src/stores/batch.ts'

const S = 'R7'
const MB = 1024 * 1024

/** Sizes of R7 */
export interface FloodOptions {
  /** distinct paths sent with Redis up (each request a new path and a new visitor) */
  paths: number
  /** distinct visitors in all (the rest are sent while Redis is down) */
  visitors: number
  /** client connections (closed loop) */
  connections: number
  /** maxPathsPerDay of the app (null: the package default, 10,000) */
  cap: number | null
  /** maxOpenVisits of the app: visits in progress the store remembers */
  openVisits: number
  /** analytics JSON requests timed after the flood */
  jsonRequests: number
}

/** A user agent of visitor number i: a browser, unique per visitor */
const visitorAgent = (i: number) => ({ 'user-agent': `${BROWSER_UA} flood/${i}` })

/**
 * Sends `count` requests over `connections` keep-alive connections, each
 * worker taking the next number; returns how many answered 200 and the
 * first other answer
 */
async function send(
  port: number,
  count: number,
  connections: number,
  path: (i: number) => string,
  headers: (i: number) => Record<string, string>
): Promise<{ ok: number; failed: number; firstFailure: string | null; seconds: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections })
  let next = 0
  let ok = 0
  let failed = 0
  let firstFailure: string | null = null
  const started = performance.now()
  const worker = async () => {
    while (next < count) {
      const i = next++
      const sample = await get(agent, port, path(i), headers(i))
      if (sample.status === 200) ok++
      else {
        failed++
        firstFailure ??= `${sample.status} ${sample.error ?? ''}`.trim()
      }
    }
  }
  await Promise.all(Array.from({ length: connections }, worker))
  agent.destroy()
  return { ok, failed, firstFailure, seconds: (performance.now() - started) / 1000 }
}

/** The figure and the check of one phase's requests */
function checkSent(
  report: Report,
  phase: string,
  redis: string,
  sent: Awaited<ReturnType<typeof send>>
) {
  report.figure(
    S,
    `${phase} (${redis}) requests`,
    `${formatNumber(sent.ok)} answered 200 in ${formatNumber(sent.seconds)} s (${formatNumber(sent.ok / sent.seconds)} req/s)`
  )
  report.check(
    S,
    `${phase} failed responses`,
    sent.failed === 0,
    `${sent.failed}${sent.firstFailure ? ` (first: ${sent.firstFailure})` : ''}`,
    '0'
  )
}

/** used_memory of a redis-server, in bytes */
async function usedMemory(client: ReturnType<SoakRedis['client']>): Promise<number> {
  const info = await client.info('memory')
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN)
}

/** The app's heap in use after a full garbage collection (bench/soak/server.ts), in bytes */
async function heapUsed(base: string): Promise<number> {
  const response = await fetch(`${base}/__soak/heap`)
  return ((await response.json()) as { heapUsed: number }).heapUsed
}

/** Latencies (ms) of `count` analytics JSON requests of a staff user for one day */
async function analyticsJson(base: string, cookie: string, day: string, count: number) {
  const times: number[] = []
  let paths = 0
  for (let i = 0; i < count; i++) {
    const started = performance.now()
    const response = await fetch(`${base}/cabinet/tracking?format=json&from=${day}&to=${day}`, {
      headers: { cookie, accept: 'application/json' },
    })
    const body = await response.text()
    times.push(performance.now() - started)
    if (response.status !== 200) throw new Error(`analytics JSON answered ${response.status}`)
    paths = (JSON.parse(body) as { trackingTrackedPages?: { value?: number } }).trackingTrackedPages
      ?.value as number
  }
  return { p50: percentile(times, 50), max: Math.max(...times), paths }
}

/** Redis memory of one visit in progress: its state hash and its entry in the set of open visits */
const OPEN_VISIT_BYTES = 400

export async function flood(report: Report, options: FloodOptions) {
  const cap = options.cap ?? 10_000
  const redis = await new SoakRedis().start()
  const probe = redis.client()
  const env = appEnv({
    db: 'sqlite',
    redisPort: redis.port,
    extra: {
      SOAK_CATCH_ALL: '1',
      TRACKING_ANONYMOUS: 'true',
      ...(options.cap === null ? {} : { TRACKING_MAX_PATHS_PER_DAY: String(options.cap) }),
      TRACKING_MAX_OPEN_VISITS: String(options.openVisits),
    },
  })
  let app: DemoApp | undefined
  const database = openDatabase('sqlite')
  try {
    await truncateTracking(database)
    app = await DemoApp.start(env)
    const cookie = await login(app.url, 'staff@example.com')
    /* warm-up: the routes, the store and the JIT, before the baselines */
    await send(app.port, 500, options.connections, (i) => PAGES[i % PAGES.length], visitorAgent)
    await settledTotal(probe, 500)
    const days = await probe.smembers(KEYS.days())
    const day = days.sort().at(-1)!
    await analyticsJson(app.url, cookie, day, 2)
    const redisBefore = await usedMemory(probe)
    const rssBase = app.rss()
    const heapBase = await heapUsed(app.url)
    report.figure(
      S,
      'flood',
      `${formatNumber(options.paths)} distinct paths (Redis up), ${formatNumber(options.visitors)} distinct visitors in all, ${options.connections} connections, maxPathsPerDay ${formatNumber(cap)}`
    )

    /* phase A: every request a new path and a new visitor, Redis up */
    app.startSampling(200)
    const a = await send(
      app.port,
      options.paths,
      options.connections,
      (i) => `/fuzz/flood/${i}`,
      (i) => visitorAgent(500 + i)
    )
    const live = await settledTotal(probe, 500 + a.ok)
    const liveRows = await probe.hlen(KEYS.views(day))
    const other = Number((await probe.hget(KEYS.views(day), OTHER_PATH)) ?? 0)
    const redisAfter = await usedMemory(probe)
    const json = await analyticsJson(app.url, cookie, day, options.jsonRequests)
    const rssA = app.stopSampling()
    const heapA = await heapUsed(app.url)

    checkSent(report, 'phase A', 'Redis up', a)
    report.check(
      S,
      'views counted live',
      live === 500 + a.ok,
      `${formatNumber(live)} of ${formatNumber(500 + a.ok)}`,
      'all'
    )
    report.check(
      S,
      'live path rows of the day',
      liveRows <= cap + 1,
      `${formatNumber(liveRows)} (${formatNumber(other)} views under ${OTHER_PATH})`,
      `<= ${formatNumber(cap)} + ${OTHER_PATH}`
    )
    report.figure(
      S,
      'Redis used_memory before / after phase A',
      `${formatNumber(redisBefore / MB)} / ${formatNumber(redisAfter / MB)} MB`
    )
    /* every new visitor opens a visit: the store remembers at most maxOpenVisits of them */
    const redisBound = Math.max(MB, cap * 1024) + options.openVisits * OPEN_VISIT_BYTES
    report.check(
      S,
      'Redis memory growth',
      redisAfter - redisBefore <= redisBound,
      `+${formatNumber((redisAfter - redisBefore) / MB)} MB`,
      `<= +${formatNumber(redisBound / MB)} MB (1 KB per admitted path, ${OPEN_VISIT_BYTES} B per open visit up to maxOpenVisits ${formatNumber(options.openVisits)})`
    )
    report.figure(
      S,
      'analytics JSON of the flooded day, live',
      `p50 ${formatNumber(json.p50)} ms, max ${formatNumber(json.max)} ms over ${options.jsonRequests} requests (${formatNumber(json.paths)} tracked pages)`
    )
    report.timingCheck(
      S,
      'analytics JSON p50 (live flooded day)',
      json.p50 <= 500,
      `${formatNumber(json.p50)} ms`,
      '<= 500 ms'
    )

    /* the flush moves the capped day into SQL: at most cap rows plus (other) */
    const flushed = await ace(['flush_page_views'], env)
    if (flushed.code !== 0) throw new Error(`flush_page_views failed:\n${flushed.output}`)
    const sqlRows = await database
      .connection()
      .from('tracking_page_views')
      .where('date', day)
      .count('* as total')
      .first()
    const sqlViews = await sumOf(database, 'tracking_page_views')
    report.check(
      S,
      'SQL path rows of the day after the flush',
      Number(sqlRows?.total) <= cap + 1,
      formatNumber(Number(sqlRows?.total)),
      `<= ${formatNumber(cap)} + ${OTHER_PATH}`
    )
    report.check(
      S,
      'views in SQL after the flush',
      sqlViews === live,
      `${formatNumber(sqlViews)} of ${formatNumber(live)}`,
      'all, once'
    )
    const flushedJson = await analyticsJson(app.url, cookie, day, options.jsonRequests)
    report.figure(
      S,
      'analytics JSON of the flooded day, from SQL',
      `p50 ${formatNumber(flushedJson.p50)} ms, max ${formatNumber(flushedJson.max)} ms`
    )
    report.timingCheck(
      S,
      'analytics JSON p50 (flushed flooded day)',
      flushedJson.p50 <= 500,
      `${formatNumber(flushedJson.p50)} ms`,
      '<= 500 ms'
    )

    /* phase B: Redis down, every request a new visitor */
    await redis.stop(true)
    const rssBeforeB = app.rss()
    app.startSampling(200)
    const rest = Math.max(0, options.visitors - options.paths)
    const b = await send(
      app.port,
      rest,
      options.connections,
      (i) => PAGES[i % PAGES.length],
      (i) => visitorAgent(500 + options.paths + i)
    )
    const rssB = app.stopSampling()
    /* Redis still down: the write buffer holds all it may */
    const heapB = await heapUsed(app.url)
    await redis.start()
    checkSent(report, 'phase B', 'Redis down', b)

    report.figure(
      S,
      'app heap used after a full GC: start / after phase A and the JSON reads / end of phase B (Redis down)',
      `${formatNumber(heapBase / MB)} / ${formatNumber(heapA / MB)} / ${formatNumber(heapB / MB)} MB`
    )
    report.check(
      S,
      'app heap retained after phase A',
      heapA - heapBase <= 32 * MB,
      `+${formatNumber((heapA - heapBase) / MB)} MB`,
      '<= +32 MB over the start'
    )
    report.check(
      S,
      'app heap retained while Redis is down (phase B)',
      heapB - heapBase <= 32 * MB,
      `+${formatNumber((heapB - heapBase) / MB)} MB`,
      '<= +32 MB over the start (the write buffer is bounded)'
    )
    const peak = (list: number[]) => Math.max(0, ...list)
    report.figure(
      S,
      'app RSS at start / peak phase A (with the JSON reads) / before phase B / peak phase B',
      `${formatNumber(rssBase / MB)} / ${formatNumber(peak(rssA) / MB)} / ${formatNumber(rssBeforeB / MB)} / ${formatNumber(peak(rssB) / MB)} MB`
    )
    report.note(
      S,
      'The memory goals are on the heap still in use after a full garbage collection: the resident set (shown as a figure) also holds garbage not yet collected and heap that V8 keeps once grown, so two runs of the same code measured +0.2 MB and +52 MB of RSS peak in phase B for +1.9 MB of retained heap.'
    )

    /* the buffer kept its bound: what it did not drop reaches Redis once it is back */
    const dropped = app.droppedViews()
    const stored = await settledTotal(probe, b.ok - dropped, 3000, 30_000)
    report.check(
      S,
      'phase B views counted once Redis is back',
      stored === b.ok - dropped,
      `${formatNumber(stored)} of ${formatNumber(b.ok)} answered 200 (${formatNumber(dropped)} dropped, logged)`,
      'all (minus logged drops)'
    )
    await report.cleanExit(S, app)
  } finally {
    probe.disconnect()
    await closeDatabase(database)
    await app?.stop('SIGKILL')
    await redis.destroy()
  }
}
