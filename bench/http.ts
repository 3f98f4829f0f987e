/**
 * P1 request overhead and P2 Redis round trips: the demo app under
 * autocannon, tracking off vs on (Redis store, default buffer) vs
 * write-through (bufferMs: 0), in alternating rounds, against a private
 * redis-server whose INFO counters nobody else moves.
 *
 * The variants run as demo servers booted once; each round loads them one
 * after the other, on-off-control-write-through then the reverse, so "on"
 * and the control always run right next to "off" (their ratios are taken
 * within the round), once before and once after it: slow phases of a noisy
 * machine hit both sides of a ratio alike.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import type { Redis } from 'ioredis'
import { freePort } from '../tests/redis_server.ts'
import { TrackingKeys } from '../src/stores/keys.ts'
import { mixedRequests } from '../demo/traffic_mix.ts'
import { cleanups, commandCalls, median, parseInfo, redisClient, ROOT } from './lib.ts'

/** The part of autocannon's result the benchmark reads */
interface AutocannonResult {
  'duration': number
  'errors': number
  'timeouts': number
  'non2xx': number
  '2xx': number
  'latency': { p50: number; p99: number }
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

/**
 * The configurations of the demo app that are compared. `control` is a
 * second server with tracking off: control/off is the noise floor of the run
 * (1 on a quiet machine), against which on/off can be judged.
 */
export type Variant = 'off' | 'on' | 'control' | 'writeThrough'
/** In the order of the even rounds; odd rounds run it reversed */
export const VARIANTS: readonly Variant[] = ['on', 'off', 'control', 'writeThrough']

/** Env of each variant on top of the common one (unset = package default) */
const VARIANT_ENV: Record<Variant, Record<string, string>> = {
  off: { TRACKING_ENABLED: 'false' },
  on: {},
  control: { TRACKING_ENABLED: 'false' },
  writeThrough: { TRACKING_BUFFER_MS: '0' },
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux) */
const CLOCK_TICKS = 100

/** The package default of bufferMs: how long the "on" variant may hold views */
const DEFAULT_BUFFER_MS = 1000

/** Pages of the demo that are counted (anonymous visitors are tracked) */
const PAGES = ['/', '/about', '/posts/1', '/posts/2', '/posts/3']

/**
 * The realistic request mix of demo/traffic_mix.ts over the paths in turn:
 * 400 requests, 218 distinct user agents (Chrome, Firefox, Safari, Edge
 * across versions, OSes and devices, with the Chromium client hints), 50
 * referrers on 4 of 5 requests (search, social, blogs, the app's own
 * `origin`), UTM parameters on 1 in 10, Accept-Language and CF-IPCountry.
 * Each user agent is an anonymous visitor (a hash of ip + user agent).
 */
export function browserRequests(paths: readonly string[], origin?: string) {
  return mixedRequests(paths, { origin })
}

/** The requests of a load: a list, or one built for the server's origin */
export type LoadRequests = readonly object[] | ((origin: string) => readonly object[])

/** Redis traffic of one load window */
export interface RedisWindow {
  /** 2xx responses autocannon received */
  responses: number
  /** views the day totals in Redis grew by (what was really counted) */
  counted: number
  /** calls per command, INFO itself excluded */
  commands: Map<string, number>
  /** read events of client connections (INFO total_reads_processed), ours excluded */
  reads: number
}

/** What benchHttp measured */
export interface HttpResult {
  connections: number
  seconds: number
  rounds: number
  /** req/s of every round, per variant */
  rps: Record<Variant, number[]>
  /** p99 latency (ms) of every round, per variant */
  p99: Record<Variant, number[]>
  /** Redis windows of the rounds with tracking */
  redis: { on: RedisWindow[]; writeThrough: RedisWindow[] }
  /** errors, timeouts and non-2xx answers over all rounds */
  failures: number
}

/**
 * How a benchmarked server is started: folder, node arguments (the entry
 * file last) and environment; PORT is added at start
 */
export interface ServerSpec {
  cwd: string
  args: string[]
  env: NodeJS.ProcessEnv
  /** a path that answers 200 once the app is up */
  probe: string
}

/**
 * One app server in a child process, its output in tmp/bench-server-<name>.log
 */
export class BenchServer {
  readonly variant: string
  port = 0
  #spec: ServerSpec
  #child?: ChildProcess

  constructor(variant: string, spec: ServerSpec) {
    this.variant = variant
    this.#spec = spec
  }

  get url() {
    return `http://127.0.0.1:${this.port}`
  }

  get logFile() {
    return `tmp/bench-server-${this.variant}.log`
  }

  /**
   * CPU seconds (user + system) the server has used so far, from
   * /proc/<pid>/stat (Linux; NaN elsewhere). Per request served, it depends
   * far less on what else the machine runs than req/s does.
   */
  cpuSeconds(): number {
    try {
      const stat = readFileSync(`/proc/${this.#child?.pid}/stat`, 'utf8')
      /* fields after the command name, which is in parentheses */
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
    } catch {
      return Number.NaN
    }
  }

  async start() {
    this.port = await freePort()
    mkdirSync(new URL('tmp/', ROOT), { recursive: true })
    const log = createWriteStream(new URL(this.logFile, ROOT))
    this.#child = spawn(process.execPath, this.#spec.args, {
      cwd: this.#spec.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...this.#spec.env, PORT: String(this.port) },
    })
    const child = this.#child
    cleanups.add(() => child.kill('SIGKILL'))
    this.#child.stdout!.pipe(log)
    this.#child.stderr!.pipe(log)
    const deadline = Date.now() + 90_000
    while (Date.now() < deadline) {
      if (this.#child.exitCode !== null) break
      try {
        const response = await fetch(`${this.url}${this.#spec.probe}`, {
          headers: { 'user-agent': 'bench-probe' },
        })
        await response.arrayBuffer()
        if (response.status === 200) return
      } catch {}
      await sleep(250)
    }
    throw new Error(`the server ${this.variant} did not answer on ${this.url}; see ${this.logFile}`)
  }

  /** SIGTERM, SIGKILL after 8 s; resolves once the process is gone */
  async stop() {
    const child = this.#child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 8000)
    await exited
    clearTimeout(timer)
  }
}

/** A demo server (bin/server.ts) of one variant */
function demoServer(variant: Variant, redisPort: number, env: Record<string, string>) {
  return new BenchServer(variant, {
    cwd: fileURLToPath(ROOT),
    args: [...process.execArgv, 'bin/server.ts'],
    probe: '/about',
    env: {
      ...process.env,
      ...env,
      HOST: '127.0.0.1',
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(redisPort),
      REDIS_PASSWORD: '',
      TRACKING_STORE: 'redis',
      ...VARIANT_ENV[variant],
    },
  })
}

/** autocannon against one server (the request mix over the demo's PAGES unless told) */
export async function load(
  server: BenchServer,
  connections: number,
  seconds: number,
  requests: LoadRequests = (origin) => browserRequests(PAGES, origin)
) {
  const list = typeof requests === 'function' ? requests(server.url) : requests
  return autocannon({ url: server.url, connections, duration: seconds, requests: list })
}

async function snapshot(redis: Redis) {
  const info = parseInfo(String(await redis.call('INFO', 'stats', 'commandstats')))
  return { commands: commandCalls(info), reads: Number(info.get('total_reads_processed') ?? 0) }
}

/** Sum of every day total the app keeps in Redis (read outside the windows) */
export async function countedViews(redis: Redis, keys: TrackingKeys) {
  const days = await redis.smembers(keys.days())
  if (days.length === 0) return 0
  const totals = await redis.mget(...days.map((day) => keys.total(day)))
  return totals.reduce((sum, value) => sum + Number(value ?? 0), 0)
}

/**
 * Runs P1 and P2. `log` receives progress lines.
 */
export async function benchHttp(options: {
  redisPort: number
  rounds: number
  seconds: number
  warmupSeconds: number
  connections?: number
  log: (line: string) => void
}): Promise<HttpResult> {
  const connections = options.connections ?? 50
  const keys = new TrackingKeys('tracking')
  const common = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    APP_KEY: randomBytes(32).toString('base64url'),
    DB: 'sqlite',
    /* never the demo's own tmp/db.sqlite3 */
    DB_SQLITE_FILE: 'bench-http.sqlite3',
    SESSION_DRIVER: 'cookie',
  }
  const servers = VARIANTS.map((variant) => demoServer(variant, options.redisPort, common))
  const redis = redisClient(options.redisPort)
  const result: HttpResult = {
    connections,
    seconds: options.seconds,
    rounds: options.rounds,
    rps: { off: [], on: [], control: [], writeThrough: [] },
    p99: { off: [], on: [], control: [], writeThrough: [] },
    redis: { on: [], writeThrough: [] },
    failures: 0,
  }
  try {
    /* one at a time: three boots at once on two cores take longer than in a row */
    for (const server of servers) await server.start()
    options.log(
      `  servers up: ${servers.map((server) => `${server.variant} :${server.port}`).join(', ')}`
    )
    for (const server of servers) await load(server, connections, options.warmupSeconds)
    await sleep(DEFAULT_BUFFER_MS + 500)

    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? servers : [...servers].reverse()
      const line: string[] = []
      for (const server of order) {
        const variant = server.variant as Variant
        const countedBefore = await countedViews(redis, keys)
        const before = await snapshot(redis)
        const run = await load(server, connections, options.seconds)
        /* the buffered variant sends at most bufferMs later */
        await sleep(variant === 'on' ? DEFAULT_BUFFER_MS + 500 : 300)
        const after = await snapshot(redis)
        const countedAfter = await countedViews(redis, keys)

        const rps = run['2xx'] / run.duration
        result.rps[variant].push(rps)
        result.p99[variant].push(run.latency.p99)
        result.failures += run.errors + run.timeouts + run.non2xx
        line.push(`${variant} ${Math.round(rps)} req/s`)

        if (variant === 'on' || variant === 'writeThrough') {
          const commands = new Map<string, number>()
          for (const [name, calls] of after.commands) {
            if (name === 'info') continue
            const delta = calls - (before.commands.get(name) ?? 0)
            if (delta > 0) commands.set(name, delta)
          }
          result.redis[variant].push({
            responses: run['2xx'],
            counted: countedAfter - countedBefore,
            commands,
            /* the second INFO is one read of ours */
            reads: after.reads - before.reads - 1,
          })
        }
      }
      options.log(`  round ${round + 1}/${options.rounds}: ${line.join(', ')}`)
    }
  } finally {
    for (const server of servers) await server.stop().catch(() => {})
    redis.disconnect()
  }
  return result
}

/** Per-1,000-tracked-requests figures of a list of windows */
export function redisPer1000(windows: RedisWindow[]) {
  let counted = 0
  let responses = 0
  let reads = 0
  const commands = new Map<string, number>()
  for (const window of windows) {
    counted += window.counted
    responses += window.responses
    reads += window.reads
    for (const [name, calls] of window.commands) {
      commands.set(name, (commands.get(name) ?? 0) + calls)
    }
  }
  const total = [...commands.values()].reduce((sum, calls) => sum + calls, 0)
  const exec = commands.get('exec') ?? 0
  const per = (value: number) => (counted > 0 ? (value / counted) * 1000 : Number.NaN)
  return {
    counted,
    responses,
    commands,
    commandsPer1000: per(total),
    pipelinesPer1000: per(exec),
    readsPer1000: per(reads),
    /* a pipeline is one round trip; standalone commands show up as extra reads */
    roundTripsPer1000: per(Math.max(exec, reads)),
  }
}

/** Median req/s per variant and the paired ratios of each round */
export function httpSummary(result: HttpResult) {
  const paired = (variant: Variant) =>
    result.rps[variant].map((rps, round) => rps / result.rps.off[round])
  return {
    medians: {
      off: median(result.rps.off),
      on: median(result.rps.on),
      control: median(result.rps.control),
      writeThrough: median(result.rps.writeThrough),
    },
    p99: {
      off: median(result.p99.off),
      on: median(result.p99.on),
      control: median(result.p99.control),
      writeThrough: median(result.p99.writeThrough),
    },
    controlOff: median(paired('control')),
    controlOffRounds: paired('control'),
    onOffRounds: paired('on'),
    writeThroughOffRounds: paired('writeThrough'),
    onOff: median(paired('on')),
    writeThroughOff: median(paired('writeThrough')),
    onOffOfMedians: median(result.rps.on) / median(result.rps.off),
    writeThroughOffOfMedians: median(result.rps.writeThrough) / median(result.rps.off),
  }
}
