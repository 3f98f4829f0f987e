/*
|--------------------------------------------------------------------------
| R2: flush exactly once (SIGKILLed flushers, concurrent flushers)
|--------------------------------------------------------------------------
|
| While the demo app serves traffic and a second app instance (this
| process, through the package's recorder) counts views of thousands of
| distinct paths into the same Redis, flushers are started and SIGKILLed
| at a random moment of their flush, one after the other; then 4 flushers
| run at once; then the app stops (SIGTERM drains it) and a final
| `node ace flush_page_views` runs. Every view sent must be in SQL once.
|
*/

import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { TrackingManager } from '../../src/manager.ts'
import { resolveSettings } from '../../src/settings.ts'
import { RedisStore } from '../../src/stores/redis_store.ts'
import { TestRedisServer } from '../../tests/redis_server.ts'
import { formatNumber, percentile, type Report } from './checks.ts'
import { Load } from './load.ts'
import { DemoApp, NODE_FLAGS, ROOT, ace, appEnv, type DbName } from './processes.ts'
import { KEYS, liveTotal } from './redis_counts.ts'
import { closeDatabase, openDatabase, sumOf, truncateTracking } from './sql.ts'

/** Sizes of R2 */
export interface FlushOptions {
  kills: number
  concurrentMs: number
  /** HTTP requests per second to the demo app */
  rate: number
  /** views per second recorded by the second instance */
  directRate: number
  /** distinct paths of the second instance */
  paths: number
}

/** Flusher processes still alive, killed when the scenario ends early */
const alive = new Set<ChildProcess>()

/** A flusher process (bench/soak/flusher.ts); clusterPorts: on a local Redis Cluster (R6) */
export function startFlusher(
  db: DbName,
  redisPort: number,
  mode: 'once' | 'loop',
  clusterPorts?: number[]
) {
  const child = spawn(process.execPath, [...NODE_FLAGS, 'bench/soak/flusher.ts'], {
    cwd: ROOT,
    env: { ...process.env, SOAK_FLUSHER: JSON.stringify({ db, redisPort, mode, clusterPorts }) },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  alive.add(child)
  child.once('exit', () => alive.delete(child))
  let output = ''
  let flushingAt = 0
  let doneAt = 0
  let onReady: () => void
  let onFlushing: () => void
  const ready = new Promise<void>((resolve) => (onReady = resolve))
  const flushing = new Promise<void>((resolve) => (onFlushing = resolve))
  child.stdout.on('data', (chunk) => {
    output += chunk
    if (output.includes('ready')) onReady()
    if (!flushingAt && output.includes('flushing')) {
      flushingAt = performance.now()
      onFlushing()
    }
    if (!doneAt && output.includes('done')) doneAt = performance.now()
  })
  child.stderr.on('data', (chunk) => (output += chunk))
  const exit = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }))
  const exited = exit.then(() => {
    throw new Error(`a flusher exited before it was started: ${output}`)
  })
  exited.catch(() => {})
  return {
    child,
    /** booted and connected */
    ready: Promise.race([ready, exited]),
    /** tells it to flush; resolves when it has begun */
    go: async () => {
      await Promise.race([ready, exited])
      child.stdin.end('go\n')
      await Promise.race([flushing, exit])
    },
    exit,
    output: () => output,
    flushMs: () => (doneAt && flushingAt ? doneAt - flushingAt : Number.NaN),
  }
}

export async function flushExactlyOnce(report: Report, db: DbName, options: FlushOptions) {
  const S = `R2 ${db === 'pg' ? 'PostgreSQL' : db === 'sqlite' ? 'SQLite' : 'MySQL'}`
  const redisServer = await new TestRedisServer().start()
  const probe = new Redis({ host: '127.0.0.1', port: redisServer.port })
  const instanceClient = new Redis({ host: '127.0.0.1', port: redisServer.port })
  const database = openDatabase(db)
  let app: DemoApp | undefined
  let recording: NodeJS.Timeout | undefined
  try {
    await truncateTracking(database)
    await probe.del('soak:stop')
    /*
     * Every flusher process boots first, before any traffic (booting ten
     * processes at once would stall the app and make clients time out on
     * requests the app still counts); each then waits for its turn
     */
    const modes: Array<'once' | 'loop'> = [
      'once',
      ...Array.from({ length: options.kills }, () => 'once' as const),
      'loop',
      'loop',
      'loop',
      'loop',
    ]
    const flushers: Array<ReturnType<typeof startFlusher>> = []
    for (let start = 0; start < modes.length; start += 5) {
      const batch = modes
        .slice(start, start + 5)
        .map((mode) => startFlusher(db, redisServer.port, mode))
      await Promise.all(batch.map((flusher) => flusher.ready))
      flushers.push(...batch)
    }
    const reference = flushers[0]
    const killed = flushers.slice(1, 1 + options.kills)
    const concurrent = flushers.slice(1 + options.kills)

    app = await DemoApp.start(appEnv({ db, redisPort: redisServer.port }))

    /* a second app instance: the package's recorder in this process */
    const instance = new TrackingManager(
      resolveSettings({ trackAnonymous: true, bufferMs: 250 }),
      new RedisStore({ client: () => instanceClient, keyPrefix: 'tracking', ttlSeconds: 86_400 })
    )
    let direct = 0
    const perTick = Math.max(1, Math.round(options.directRate / 20))
    recording = setInterval(() => {
      for (let i = 0; i < perTick; i++, direct++) {
        instance.recorder.recordView({
          path: `/soak/page-${direct % options.paths}`,
          visitor: `visitor-${direct % 997}`,
        })
      }
    }, 50)
    /* a client that gives up on a slow answer would not know the app counted it: wait long */
    const load = new Load({ port: app.port, rate: options.rate, timeoutMs: 120_000 }).start()
    await sleep(1500)

    /* one flush to the end: how long the flush itself takes */
    await reference.go()
    const referenceExit = await reference.exit
    if (referenceExit.code !== 0) throw new Error(`flusher failed: ${reference.output()}`)
    const flushMs = reference.flushMs()

    /* SIGKILL at a random moment between "flushing" and the expected end */
    let killedMidFlush = 0
    let finishedFirst = 0
    const killDelays: number[] = []
    for (const flusher of killed) {
      await sleep(300)
      await flusher.go()
      const delay = Math.random() * Math.max(flushMs, 50) * 1.1
      killDelays.push(delay)
      await sleep(delay)
      flusher.child.kill('SIGKILL')
      const exit = await flusher.exit
      if (exit.signal === 'SIGKILL') {
        if ((await probe.hlen(KEYS.flushes())) > 0) killedMidFlush++
      } else if (exit.code === 0) {
        finishedFirst++
      } else {
        throw new Error(`flusher failed: ${flusher.output()}`)
      }
    }
    const leftAside = await probe.hlen(KEYS.flushes())

    /* 4 flushers at once, in a loop, while traffic flows */
    await Promise.all(concurrent.map((flusher) => flusher.go()))
    await sleep(options.concurrentMs)
    await probe.set('soak:stop', '1')
    const exits = await Promise.all(concurrent.map((flusher) => flusher.exit))
    const concurrentRuns = concurrent.map((flusher) => {
      const match = /done (\{.*\})/.exec(flusher.output())
      return match ? (JSON.parse(match[1]) as { runs: number; recovered: number }) : null
    })

    /* traffic stops; both instances drain; the real command flushes the rest */
    clearInterval(recording)
    recording = undefined
    await load.stop()
    await instance.shutdown()
    const appExit = await app.stop('SIGTERM')
    const final = await ace(['flush_page_views'], appEnv({ db, redisPort: redisServer.port }))

    if (final.code !== 0) report.note(S, `flush_page_views said: ${final.output.trim()}`)
    const http = load.samples.filter((sample) => sample.status === 200).length
    const sent = http + direct - instance.buffer.droppedViews
    const pageViews = await sumOf(database, 'tracking_page_views')
    const dailyViews = await sumOf(database, 'tracking_daily_stats')
    const live = await liveTotal(probe)
    const pending = await probe.hlen(KEYS.flushes())

    report.figure(
      S,
      'traffic',
      `${formatNumber(http)} HTTP page views answered 200 + ${formatNumber(direct)} views of ${formatNumber(options.paths)} paths from a second instance`
    )
    const unanswered = load.samples.length - http
    report.figure(
      S,
      'HTTP requests not answered 200',
      `${unanswered}${unanswered ? ' (a client timeout makes the count uncertain: the app may have counted it)' : ''}`
    )
    report.figure(S, 'one flush (measured first)', `${formatNumber(flushMs)} ms`)
    report.figure(
      S,
      'SIGKILLed flushers',
      `${options.kills} (delay after flush start: median ${formatNumber(percentile(killDelays, 50))} ms); ${killedMidFlush} left a flush taken aside, ${finishedFirst} finished before the kill, ${leftAside} taken-aside flush(es) waiting before the concurrent phase`
    )
    report.figure(
      S,
      'concurrent flushers',
      `4 for ${formatNumber(options.concurrentMs / 1000)} s: ${concurrentRuns.map((r) => r?.runs ?? '?').join(' + ')} runs, ${concurrentRuns.reduce((sum, r) => sum + (r?.recovered ?? 0), 0)} interrupted flush(es) recovered`
    )
    report.check(
      S,
      'concurrent flushers exit 0',
      exits.every((exit) => exit.code === 0),
      exits.map((exit) => exit.code ?? exit.signal).join(', '),
      '0, 0, 0, 0'
    )
    report.check(
      S,
      'app drains on SIGTERM and final flush_page_views exits 0',
      appExit.code === 0 && final.code === 0,
      `app exit ${appExit.code ?? appExit.signal}, flush exit ${final.code}`,
      '0 and 0'
    )
    report.check(
      S,
      'SQL page views == views sent',
      pageViews === sent,
      `${formatNumber(pageViews)} vs ${formatNumber(sent)} sent`,
      'exact'
    )
    report.check(
      S,
      'SQL daily totals == views sent',
      dailyViews === sent,
      `${formatNumber(dailyViews)} vs ${formatNumber(sent)} sent`,
      'exact'
    )
    report.check(
      S,
      'nothing left in Redis',
      live === 0 && pending === 0,
      `${live} live views, ${pending} taken-aside flushes`,
      '0'
    )
  } finally {
    for (const child of alive) child.kill('SIGKILL')
    clearInterval(recording)
    await app?.stop('SIGKILL')
    probe.disconnect()
    instanceClient.disconnect()
    await closeDatabase(database)
    await redisServer.stop()
  }
}
