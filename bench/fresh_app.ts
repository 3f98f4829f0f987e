/**
 * The packed package in a fresh AdonisJS 7 app with session auth, for P1:
 * the e2e fixture (tests/e2e/fixture_app.ts) plus @adonisjs/session and the
 * @adonisjs/auth session guard initialized in the router stack, a light route
 * (`GET /light` answers "ok"), `node ace configure adonis-tracking
 * --store=redis`, guests tracked (trackAnonymous), then `node ace build`.
 *
 * The app is kept in tmp/bench-fresh-app/ and reused while the tarball (and
 * this recipe) stay the same: only `npm pack` runs again.
 */
import { createHash, randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fixtureFiles } from '../tests/e2e/fixture_app.ts'
import { appEnv, NPM, packTarball, REPO, run, writeFiles } from '../bin/lib/fresh_app.ts'
import { TrackingKeys } from '../src/stores/keys.ts'
import { BenchServer, browserRequests, countedViews, load, type benchHttp } from './http.ts'
import { median, redisClient, ROOT } from './lib.ts'

const DIR = fileURLToPath(new URL('tmp/bench-fresh-app/', ROOT))
const APP = join(DIR, 'app')
const KEY_FILE = join(APP, '.bench-key')

/** The route every request of the benchmark asks for */
export const LIGHT_PATH = '/light'
/** Switches the fresh app's tracking on or off for the next load window (`/on`, `/off`) */
const SWITCH_PATH = '/__bench/tracking'

/** The versions the repository is tested with (its own node_modules) */
function installedVersion(name: string): string {
  return JSON.parse(readFileSync(join(REPO, 'node_modules', name, 'package.json'), 'utf8')).version
}

const SESSION_CONFIG = `import app from '@adonisjs/core/services/app'
import { defineConfig, stores } from '@adonisjs/session'

export default defineConfig({
  enabled: true,
  cookieName: 'adonis-session',
  clearWithBrowser: false,
  age: '2h',
  cookie: { path: '/', httpOnly: true, secure: app.inProduction, sameSite: 'lax' },
  store: 'cookie',
  stores: { cookie: stores.cookie() },
})
`

const AUTH_CONFIG = `import { defineConfig } from '@adonisjs/auth'
import { sessionGuard, sessionUserProvider } from '@adonisjs/auth/session'
import type { InferAuthenticators, InferAuthEvents, Authenticators } from '@adonisjs/auth/types'

const authConfig = defineConfig({
  default: 'web',
  guards: {
    web: sessionGuard({
      useRememberMeTokens: false,
      provider: sessionUserProvider({ model: () => import('#models/user') }),
    }),
  },
})

export default authConfig

declare module '@adonisjs/auth/types' {
  export interface Authenticators extends InferAuthenticators<typeof authConfig> {}
}
declare module '@adonisjs/core/types' {
  interface EventsList extends InferAuthEvents<Authenticators> {}
}
`

const USER_MODEL = `import { BaseModel, column } from '@adonisjs/lucid/orm'

export default class User extends BaseModel {
  @column({ isPrimary: true })
  declare id: number

  @column()
  declare email: string
}
`

/** Replaces text that must be there */
function edit(text: string, from: string, to: string, file: string): string {
  if (!text.includes(from)) throw new Error(`${file} has no ${JSON.stringify(from)}`)
  return text.replace(from, to)
}

/** The fixture with session auth and the light route */
function appFiles(): Record<string, string> {
  const files = fixtureFiles({ appKey: 'replaced-by-the-environment-at-run-time', port: 0 })
  const pkg = JSON.parse(files['package.json'])
  for (const name of ['@adonisjs/session', '@adonisjs/auth']) {
    pkg.dependencies[name] = installedVersion(name)
  }
  files['package.json'] = `${JSON.stringify(pkg, null, 2)}\n`
  files['adonisrc.ts'] = edit(
    files['adonisrc.ts'],
    `() => import('@adonisjs/redis/redis_provider'),`,
    `() => import('@adonisjs/redis/redis_provider'),
    () => import('@adonisjs/session/session_provider'),
    () => import('@adonisjs/auth/auth_provider'),`,
    'adonisrc.ts'
  )
  files['start/kernel.ts'] = edit(
    files['start/kernel.ts'],
    `router.use([() => import('@adonisjs/core/bodyparser_middleware')])`,
    `router.use([
  () => import('@adonisjs/core/bodyparser_middleware'),
  () => import('@adonisjs/session/session_middleware'),
  () => import('@adonisjs/auth/initialize_auth_middleware'),
])`,
    'start/kernel.ts'
  )
  /*
   * tracking can also be switched per load window inside one process (see
   * benchFreshAppSwitched): "off" then skips the view through skipTracking
   */
  files['start/routes.ts'] += `import { skipTracking } from 'adonis-tracking'
let benchTracking = true
router.get('${SWITCH_PATH}/:state', (ctx) => {
  skipTracking(ctx)
  benchTracking = ctx.params.state === 'on'
  return benchTracking ? 'on' : 'off'
})
router.get('${LIGHT_PATH}', (ctx) => {
  if (!benchTracking) skipTracking(ctx)
  return 'ok'
})
`
  files['config/session.ts'] = SESSION_CONFIG
  files['config/auth.ts'] = AUTH_CONFIG
  files['app/models/user.ts'] = USER_MODEL
  delete files['.env']
  return files
}

async function must(label: string, command: string, args: string[], cwd: string) {
  const result = await run(command, args, { cwd, timeoutMs: 900_000 })
  if (result.code !== 0) {
    throw new Error(`${label} exited with ${result.code}: ${result.output.slice(-1500)}`)
  }
  return result.output
}

/**
 * Packs the package and makes (or reuses) the built fresh app. Returns the
 * folder to run `node bin/server.js` in and whether the cache was used.
 */
export async function prepareFreshApp(log: (line: string) => void) {
  const started = Date.now()
  const packDir = join(DIR, 'pack')
  rmSync(packDir, { recursive: true, force: true })
  const tarball = await packTarball(packDir)
  const files = appFiles()
  const key = createHash('sha256')
    .update(readFileSync(tarball))
    .update(JSON.stringify(files))
    .digest('hex')
  const build = join(APP, 'build')
  const reused = existsSync(KEY_FILE) && readFileSync(KEY_FILE, 'utf8') === key
  if (!reused) {
    log(`  fresh app: installing ${tarball.replace(REPO, '')} into ${APP.replace(REPO, '')}`)
    rmSync(APP, { recursive: true, force: true })
    writeFiles(APP, files)
    await must(
      'npm install',
      NPM,
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball],
      APP
    )
    await must(
      'node ace configure adonis-tracking',
      'node',
      ['ace', 'configure', 'adonis-tracking', '--store=redis'],
      APP
    )
    const configFile = join(APP, 'config/tracking.ts')
    let config = readFileSync(configFile, 'utf8')
    config = edit(
      config,
      '// enabled: true,',
      `enabled: process.env.TRACKING_ENABLED !== 'false',`,
      'config/tracking.ts'
    )
    config = edit(
      config,
      '// trackAnonymous: false,',
      'trackAnonymous: true,',
      'config/tracking.ts'
    )
    writeFileSync(configFile, config)
    await must('node ace build', 'node', ['ace', 'build'], APP)
    /* the production dependencies are the app's own (npm ci --omit=dev would install the same) */
    symlinkSync('../node_modules', join(build, 'node_modules'))
    writeFileSync(KEY_FILE, key)
  }
  const seconds = (Date.now() - started) / 1000
  log(
    `  fresh app ${reused ? 'reused' : 'built'} in ${seconds.toFixed(0)} s (${build.replace(REPO, '')})`
  )
  return { dir: build, reused, seconds }
}

/** The environment of the built app's server (appEnv keeps the repository's own out) */
export function freshAppEnv(env: Record<string, string>) {
  return appEnv({ NODE_ENV: 'production', LOG_LEVEL: 'warn', HOST: '127.0.0.1', ...env })
}

/** A server of the built fresh app on the benchmark's redis-server, tracking enabled or not */
function freshServer(name: string, dir: string, redisPort: number, appKey: string, on: boolean) {
  return new BenchServer(name, {
    cwd: dir,
    args: ['bin/server.js'],
    probe: LIGHT_PATH,
    env: freshAppEnv({
      APP_KEY: appKey,
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(redisPort),
      REDIS_PASSWORD: '',
      TRACKING_STORE: 'redis',
      TRACKING_ENABLED: on ? 'true' : 'false',
    }),
  })
}

/** The variants of the fresh app; control is off again (the noise floor) */
export type FreshVariant = 'on' | 'off' | 'control'
const FRESH_VARIANTS: readonly FreshVariant[] = ['on', 'off', 'control']

/** What benchFreshApp measured */
export interface FreshResult {
  connections: number
  seconds: number
  rounds: number
  setup: { reused: boolean; seconds: number }
  rps: Record<FreshVariant, number[]>
  p99: Record<FreshVariant, number[]>
  /** CPU µs the server used per request answered, every round */
  cpu: Record<FreshVariant, number[]>
  /** views the Redis day totals grew by while each variant was loaded */
  counted: Record<FreshVariant, number>
  /** errors, timeouts and non-2xx answers over all rounds */
  failures: number
}

/**
 * P1 from outside: the built fresh app, tracking on / off / off again, in
 * rounds on-off-control then the reverse (as benchHttp), each variant a
 * server of its own on the private redis-server. Every round starts (and
 * warms up) new server processes: two processes of the same build differ by
 * up to 10-15 % in req/s for their whole life (JIT and memory layout luck),
 * which a round-robin over long-lived servers would take for the cost of
 * tracking.
 */
export async function benchFreshApp(
  options: Parameters<typeof benchHttp>[0]
): Promise<FreshResult> {
  const connections = options.connections ?? 50
  const setup = await prepareFreshApp(options.log)
  const appKey = randomBytes(32).toString('base64url')
  const serverOf = (variant: FreshVariant) =>
    freshServer(`fresh-${variant}`, setup.dir, options.redisPort, appKey, variant === 'on')
  const requests = (origin: string) => browserRequests([LIGHT_PATH], origin)
  const redis = redisClient(options.redisPort)
  const keys = new TrackingKeys('tracking')
  const result: FreshResult = {
    connections,
    seconds: options.seconds,
    rounds: options.rounds,
    setup: { reused: setup.reused, seconds: setup.seconds },
    rps: { on: [], off: [], control: [] },
    p99: { on: [], off: [], control: [] },
    cpu: { on: [], off: [], control: [] },
    counted: { on: 0, off: 0, control: 0 },
    failures: 0,
  }
  let servers: BenchServer[] = []
  try {
    for (let round = 0; round < options.rounds; round++) {
      servers = FRESH_VARIANTS.map(serverOf)
      /* one at a time, as benchHttp boots its servers */
      for (const server of servers) await server.start()
      for (const server of servers) {
        await load(server, connections, options.warmupSeconds, requests)
      }
      await sleep(1500)
      const order = round % 2 === 0 ? servers : [...servers].reverse()
      const line: string[] = []
      for (const server of order) {
        const variant = FRESH_VARIANTS[servers.indexOf(server)]
        const before = await countedViews(redis, keys)
        const cpuBefore = server.cpuSeconds()
        const answered = await load(server, connections, options.seconds, requests)
        const cpu = server.cpuSeconds() - cpuBefore
        /* the buffer of "on" sends within bufferMs (1 s) */
        await sleep(variant === 'on' ? 1500 : 300)
        result.counted[variant] += (await countedViews(redis, keys)) - before
        const rps = answered['2xx'] / answered.duration
        result.rps[variant].push(rps)
        result.p99[variant].push(answered.latency.p99)
        result.cpu[variant].push((cpu * 1e6) / (answered['2xx'] + answered.non2xx))
        result.failures += answered.errors + answered.timeouts + answered.non2xx
        line.push(`${variant} ${Math.round(rps)} req/s`)
      }
      options.log(`  fresh app round ${round + 1}/${options.rounds}: ${line.join(', ')}`)
      for (const server of servers) await server.stop()
    }
  } finally {
    for (const server of servers) await server.stop().catch(() => {})
    redis.disconnect()
  }
  return result
}

/** What benchFreshAppSwitched measured: req/s of each window, per round */
export interface SwitchedResult {
  rounds: number
  seconds: number
  /** per round: on/off of its ABBA windows (on, off, off, on, or the reverse) */
  ratios: number[]
  rps: { on: number[]; off: number[] }
  counted: { on: number; off: number }
  failures: number
}

/**
 * P1 from outside in ONE server process per round: tracking switched on and
 * off per load window (GET /__bench/tracking/on|off; "off" skips the view
 * with skipTracking(ctx), so the middleware still runs), windows in the
 * order on, off, off, on (then off, on, on, off), the round's ratio the sum
 * of its on windows over its off windows. Both sides share one process, so
 * the 10-15 % req/s luck between two processes of one build is not in it.
 */
export async function benchFreshAppSwitched(
  options: Parameters<typeof benchHttp>[0]
): Promise<SwitchedResult> {
  const connections = options.connections ?? 50
  const setup = await prepareFreshApp(options.log)
  const requests = (origin: string) => browserRequests([LIGHT_PATH], origin)
  const redis = redisClient(options.redisPort)
  const keys = new TrackingKeys('tracking')
  const result: SwitchedResult = {
    rounds: options.rounds,
    seconds: options.seconds,
    ratios: [],
    rps: { on: [], off: [] },
    counted: { on: 0, off: 0 },
    failures: 0,
  }
  let server: BenchServer | undefined
  try {
    for (let round = 0; round < options.rounds; round++) {
      server = freshServer(
        'fresh-switched',
        setup.dir,
        options.redisPort,
        randomBytes(32).toString('base64url'),
        true
      )
      await server.start()
      await load(server, connections, options.warmupSeconds, requests)
      await sleep(1500)
      const order: Array<'on' | 'off'> =
        round % 2 === 0 ? ['on', 'off', 'off', 'on'] : ['off', 'on', 'on', 'off']
      const sums = { on: 0, off: 0 }
      for (const state of order) {
        const switched = await fetch(`${server.url}${SWITCH_PATH}/${state}`)
        if ((await switched.text()) !== state) throw new Error(`could not switch tracking ${state}`)
        const before = await countedViews(redis, keys)
        const answered = await load(server, connections, options.seconds, requests)
        /* the buffer sends within bufferMs (1 s) */
        await sleep(1500)
        result.counted[state] += (await countedViews(redis, keys)) - before
        const rps = answered['2xx'] / answered.duration
        sums[state] += rps
        result.rps[state].push(rps)
        result.failures += answered.errors + answered.timeouts + answered.non2xx
      }
      result.ratios.push(sums.on / sums.off)
      options.log(
        `  fresh app, one process switched, round ${round + 1}/${options.rounds}: on/off ${(sums.on / sums.off).toFixed(3)}`
      )
      await server.stop()
      server = undefined
    }
  } finally {
    await server?.stop().catch(() => {})
    redis.disconnect()
  }
  return result
}

/** Medians and per-round ratios of the fresh app (as httpSummary) */
export function freshSummary(result: FreshResult) {
  const paired = (variant: FreshVariant) =>
    result.rps[variant].map((rps, round) => rps / result.rps.off[round])
  /* off's CPU per request over the variant's: what req/s would show with a core of its own */
  const cpuPaired = (variant: FreshVariant) =>
    result.cpu[variant].map((cpu, round) => result.cpu.off[round] / cpu)
  const medians = (of: Record<FreshVariant, number[]>) => ({
    on: median(of.on),
    off: median(of.off),
    control: median(of.control),
  })
  return {
    medians: medians(result.rps),
    p99: medians(result.p99),
    cpu: medians(result.cpu),
    onOffRounds: paired('on'),
    controlOffRounds: paired('control'),
    onOff: median(paired('on')),
    controlOff: median(paired('control')),
    cpuOnOffRounds: cpuPaired('on'),
    cpuControlOffRounds: cpuPaired('control'),
    cpuOnOff: median(cpuPaired('on')),
    cpuControlOff: median(cpuPaired('control')),
  }
}
