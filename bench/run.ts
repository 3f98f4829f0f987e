/*
|--------------------------------------------------------------------------
| npm run bench
|--------------------------------------------------------------------------
|
|   npm run bench                 full run (7-9 minutes on 2 shared cores, P5 included), writes docs/benchmarks.md
|   npm run bench -- --quick      smoke run (about 1 minute), writes tmp/benchmarks-quick.md
|   npm run bench -- --only=p1,p4 some sections (p1 includes p2; also p3, p5, p6, redis)
|   npm run bench -- --out=FILE   where the report goes
|
| Every goal is a ratio of two figures measured in this run, so a noisy
| machine slows both sides. Runs its own redis-server on a free port
| (INFO counters nobody else moves); PostgreSQL from PG_HOST, PG_PORT,
| PG_USER, PG_PASSWORD and DB_DATABASE (default tracking_bench, created
| when missing). Prints the report and writes it as Markdown.
|
*/

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { TestRedisServer } from '../tests/redis_server.ts'
import { mixDescription } from '../demo/traffic_mix.ts'
import { benchHttp, browserRequests, httpSummary, redisPer1000, type HttpResult } from './http.ts'
import { benchRecorder } from './recorder.ts'
import { benchCapacity, capacityLines } from './capacity.ts'
import {
  benchFreshApp,
  benchFreshAppSwitched,
  freshSummary,
  type FreshVariant,
} from './fresh_app.ts'
import { benchFlush, SAMPLED_RUNS, type FlushResult } from './flush.ts'
import {
  cleanups,
  fixed,
  int,
  median,
  mib,
  parseInfo,
  pgConnection,
  preparePg,
  redisClient,
  ROOT,
} from './lib.ts'

/** The P1 request mix, as docs/benchmarks.md states it */
const MIX = mixDescription(browserRequests(['/']))

const { values: args } = parseArgs({
  options: {
    'quick': { type: 'boolean', default: false },
    'only': { type: 'string' },
    'out': { type: 'string' },
    /* figures of an earlier `bench/selector.ts --json <file>` run instead of running it */
    'selector-json': { type: 'string' },
  },
})
const QUICK = args.quick
const SECTIONS = new Set(
  (args.only ?? 'p1,redis,p3,p6,p4,p5').split(',').map((name) => name.trim().toLowerCase())
)
if (SECTIONS.has('p2')) SECTIONS.add('p1')
const OUT = args.out
  ? new URL(args.out, `file://${process.cwd()}/`)
  : new URL(QUICK ? 'tmp/benchmarks-quick.md' : 'docs/benchmarks.md', ROOT)

/** Sizes of the two profiles */
const SIZES = QUICK
  ? {
      p1: { rounds: 1, seconds: 3, warmupSeconds: 2, connections: 50 },
      fresh: { rounds: 2, seconds: 3, warmupSeconds: 2, connections: 50 },
      p3: { calls: 200_000, rounds: 3 },
      p6: { batches: 5, requestsPerBatch: 10_000 },
      p4: { small: 1_000, large: 10_000, dbs: ['sqlite'] as const, autocommitSample: 50 },
      p5: { BENCH_DBS: 'sqlite', BENCH_PATHS: '100,1000', BENCH_ROUNDS: '3' },
      redis: { pipelined: 100_000, single: 20_000 },
    }
  : {
      p1: { rounds: 7, seconds: 5, warmupSeconds: 3, connections: 50 },
      fresh: { rounds: 8, seconds: 3, warmupSeconds: 2, connections: 50 },
      p3: { calls: 1_000_000, rounds: 5 },
      p6: { batches: 30, requestsPerBatch: 10_000 },
      p4: { small: 10_000, large: 100_000, dbs: ['sqlite', 'pg'] as const, autocommitSample: 300 },
      p5: {} as Record<string, string>,
      redis: { pipelined: 1_000_000, single: 100_000 },
    }

/** P5: the CSV export may cost this many JSON contexts of the same range */
const EXPORT_GOAL = 30

const started = Date.now()
const log = (line: string) => console.log(line)
const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`

/** One row of the goals table */
interface GoalRow {
  id: string
  what: string
  goal: string
  measured: string
  verdict: 'MET' | 'MISSED' | 'NOT RUN' | 'info'
}
const goals: GoalRow[] = []
const sections: string[] = []
/** sections that failed (not those skipped for a missing prerequisite) */
let failures = 0
const notRun = (id: string, what: string, goal: string, reason: string) =>
  goals.push({ id, what, goal, measured: `not run: ${reason}`, verdict: 'NOT RUN' })
const verdict = (ok: boolean) => (ok ? 'MET' : 'MISSED')
const errorText = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 160)

/* ------------------------------------------------------------------ */
/* machine                                                             */
/* ------------------------------------------------------------------ */

const redisServer = new TestRedisServer()
cleanups.add(() => redisServer.stop())
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    console.error(`\n${signal}: stopping the servers of the benchmark`)
    await Promise.allSettled([...cleanups].map(async (cleanup) => cleanup()))
    process.exit(130)
  })
}
await redisServer.start()
const redis = redisClient(redisServer.port)
const redisVersion = parseInfo(String(await redis.info('server'))).get('redis_version') ?? '?'
redis.disconnect()

let pgVersion: string | null = null
let pgProblem = ''
try {
  pgVersion = await preparePg()
} catch (error) {
  pgProblem = errorText(error)
}

const load = loadavg()
const machine = {
  cpu: cpus()[0]?.model?.trim() ?? 'unknown',
  cores: cpus().length,
  memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
  os: `${process.platform} ${release()}`,
  node: process.version,
  redis: redisVersion,
  pg: pgVersion ?? `unavailable (${pgProblem})`,
  loadBefore: load.map((value) => value.toFixed(2)).join(' '),
}
log(
  `adonis-tracking benchmarks (${QUICK ? 'quick' : 'full'}): ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, Redis ${machine.redis} on :${redisServer.port}, PostgreSQL ${machine.pg}`
)

try {
  /* ---------------------------------------------------------------- */
  /* P1 + P2                                                           */
  /* ---------------------------------------------------------------- */
  if (SECTIONS.has('p1')) {
    log(`\nP1/P2 request overhead and Redis round trips (${elapsed()})`)
    let result: HttpResult | undefined
    try {
      result = await benchHttp({ redisPort: redisServer.port, ...SIZES.p1, log })
    } catch (error) {
      const reason = errorText(error)
      log(`  failed: ${reason}`)
      failures++
      notRun('P1', 'req/s tracking on (buffer) / off', '>= 0.97', reason)
      notRun('P2', 'Redis round trips per 1,000 tracked requests', '<= 10', reason)
    }
    if (result) {
      const summary = httpSummary(result)
      const on = redisPer1000(result.redis.on)
      const wt = redisPer1000(result.redis.writeThrough)
      const rounds = (variant: keyof HttpResult['rps']) =>
        result!.rps[variant].map((value) => int(value)).join(', ')
      sections.push(`## P1 request overhead

The demo app (\`bin/server.ts\`, NODE_ENV=production, LOG_LEVEL=warn, SQLite, Redis store on the
private redis-server) under autocannon, ${result.connections} connections, ${result.seconds} s per variant and round,
rounds: ${result.rounds}, in the order on, off, control, write-through, then reversed in the next round, so
"on" and the control always run right next to "off" (once before, once after) and each round gives one
ratio of each. Pages \`/\`, \`/about\`, \`/posts/1..3\` in a realistic request mix (demo/traffic_mix.ts):
${MIX}, tracked as anonymous visitors (\`track_anonymous\` in config/cabinet.ts).
Variants: **off** \`TRACKING_ENABLED=false\`, **on** package defaults (bufferMs 1000),
**control** a second server with \`TRACKING_ENABLED=false\` (control/off would be 1 on a quiet machine,
so its spread is the noise of this run),
**write-through** \`TRACKING_BUFFER_MS=0\` (one Redis transaction per view, as the original module writes).
Failed requests (errors, timeouts, non-2xx): ${result.failures}. The goal figure is the median of the
per-round ratios (on/off per round: ${summary.onOffRounds.map((value) => fixed(value, 2)).join(', ')}; control/off:
${summary.controlOffRounds.map((value) => fixed(value, 2)).join(', ')}); the ratio of the medians is shown too.

| variant | req/s per round | median req/s | median p99 latency | vs off (median of per-round ratios) | ratio of medians |
| --- | --- | ---: | ---: | ---: | ---: |
| off | ${rounds('off')} | ${int(summary.medians.off)} | ${summary.p99.off} ms | 1 | 1 |
| control (off again) | ${rounds('control')} | ${int(summary.medians.control)} | ${summary.p99.control} ms | ${fixed(summary.controlOff, 3)} | ${fixed(summary.medians.control / summary.medians.off, 3)} |
| on (buffer) | ${rounds('on')} | ${int(summary.medians.on)} | ${summary.p99.on} ms | ${fixed(summary.onOff, 3)} | ${fixed(summary.onOffOfMedians, 3)} |
| write-through | ${rounds('writeThrough')} | ${int(summary.medians.writeThrough)} | ${summary.p99.writeThrough} ms | ${fixed(summary.writeThroughOff, 3)} | ${fixed(summary.writeThroughOffOfMedians, 3)} |

## P2 Redis commands and round trips

From \`INFO stats\` and \`INFO commandstats\` of the private redis-server before and after each loaded
window (the window ends 1.5 s after the load, so the buffer has sent everything). "Tracked
requests" are the views the day totals in Redis grew by (autocannon's 2xx count misses the requests in
flight when it stops: ${int(on.counted + wt.counted)} counted vs ${int(on.responses + wt.responses)} 2xx).
Round trips: every write of the package is a MULTI/EXEC transaction that ioredis sends in one write
and Redis answers at once, so a transaction is one round trip (counted by its \`exec\`); a standalone
command would be one more. Redis's own count of client reads (\`total_reads_processed\`, the INFO
call of the benchmark removed) is the cross-check: it sees every standalone command, and is lower
than \`exec\` when several transactions arrive in one read. The figure used is the larger of the two.

| variant | tracked requests | commands / 1,000 | transactions (exec) / 1,000 | client reads / 1,000 | **round trips / 1,000** | command mix / 1,000 |
| --- | ---: | ---: | ---: | ---: | ---: | --- |
| on (buffer) | ${int(on.counted)} | ${fixed(on.commandsPer1000, 1)} | ${fixed(on.pipelinesPer1000, 2)} | ${fixed(on.readsPer1000, 2)} | **${fixed(on.roundTripsPer1000, 2)}** | ${mix(on.commands, on.counted)} |
| write-through | ${int(wt.counted)} | ${fixed(wt.commandsPer1000, 1)} | ${fixed(wt.pipelinesPer1000, 1)} | ${fixed(wt.readsPer1000, 1)} | **${fixed(wt.roundTripsPer1000, 1)}** | ${mix(wt.commands, wt.counted)} |
`)
      goals.push({
        id: 'P1',
        what: 'req/s tracking on (buffer) / off',
        goal: '>= 0.97',
        measured: `${fixed(summary.onOff, 3)} (${int(summary.medians.on)} / ${int(summary.medians.off)} req/s)`,
        verdict: verdict(summary.onOff >= 0.97),
      })
      goals.push({
        id: 'P1',
        what: 'control: req/s of a 2nd server with tracking off / off (noise floor)',
        goal: '1 when quiet',
        measured: `${fixed(summary.controlOff, 3)} (rounds ${fixed(Math.min(...summary.controlOffRounds), 2)}..${fixed(Math.max(...summary.controlOffRounds), 2)})`,
        verdict: 'info',
      })
      goals.push({
        id: 'P1',
        what: 'req/s write-through (bufferMs 0) / off',
        goal: 'reported',
        measured: `${fixed(summary.writeThroughOff, 3)} (${int(summary.medians.writeThrough)} / ${int(summary.medians.off)} req/s)`,
        verdict: 'info',
      })
      goals.push({
        id: 'P2',
        what: 'Redis round trips per 1,000 tracked requests (buffer)',
        goal: '<= 10',
        measured: `${fixed(on.roundTripsPer1000, 2)} (${fixed(on.commandsPer1000, 1)} commands)`,
        verdict: verdict(on.counted > 0 && on.roundTripsPer1000 <= 10),
      })
      goals.push({
        id: 'P2',
        what: 'Redis round trips per 1,000 tracked requests (write-through, seed-like)',
        goal: 'reported',
        measured: `${fixed(wt.roundTripsPer1000, 0)} (${fixed(wt.commandsPer1000, 0)} commands)`,
        verdict: 'info',
      })
    }
    log(`\nP1 from outside: the packed tarball in a fresh app (${elapsed()})`)
    try {
      const fresh = await benchFreshApp({ redisPort: redisServer.port, ...SIZES.fresh, log })
      const summary = freshSummary(fresh)
      const rounds = (variant: FreshVariant) =>
        fresh.rps[variant].map((value) => int(value)).join(', ')
      const ratios = (values: number[]) => values.map((value) => fixed(value, 2)).join(', ')
      sections.push(`## P1 from outside: the packed tarball in a fresh app

\`npm pack\` of the package installed into a fresh AdonisJS 7 app (the e2e fixture,
tests/e2e/fixture_app.ts, plus @adonisjs/session and the @adonisjs/auth session guard initialized in
the router stack: bench/fresh_app.ts), \`node ace configure adonis-tracking --store=redis\`,
\`trackAnonymous: true\`, built with \`node ace build\` and served by \`node bin/server.js\` with
NODE_ENV=production, LOG_LEVEL=warn, Redis store on the private redis-server. Every request is
\`GET /light\` (\`router.get('/light', () => 'ok')\`) in the request mix of the demo section (${MIX}), as a guest:
each one is counted. autocannon, ${fresh.connections} connections, ${fresh.seconds} s per variant and round, ${fresh.rounds} rounds
in the order on, off, control, then reversed; every round boots three new server processes and warms each up
for ${SIZES.fresh.warmupSeconds} s (two processes of one build keep a req/s gap of up to 10-15 % for their whole life, so
long-lived servers would read that luck as the cost of tracking). **on** \`enabled: true\`, **off** and **control** (a
second server) \`enabled: false\`. The app was ${fresh.setup.reused ? 'reused from tmp/bench-fresh-app (same tarball)' : 'installed and built'}: ${fixed(fresh.setup.seconds, 0)} s of setup.
Views counted in Redis while "on" was loaded: ${int(fresh.counted.on)} (off: ${int(fresh.counted.off)}, control: ${int(fresh.counted.control)}).
Failed requests: ${fresh.failures}. Per-round ratios on/off: ${ratios(summary.onOffRounds)}; control/off: ${ratios(summary.controlOffRounds)}.
autocannon sends no cookie back, so every request starts a session (the same with tracking on or off).
A second view of the same windows: the CPU time (user + system, /proc/<pid>/stat) each server used per
request answered; off's over on's is the req/s ratio the app would show with a core of its own. It
does not depend on how the cores are shared out between the servers, but a busy machine makes it
noisy too (the control shows how much): per round on ${ratios(summary.cpuOnOffRounds)};
control: ${ratios(summary.cpuControlOffRounds)}).

| variant | req/s per round | median req/s | median p99 latency | vs off (median of per-round ratios) | CPU µs per request | CPU: off / variant |
| --- | --- | ---: | ---: | ---: | ---: | ---: |
| off | ${rounds('off')} | ${int(summary.medians.off)} | ${summary.p99.off} ms | 1 | ${fixed(summary.cpu.off, 0)} | 1 |
| control (off again) | ${rounds('control')} | ${int(summary.medians.control)} | ${summary.p99.control} ms | ${fixed(summary.controlOff, 3)} | ${fixed(summary.cpu.control, 0)} | ${fixed(summary.cpuControlOff, 3)} |
| on | ${rounds('on')} | ${int(summary.medians.on)} | ${summary.p99.on} ms | ${fixed(summary.onOff, 3)} | ${fixed(summary.cpu.on, 0)} | ${fixed(summary.cpuOnOff, 3)} |
`)
      goals.push({
        id: 'P1',
        what: 'req/s tracking on / off, packed tarball in a fresh app (session auth, light route, guests)',
        goal: '>= 0.97',
        measured: `${fixed(summary.onOff, 3)} (rounds ${ratios(summary.onOffRounds)})`,
        verdict: verdict(summary.onOff >= 0.97 && fresh.counted.on > 0 && fresh.failures === 0),
      })
      goals.push({
        id: 'P1',
        what: 'control: fresh app, a 2nd server with tracking off / off (noise floor)',
        goal: '1 when quiet',
        measured: `${fixed(summary.controlOff, 3)} (rounds ${ratios(summary.controlOffRounds)})`,
        verdict: 'info',
      })
      goals.push({
        id: 'P1',
        what: 'fresh app, CPU per request off / on (cross-check; control after it)',
        goal: 'reported',
        measured: `${fixed(summary.cpuOnOff, 3)} (${fixed(summary.cpu.on, 0)} vs ${fixed(summary.cpu.off, 0)} µs; control ${fixed(summary.cpuControlOff, 3)})`,
        verdict: 'info',
      })
    } catch (error) {
      const reason = errorText(error)
      log(`  failed: ${reason}`)
      failures++
      notRun('P1', 'req/s tracking on / off, packed tarball in a fresh app', '>= 0.97', reason)
    }
    log(`\nP1 from outside, one process switched per window (${elapsed()})`)
    try {
      const switched = await benchFreshAppSwitched({
        redisPort: redisServer.port,
        ...SIZES.fresh,
        log,
      })
      const ratio = median(switched.ratios)
      const list = (values: number[], digits: number) =>
        values.map((value) => fixed(value, digits)).join(', ')
      sections.push(`## P1 from outside, one process switched per window

The same built fresh app, but on and off are measured in ONE server process: each round boots one
process (tracking enabled), warms it up for ${SIZES.fresh.warmupSeconds} s, then loads it in four windows of ${switched.seconds} s, on,
off, off, on (the next round off, on, on, off), switching with \`GET /__bench/tracking/on|off\`; "off"
calls \`skipTracking(ctx)\` in the route, so the middleware still runs and returns at its first checks.
The round's ratio is the sum of its on windows' req/s over its off windows'; the figure is the median
of ${switched.rounds} rounds. Two processes of one build differ by up to 10-15 % in req/s for their whole life (the
control rows above show it): here both sides share the process. Views counted while on: ${int(switched.counted.on)}
(off: ${int(switched.counted.off)}). Failed requests: ${switched.failures}.

| | per round |
| --- | --- |
| on/off | ${list(switched.ratios, 3)} |
| on req/s (windows) | ${list(switched.rps.on, 0)} |
| off req/s (windows) | ${list(switched.rps.off, 0)} |
`)
      goals.push({
        id: 'P1',
        what: 'req/s tracking on / off, fresh app, one process switched per window (ABBA)',
        goal: '>= 0.97',
        measured: `${fixed(ratio, 3)} (rounds ${list(switched.ratios, 2)})`,
        verdict: verdict(
          ratio >= 0.97 &&
            switched.counted.on > 0 &&
            switched.counted.off === 0 &&
            switched.failures === 0
        ),
      })
    } catch (error) {
      const reason = errorText(error)
      log(`  failed: ${reason}`)
      failures++
      notRun('P1', 'req/s tracking on / off, fresh app, one process switched', '>= 0.97', reason)
    }
  }

  /* ---------------------------------------------------------------- */
  /* Redis reference                                                   */
  /* ---------------------------------------------------------------- */
  if (SECTIONS.has('redis')) {
    log(`\nRedis reference: redis-benchmark HINCRBY (${elapsed()})`)
    try {
      const pipelined = await redisBenchmark(['-P', '100', '-n', String(SIZES.redis.pipelined)])
      const single = await redisBenchmark(['-P', '1', '-n', String(SIZES.redis.single)])
      log(`  pipelined (-P 100): ${int(pipelined)} HINCRBY/s, one per round trip: ${int(single)}/s`)
      sections.push(`## Redis reference

\`redis-benchmark -h 127.0.0.1 -p <private port> -c 50 -r 100000 -q <flags> HINCRBY bench:tracking:views field:__rand_int__ 1\`
on the same machine and redis-server, for scale: the write path sends its views as such HINCRBYs.

| flags | HINCRBY/s |
| --- | ---: |
| \`-P 100 -n ${int(SIZES.redis.pipelined)}\` (pipelined) | ${int(pipelined)} |
| \`-P 1 -n ${int(SIZES.redis.single)}\` (one command per round trip) | ${int(single)} |
`)
      goals.push({
        id: 'ref',
        what: 'redis-benchmark pipelined HINCRBY (-P 100)',
        goal: 'reference',
        measured: `${int(pipelined)}/s (unpipelined ${int(single)}/s)`,
        verdict: 'info',
      })
    } catch (error) {
      log(`  failed: ${errorText(error)}`)
      failures++
      notRun('ref', 'redis-benchmark pipelined HINCRBY', 'reference', errorText(error))
    }
  }

  /* ---------------------------------------------------------------- */
  /* P3                                                                */
  /* ---------------------------------------------------------------- */
  if (SECTIONS.has('p3')) {
    log(`\nP3 recorder throughput (${elapsed()})`)
    try {
      const results = await benchRecorder(SIZES.p3)
      for (const [name, perSecond] of Object.entries(results)) {
        log(`  ${name === 'event()' ? name : `record() ${name}`}: ${int(perSecond)} calls/s`)
      }
      sections.push(`## P3 recorder throughput

\`TrackingRecorder.record()\` in process (bench/recorder.ts): ${int(SIZES.p3.calls)} calls per round, ${SIZES.p3.rounds} rounds,
median, after a warm-up; memory store with a 60 s buffer so only the recording path (eligibility, path,
day, visitor, buffer coalescing) is timed. 200 distinct paths; authenticated = 50 user ids; anonymous =
salted-hash visitor from ip + user agent (\`trackAnonymous\`); bot = rejected by the bot check. Every
dimension but countries is on by default; dimensions mix = every dimension on (countries from
CF-IPCountry), anonymous views from 240 distinct user agents, 50 referrers and direct views, UTM tags
on 10 % of the requests, client hints on a quarter. With 3 path goals, 2 funnels = authenticated views
with \`goals\` and two \`funnels\` over them configured (a third of the paths reach a goal, and a
step of a funnel); event() = \`tracking.event(ctx, 'signup', { plan })\`
for 50 users and 3 plans (calls/s of event(), not record()).

| case | calls/s |
| --- | ---: |
${Object.entries(results)
  .map(([name, perSecond]) => `| ${name} | ${int(perSecond)} |`)
  .join('\n')}
`)
      for (const name of ['authenticated', 'anonymous', 'dimensions mix']) {
        goals.push({
          id: 'P3',
          what: `record() calls/s, ${name} page view`,
          goal: '>= 1,000,000/s',
          measured: `${int(results[name])}/s`,
          verdict: verdict(results[name] >= 1_000_000),
        })
      }
      goals.push({
        id: 'P3',
        what: "event() calls/s, tracking.event(ctx, 'signup', { plan })",
        goal: '>= 1,000,000/s',
        measured: `${int(results['event()'])}/s`,
        verdict: verdict(results['event()'] >= 1_000_000),
      })
    } catch (error) {
      log(`  failed: ${errorText(error)}`)
      failures++
      notRun('P3', 'record() calls/s', '>= 1,000,000/s', errorText(error))
    }
  }

  /* ---------------------------------------------------------------- */
  /* P6                                                                */
  /* ---------------------------------------------------------------- */
  if (SECTIONS.has('p6')) {
    log(`\nP6 capacity of one Redis node (${elapsed()})`)
    try {
      const result = await benchCapacity({ port: redisServer.port, ...SIZES.p6 })
      const lines = capacityLines(result)
      for (const line of lines) log(`  ${line}`)
      sections.push(`## P6 capacity of one Redis node

bench/capacity.ts: "one second of a busy process" recorded through the real recorder and write
buffer (every dimension on, countries from CF-IPCountry, the P3 dimensions mix: 200 paths, 240 user
agents, 50 referrers, UTM tags on 10 %, anonymous visitors) and written to the private
redis-server as the one batch such a second produces; every simulated second brings other
visitors. A process sends one batch per \`bufferMs\` whatever its traffic, so the Redis cost of a
tracked request does not depend on how many processes share the node, and one node absorbs
1 s / (Redis CPU per tracked request) of fleet traffic. Redis CPU is the redis-server process's
own (INFO used_cpu_user + used_cpu_sys, parsing included); the script time (INFO commandstats)
is wall time inside the script and includes the moments the shared machine ran something else.

${lines.map((line) => `- ${line}`).join('\n')}
`)
      goals.push({
        id: 'P6',
        what: 'tracked requests/s of fleet traffic one Redis node absorbs (Redis CPU per request)',
        goal: '>= 1,000,000/s',
        measured: `${int(result.requestsPerSecondPerNode)}/s (${fixed(result.cpuPerRequestUs, 3)} µs per request)`,
        verdict: verdict(result.requestsPerSecondPerNode >= 1_000_000),
      })
    } catch (error) {
      log(`  failed: ${errorText(error)}`)
      failures++
      notRun('P6', 'tracked requests/s one Redis node absorbs', '>= 1,000,000/s', errorText(error))
    }
  }

  /* ---------------------------------------------------------------- */
  /* P4                                                                */
  /* ---------------------------------------------------------------- */
  if (SECTIONS.has('p4')) {
    log(`\nP4 flush of one day (${elapsed()})`)
    const results: FlushResult[] = []
    for (const db of SIZES.p4.dbs) {
      if (db === 'pg' && !pgVersion) {
        notRun('P4', 'flush vs naive loop, PostgreSQL', '>= 50x faster', `PostgreSQL ${pgProblem}`)
        continue
      }
      try {
        results.push(await benchFlush({ db, redisPort: redisServer.port, ...SIZES.p4, log }))
      } catch (error) {
        log(`  ${db} failed: ${errorText(error)}`)
        failures++
        notRun('P4', `flush vs naive loop, ${db}`, '>= 50x faster', errorText(error))
      }
    }
    if (results.length > 0) {
      const flatLimit = (result: FlushResult) => 1.5 * result.small.retainedHeapDelta + 2 ** 20
      sections.push(`## P4 flush of one day

\`flushPageViews(manager, db, { date })\` (src/flush.ts) of one day holding ${int(SIZES.p4.large)} distinct paths
(1..50 views each) in the private Redis, into empty tables, vs a naive loop: HGETALL of the day,
then one \`INSERT ... ON CONFLICT DO UPDATE SET views = views + ?\` per path. The naive loop runs in
**one transaction**, its fastest form; with a commit per row, as the original module's ORM loop
runs under autocommit, every row pays a commit (fsync): that rate is measured on a
${SIZES.p4.autocommitSample}-row sample and extrapolated (last column). SQLite file in tmp/, PostgreSQL database
\`${pgConnection().database}\`. Rows in SQL are checked after every run.

Memory: **retained heap** = largest \`heapUsed\` after a full GC, over a baseline taken after a GC,
sampled before every chunk the flush reads (untimed runs after the timed one: the median of ${SAMPLED_RUNS}) and 4 times during the naive loop;
**peak heap** / **peak RSS** = largest value sampled every 5 ms during the timed run (peak heap
includes garbage not collected yet). "Flat" = retained heap at ${int(SIZES.p4.large)} paths <= 1.5 x the
retained heap at ${int(SIZES.p4.small)} paths + 1 MiB.

| db | run | paths | time | retained heap | peak heap | peak RSS | naive / flush |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |
${results
  .map((result) =>
    [
      row(result.db, 'flush', result.small, ''),
      row(result.db, 'flush', result.large, ''),
      row(
        result.db,
        'naive (1 transaction)',
        result.naive,
        `**${fixed(result.naive.ms / result.large.ms, 1)}x**`
      ),
      `| ${result.db} | naive, commit per row (extrapolated) | ${int(result.large.paths)} | ${fixed((result.naiveAutocommitMsPerRow * result.large.paths) / 1000, 0)} s | | | | ${fixed((result.naiveAutocommitMsPerRow * result.large.paths) / result.large.ms, 0)}x |`,
    ].join('\n')
  )
  .join('\n')}
`)
      for (const result of results) {
        const speedup = result.naive.ms / result.large.ms
        goals.push({
          id: 'P4',
          what: `flush ${int(result.large.paths)} paths vs naive loop in one transaction, ${result.db}`,
          goal: '>= 50x faster',
          measured: `${fixed(speedup, 1)}x (${fixed(result.large.ms / 1000, 2)} s vs ${fixed(result.naive.ms / 1000, 2)} s)`,
          verdict: verdict(speedup >= 50),
        })
        const autocommit = (result.naiveAutocommitMsPerRow * result.large.paths) / result.large.ms
        goals.push({
          id: 'P4',
          what: `flush vs naive loop with a commit per row (seed-like, extrapolated), ${result.db}`,
          goal: '>= 50x faster',
          measured: `${fixed(autocommit, 0)}x (${fixed(result.naiveAutocommitMsPerRow, 2)} ms/row x ${int(result.large.paths)})`,
          verdict: 'info',
        })
        const flat = result.large.retainedHeapDelta <= flatLimit(result)
        goals.push({
          id: 'P4',
          what: `flush memory flat, ${result.db} (retained heap ${int(result.small.paths)} -> ${int(result.large.paths)} paths)`,
          goal: 'flat',
          measured: `${mib(result.small.retainedHeapDelta)} -> ${mib(result.large.retainedHeapDelta)} (naive ${mib(result.naive.retainedHeapDelta)})`,
          verdict: verdict(flat),
        })
      }
    }
  }

  /* ---------------------------------------------------------------- */
  /* P5                                                                */
  /* ---------------------------------------------------------------- */
  if (SECTIONS.has('p5')) {
    log(`\nP5 analytics context: bench/selector.ts (${elapsed()})`)
    await runSelector()
  }
} finally {
  await redisServer.stop()
}

/* ------------------------------------------------------------------ */
/* report                                                              */
/* ------------------------------------------------------------------ */

const command = `npm run bench${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`
const report = `# Benchmarks

Produced by \`${command}\` (bench/run.ts) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC
in ${elapsed()}. Every goal is a ratio of two figures measured in this run, but P3 and P6: they
are rates, so they follow the machine (the redis-benchmark reference row gives its scale). A
missed goal stays in the table with its measured value.

## Machine

| | |
| --- | --- |
| CPU | ${machine.cpu}, ${machine.cores} cores |
| memory | ${machine.memory} |
| OS | ${machine.os} |
| Node | ${machine.node} |
| Redis | ${machine.redis} (a private redis-server started by the benchmark) |
| PostgreSQL | ${machine.pg} |
| load average (1/5/15 min) | ${machine.loadBefore} at the start, ${loadavg()
  .map((value) => value.toFixed(2))
  .join(' ')} at the end |

The machine is shared (other jobs run tests at the same time): rounds alternate and figures are
medians so that a slow phase hits both sides of a ratio.

## Goals

| | measure | goal | measured | result |
| --- | --- | --- | --- | --- |
${goals.map((goal) => `| ${goal.id} | ${goal.what} | ${goal.goal} | ${goal.measured} | ${goal.verdict === 'MET' || goal.verdict === 'MISSED' ? `**${goal.verdict}**` : goal.verdict} |`).join('\n')}

${sections.join('\n')}`

mkdirSync(new URL('./', OUT), { recursive: true })
writeFileSync(OUT, report)
console.log(`\n${report}`)
console.log(`written to ${fileURLToPath(OUT)} (${elapsed()})`)
if (failures > 0) process.exitCode = 1

/* ------------------------------------------------------------------ */
/* helpers                                                             */
/* ------------------------------------------------------------------ */

function mix(commands: Map<string, number>, counted: number): string {
  if (counted === 0) return ''
  return [...commands]
    .sort((a, b) => b[1] - a[1])
    .map(
      ([name, calls]) => `${name} ${fixed((calls / counted) * 1000, calls / counted > 0.1 ? 0 : 2)}`
    )
    .join(', ')
}

function row(db: string, run: string, result: FlushResult['small'], ratio: string) {
  return `| ${db} | ${run} | ${int(result.paths)} | ${fixed(result.ms / 1000, 2)} s | ${mib(result.retainedHeapDelta)} | ${mib(result.peakHeapDelta)} | ${mib(result.peakRssDelta)} | ${ratio} |`
}

/** HINCRBY/s from redis-benchmark against the private server */
async function redisBenchmark(flags: string[]): Promise<number> {
  const child = spawn(
    'redis-benchmark',
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(redisServer.port),
      '-c',
      '50',
      '-r',
      '100000',
      '-q',
      ...flags,
      'HINCRBY',
      'bench:tracking:views',
      'field:__rand_int__',
      '1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] }
  )
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
  const [code] = await once(child, 'exit')
  clearTimeout(timer)
  const matches = [...output.matchAll(/([\d.]+) requests per second/g)]
  if (code !== 0 || matches.length === 0) {
    throw new Error(`redis-benchmark failed (exit ${code}): ${output.trim().slice(-200)}`)
  }
  return Number(matches[matches.length - 1][1])
}

/**
 * P5: bench/selector.ts --json <file>, in a child process with the same
 * loader flags, on the private Redis
 */
async function runSelector() {
  const goalRows = (reason: string) => {
    notRun('P5', 'analytics context t(10k paths) / t(1k paths)', '<= 3', reason)
    notRun('P5', 'analytics context cold / cached (dashboard cache)', '>= 100x', reason)
  }
  const given = args['selector-json']
  const jsonFile = given
    ? new URL(given, `file://${process.cwd()}/`)
    : new URL(`tmp/bench-selector-${process.pid}.json`, ROOT)
  if (given) {
    log(`  figures from ${fileURLToPath(jsonFile)}`)
    if (!existsSync(jsonFile)) return goalRows(`no file ${fileURLToPath(jsonFile)}`)
  } else if (!(await spawnSelector(jsonFile, goalRows))) {
    return
  }
  await reportSelector(jsonFile, goalRows, !given)
}

/**
 * Runs bench/selector.ts --json in a child process; false (with the goal
 * rows filled in) when it could not
 */
async function spawnSelector(jsonFile: URL, goalRows: (reason: string) => void) {
  const source = readFileSync(new URL('bench/selector.ts', ROOT), 'utf8')
  if (!source.includes('--json')) {
    const reason = 'bench/selector.ts has no --json flag in this branch yet'
    log(`  ${reason}`)
    goalRows(reason)
    return false
  }
  mkdirSync(new URL('tmp/', ROOT), { recursive: true })
  rmSync(jsonFile, { force: true })
  const quick = QUICK && source.includes('--quick') ? ['--quick'] : []
  const pg = pgConnection()
  const child = spawn(
    process.execPath,
    [...process.execArgv, 'bench/selector.ts', '--json', fileURLToPath(jsonFile), ...quick],
    {
      cwd: fileURLToPath(ROOT),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        REDIS_HOST: '127.0.0.1',
        REDIS_PORT: String(redisServer.port),
        PG_HOST: pg.host,
        PG_PORT: String(pg.port),
        PG_USER: pg.user,
        PG_PASSWORD: pg.password,
        ...(pgVersion ? {} : { BENCH_DBS: 'sqlite', BENCH_EXPORT_DBS: 'sqlite' }),
        ...SIZES.p5,
      },
    }
  )
  let tail = ''
  const relay = (chunk: Buffer) => {
    const text = chunk.toString()
    tail = (tail + text).slice(-400)
    for (const line of text.split('\n')) if (line.trim()) log(`  | ${line}`)
  }
  child.stdout.on('data', relay)
  child.stderr.on('data', relay)
  const timer = setTimeout(() => child.kill('SIGKILL'), QUICK ? 180_000 : 360_000)
  const [code, signal] = await once(child, 'exit')
  clearTimeout(timer)
  if (code !== 0 || !existsSync(jsonFile)) {
    const reason =
      signal === 'SIGKILL'
        ? 'bench/selector.ts took too long (killed)'
        : `bench/selector.ts failed (exit ${code}): ${tail.trim().split('\n').pop()}`
    failures++
    goalRows(reason)
    return false
  }
  return true
}

/** The CSV export figures of bench/selector.ts --json, per database */
type ExportFigures = Record<
  string,
  {
    paths?: number
    days?: number
    csvRows?: number
    exportMs?: number
    contextMs?: number
    ratio?: number
  }
>

/**
 * The CSV export of bench/selector.ts: its table (for the P5 section) and
 * goal rows. Before, the export rebuilt a context per 100 rows (120
 * contexts for 12,000 paths); it now reads its rows once, so it must cost
 * a few contexts at most.
 */
function exportSection(exports: ExportFigures): string {
  const entries = Object.entries(exports)
  if (entries.length === 0) {
    notRun(
      'P5',
      'CSV export / JSON context',
      `<= ${EXPORT_GOAL}`,
      'bench/selector.ts ran no export'
    )
    return ''
  }
  for (const [db, r] of entries) {
    const ratio = Number(r.ratio)
    goals.push({
      id: 'P5',
      what: `CSV export of ${int(r.paths ?? Number.NaN)} paths x ${r.days ?? '?'} days / JSON context, ${db}`,
      goal: `<= ${EXPORT_GOAL}`,
      measured: fixed(ratio, 1),
      verdict: Number.isFinite(ratio) ? verdict(ratio <= EXPORT_GOAL) : 'NOT RUN',
    })
  }
  return `
CSV export (\`export.csv?dataset=pages\`: \`TrackingSelector.exportPages\` written through the
streaming CSV writer, read to the end) of every path of the range against the JSON context of the
same range (\`getAnalyticsContext\` + \`JSON.stringify\`), median of rounds. Goal: at most
${EXPORT_GOAL} contexts (the export used to build one context per 100 rows: 120 for 12,000 paths).

| db | paths x days | CSV rows | CSV export | JSON context | ratio |
| --- | ---: | ---: | ---: | ---: | ---: |
${entries
  .map(
    ([db, r]) =>
      `| ${db} | ${int(r.paths ?? Number.NaN)} x ${r.days ?? '?'} | ${int(r.csvRows ?? Number.NaN)} | ${fixed(r.exportMs ?? Number.NaN, 1)} ms | ${fixed(r.contextMs ?? Number.NaN, 1)} ms | ${fixed(r.ratio ?? Number.NaN, 1)} |`
  )
  .join('\n')}
`
}

/** Adds the P5 section and goal rows from the --json file of bench/selector.ts */
async function reportSelector(
  jsonFile: URL,
  goalRows: (reason: string) => void,
  removeFile: boolean
) {
  let data: {
    sizes?: { days?: number; small?: number; large?: number }
    results?: Record<
      string,
      { t1kMs?: number; t10kMs?: number; ratio?: number; cachedMs?: number; cachedSpeedup?: number }
    >
    exports?: ExportFigures
  }
  try {
    data = JSON.parse(readFileSync(jsonFile, 'utf8'))
  } catch (error) {
    failures++
    goalRows(`unreadable ${fileURLToPath(jsonFile)}: ${errorText(error)}`)
    return
  } finally {
    if (removeFile) rmSync(jsonFile, { force: true })
  }
  const sizes = data.sizes ?? {}
  const small = int(sizes.small ?? Number.NaN)
  const large = int(sizes.large ?? Number.NaN)
  const entries = Object.entries(data.results ?? {})
  if (entries.length === 0) {
    goalRows('bench/selector.ts wrote no results')
    return
  }
  sections.push(`## P5 analytics context

\`bench/selector.ts --json\`: \`TrackingSelector.getAnalyticsContext\` over ${sizes.days ?? '?'} days (compared with
the ${sizes.days ?? '?'} days before) with ${small} and ${large} paths a day, SQL rows for past days and
today live in the private Redis; cold = full computation (median of rounds), cached = through the
dashboard provider's cache.

| db | t(${small} paths) | t(${large} paths) | ratio | cached | cold / cached |
| --- | ---: | ---: | ---: | ---: | ---: |
${entries
  .map(
    ([db, r]) =>
      `| ${db} | ${fixed(r.t1kMs ?? Number.NaN, 1)} ms | ${fixed(r.t10kMs ?? Number.NaN, 1)} ms | ${fixed(r.ratio ?? Number.NaN, 2)} | ${fixed(r.cachedMs ?? Number.NaN, 4)} ms | ${int(r.cachedSpeedup ?? Number.NaN)}x |`
  )
  .join('\n')}
${exportSection(data.exports ?? {})}`)
  for (const [db, r] of entries) {
    const ratio = Number(r.ratio)
    goals.push({
      id: 'P5',
      what: `analytics context t(${large} paths) / t(${small} paths), ${db}`,
      goal: '<= 3',
      measured: fixed(ratio, 2),
      verdict: Number.isFinite(ratio) ? verdict(ratio <= 3) : 'NOT RUN',
    })
  }
  for (const [db, r] of entries) {
    const speedup = Number(r.cachedSpeedup)
    goals.push({
      id: 'P5',
      what: `analytics context cold / cached, ${db}`,
      goal: '>= 100x',
      measured: `${int(speedup)}x`,
      verdict: Number.isFinite(speedup) ? verdict(speedup >= 100) : 'NOT RUN',
    })
  }
}
