/*
|--------------------------------------------------------------------------
| Where the request path of the fresh app spends its CPU
|--------------------------------------------------------------------------
|
|   node bench/profile_fresh.ts [--seconds=10] [--top=15]
|
| The built fresh app of P1 (bench/fresh_app.ts: packed tarball, session
| auth, GET /light, guests tracked) under `node --cpu-prof`, once with
| tracking on and once off, each loaded by autocannon (50 connections, 20
| browsers) on a private redis-server. Prints, per request served: the self
| time of the package's frames, the time inside record() (everything it
| calls), and the frames whose self time grows the most from off to on.
|
*/
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { TestRedisServer } from '../tests/redis_server.ts'
import { BenchServer, browserRequests, load } from './http.ts'
import { freshAppEnv, LIGHT_PATH, prepareFreshApp } from './fresh_app.ts'
import { cleanups, fixed, int, ROOT } from './lib.ts'

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    top: { type: 'string', default: '15' },
  },
})

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}
interface CpuProfile {
  nodes: ProfileNode[]
  /** µs of the monotonic clock (process.hrtime's) */
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

const PACKAGE = '/node_modules/adonis-tracking/'

/** "function file:line" with the path from node_modules (or the node: module) on */
function frameName(node: ProfileNode) {
  const { functionName, url, lineNumber } = node.callFrame
  const at = url.lastIndexOf('/node_modules/')
  const file = at === -1 ? url.replace(/^file:\/\/.*\/build\//, 'app/') : url.slice(at + 14)
  return `${functionName || '(anonymous)'} ${file || '(native)'}:${lineNumber + 1}`
}

/**
 * Self time (µs) per frame name, and the time under record(), of the
 * samples taken between from and until (µs of the monotonic clock)
 */
function analyse(profile: CpuProfile, from: number, until: number) {
  const self = new Map<number, number>()
  let at = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0
    at += delta
    if (at < from || at > until) continue
    const id = profile.samples[i]
    self.set(id, (self.get(id) ?? 0) + delta)
  }
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const frames = new Map<string, number>()
  /** self time of every frame (the package's or not) called by record() */
  const underRecord = new Map<string, number>()
  let recordTime = 0
  let packageTime = 0
  let total = 0
  const walk = (node: ProfileNode, insideRecord: boolean, insidePackage: boolean) => {
    const time = self.get(node.id) ?? 0
    if (node.callFrame.functionName !== '(idle)') total += time
    const name = frameName(node)
    frames.set(name, (frames.get(name) ?? 0) + time)
    const isPackage = node.callFrame.url.includes(PACKAGE)
    const isRecord = isPackage && node.callFrame.functionName === 'record'
    if (insideRecord || isRecord) {
      recordTime += time
      underRecord.set(name, (underRecord.get(name) ?? 0) + time)
    }
    if (insidePackage || isPackage) packageTime += time
    for (const child of node.children ?? []) {
      walk(byId.get(child)!, insideRecord || isRecord, insidePackage || isPackage)
    }
  }
  walk(profile.nodes[0], false, false)
  return { frames, underRecord, recordTime, packageTime, total }
}

async function profileVariant(variant: 'on' | 'off', dir: string, redisPort: number) {
  const profiles = fileURLToPath(new URL(`tmp/profile-fresh-${variant}/`, ROOT))
  rmSync(profiles, { recursive: true, force: true })
  mkdirSync(profiles, { recursive: true })
  const server = new BenchServer(`profile-${variant}`, {
    cwd: dir,
    args: ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${profiles}`, 'bin/server.js'],
    probe: LIGHT_PATH,
    env: freshAppEnv({
      APP_KEY: 'profile-app-key-profile-app-key-0123456789',
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(redisPort),
      REDIS_PASSWORD: '',
      TRACKING_STORE: 'redis',
      TRACKING_ENABLED: variant === 'on' ? 'true' : 'false',
    }),
  })
  await server.start()
  const requests = browserRequests([LIGHT_PATH])
  await load(server, 50, 2, requests)
  const from = Number(process.hrtime.bigint() / 1000n)
  const result = await load(server, 50, Number(args.seconds), requests)
  const until = Number(process.hrtime.bigint() / 1000n)
  await server.stop()
  const file = readdirSync(profiles).find((name) => name.endsWith('.cpuprofile'))
  if (!file) throw new Error(`no profile written in ${profiles} (see ${server.logFile})`)
  const profile = JSON.parse(readFileSync(join(profiles, file), 'utf8')) as CpuProfile
  /* only the measured load (not the boot, nor the warm-up), per request answered */
  return {
    ...analyse(profile, from, until),
    served: result['2xx'] + result.non2xx,
    rps: result['2xx'] / result.duration,
  }
}

const redisServer = new TestRedisServer()
cleanups.add(() => redisServer.stop())
await redisServer.start()
try {
  const setup = await prepareFreshApp(console.log)
  const on = await profileVariant('on', setup.dir, redisServer.port)
  const off = await profileVariant('off', setup.dir, redisServer.port)
  const perRequest = (time: number, of: typeof on) => time / of.served
  console.log(
    `\non: ${int(on.rps)} req/s, ${fixed(perRequest(on.total, on), 1)} µs CPU per request (idle left out); off: ${int(off.rps)} req/s, ${fixed(perRequest(off.total, off), 1)} µs`
  )
  console.log(
    `under record(): ${fixed(perRequest(on.recordTime, on), 2)} µs per request; under any package frame (record, buffer, store): ${fixed(perRequest(on.packageTime, on), 2)} µs`
  )
  const ioredis = (of: typeof on) =>
    [...of.frames].filter(([name]) => name.includes(' ioredis/')).reduce((sum, [, t]) => sum + t, 0)
  console.log(
    `ioredis frames (self): on ${fixed(perRequest(ioredis(on), on), 2)} µs per request, off ${fixed(perRequest(ioredis(off), off), 2)} µs`
  )
  const top = Number(args.top)
  const packageFrames = [...on.frames]
    .filter(([name]) => name.includes(' adonis-tracking/'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
  console.log('\nself time of package frames (tracking on), µs per request:')
  for (const [name, time] of packageFrames) {
    console.log(`  ${fixed(perRequest(time, on), 2).padStart(7)}  ${name}`)
  }
  console.log('\nself time of every frame under record(), µs per request:')
  for (const [name, time] of [...on.underRecord].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${fixed(perRequest(time, on), 2).padStart(7)}  ${name}`)
  }
  const names = new Set([...on.frames.keys(), ...off.frames.keys()])
  const growth = [...names]
    .map((name) => {
      const delta =
        perRequest(on.frames.get(name) ?? 0, on) - perRequest(off.frames.get(name) ?? 0, off)
      return [name, delta] as const
    })
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
  console.log(
    '\nframes whose self time grows most from off to on, µs per request (two runs: noisy):'
  )
  for (const [name, delta] of growth) console.log(`  ${fixed(delta, 2).padStart(7)}  ${name}`)
  const share = (time: number) => `${fixed((time / on.total) * 100, 1)} %`
  console.log(
    `\nsummary: with tracking on, the package's frames and what they call take ${share(on.packageTime)} of the server's CPU (record(): ${share(on.recordTime)}), ${fixed(perRequest(on.packageTime, on), 2)} of ${fixed(perRequest(on.total, on), 1)} µs per request`
  )
} finally {
  await redisServer.stop()
}
