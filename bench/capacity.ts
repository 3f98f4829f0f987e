/*
|--------------------------------------------------------------------------
| P6: how much fleet traffic one Redis node absorbs
|--------------------------------------------------------------------------
|
|   node --import=@poppinss/ts-exec bench/capacity.ts [--batches=20] [--requests=10000]
|
| One "second of a busy process" is recorded through the real recorder and
| write buffer (every dimension on, countries from CF-IPCountry, anonymous
| visitors, the P3 dimensions mix: 200 paths, 240 user agents, 50
| referrers, UTM tags on 10 %, 4,000 distinct visitors) and written to a
| private redis-server as the one batch that second produces. Each simulated
| second brings other visitors (new addresses). Redis's own CPU time (INFO
| used_cpu_user + used_cpu_sys) and the script's time (INFO commandstats)
| over all the batches, per tracked request, give the node's capacity:
| 1 s / (Redis CPU per request) = tracked requests per second of the whole
| fleet one node can take, whatever the number of app processes, because
| each process sends one batch per bufferMs whatever its traffic. The
| commands the script calls are listed with their share (commandstats), so
| what is left outside them is the script's own work and its arguments.
|
*/
import { parseArgs } from 'node:util'
import { resolveSettings } from '../src/settings.ts'
import { RedisStore } from '../src/stores/redis_store.ts'
import { TrackingManager } from '../src/manager.ts'
import { TestRedisServer } from '../tests/redis_server.ts'
import { mixContexts } from './recorder.ts'
import { cleanups, fixed, int, parseInfo, redisClient } from './lib.ts'

export interface CapacityResult {
  /** simulated seconds (batches) written */
  batches: number
  requestsPerBatch: number
  /** distinct visitors per batch */
  visitorsPerBatch: number
  /** Redis CPU per tracked request, µs (user + sys of the redis-server process) */
  cpuPerRequestUs: number
  /** time inside the batch script per tracked request, µs (commandstats) */
  scriptPerRequestUs: number
  /** script time per batch, ms */
  scriptPerBatchMs: number
  /** bytes sent to Redis per tracked request */
  bytesPerRequest: number
  /** tracked requests per second one node absorbs: 1e6 / cpuPerRequestUs */
  requestsPerSecondPerNode: number
  /** the commands the script called, costliest first */
  commands: CommandCost[]
}

/** µs spent in the scripts (EVALSHA and EVAL) so far, from INFO commandstats */
function scriptUsec(info: Map<string, string>): number {
  let usec = 0
  for (const name of ['cmdstat_evalsha', 'cmdstat_eval']) {
    const match = /(?:^|,)usec=(\d+)/.exec(info.get(name) ?? '')
    if (match) usec += Number(match[1])
  }
  return usec
}

/** One Redis command's part of the batches: calls and time per tracked request */
export interface CommandCost {
  name: string
  /** calls per 1,000 tracked requests */
  callsPer1000: number
  /** µs of Redis time per tracked request (commandstats: the commands the script calls) */
  usPerRequest: number
}

/** The commands the batches ran (INFO commandstats before and after), costliest first */
function commandCosts(
  before: Map<string, string>,
  after: Map<string, string>,
  requests: number
): CommandCost[] {
  const stat = (info: Map<string, string>, key: string) => {
    const match = /calls=(\d+),usec=(\d+)/.exec(info.get(key) ?? '')
    return match ? [Number(match[1]), Number(match[2])] : [0, 0]
  }
  return [...after.keys()]
    .filter((key) => key.startsWith('cmdstat_') && !/^cmdstat_(evalsha|eval|info)$/.test(key))
    .map((key) => {
      const [calls, usec] = stat(after, key)
      const [callsBefore, usecBefore] = stat(before, key)
      return {
        name: key.slice(8).toUpperCase(),
        callsPer1000: ((calls - callsBefore) * 1000) / requests,
        usPerRequest: (usec - usecBefore) / requests,
      }
    })
    .filter((row) => row.callsPer1000 > 0)
    .sort((a, b) => b.usPerRequest - a.usPerRequest)
}

export async function benchCapacity(options: {
  port: number
  batches?: number
  requestsPerBatch?: number
}): Promise<CapacityResult> {
  const batches = options.batches ?? 20
  const requestsPerBatch = options.requestsPerBatch ?? 10_000
  const redis = redisClient(options.port)
  const keyPrefix = `bench-capacity-${process.pid}`
  const settings = resolveSettings({
    keyPrefix,
    trackAnonymous: true,
    bufferMs: 60_000,
    bufferMaxEntries: 10_000_000,
    countryHeader: 'CF-IPCountry',
    ...(process.env.CAPACITY_DIMENSIONS === 'off' ? { dimensions: false } : {}),
  })
  const store = new RedisStore({ client: () => redis, keyPrefix, ttlSeconds: 3600 })
  const manager = new TrackingManager(settings, store)
  const visitors = new Set<string>()
  try {
    /* warm-up: the script loaded, the day's salt and keys in place */
    for (const ctx of mixContexts(999).slice(0, 100)) manager.recorder.record(ctx)
    await manager.drain()
    const cohorts = Array.from({ length: batches }, (_, i) => mixContexts(i))
    const before = parseInfo(String(await redis.info('everything')))
    for (const contexts of cohorts) {
      for (let i = 0; i < requestsPerBatch; i++) {
        const ctx = contexts[i % contexts.length]
        if (cohorts[0] === contexts)
          visitors.add(`${ctx.request.ip()}|${ctx.request.request.headers['user-agent']}`)
        manager.recorder.record(ctx)
      }
      await manager.drain()
    }
    const after = parseInfo(String(await redis.info('everything')))
    const number = (info: Map<string, string>, key: string) => Number(info.get(key) ?? 0)
    const cpu =
      number(after, 'used_cpu_user') +
      number(after, 'used_cpu_sys') -
      number(before, 'used_cpu_user') -
      number(before, 'used_cpu_sys')
    const requests = batches * requestsPerBatch
    const cpuPerRequestUs = (cpu * 1e6) / requests
    const script = scriptUsec(after) - scriptUsec(before)
    return {
      batches,
      requestsPerBatch,
      visitorsPerBatch: visitors.size,
      cpuPerRequestUs,
      scriptPerRequestUs: script / requests,
      scriptPerBatchMs: script / batches / 1000,
      bytesPerRequest:
        (number(after, 'total_net_input_bytes') - number(before, 'total_net_input_bytes')) /
        requests,
      requestsPerSecondPerNode: 1e6 / cpuPerRequestUs,
      commands: commandCosts(before, after, requests),
    }
  } finally {
    await manager.shutdown()
    const keys = await redis.keys(`{${keyPrefix}}*`)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  }
}

/** The P6 figures as the lines of docs/benchmarks.md and the console */
export function capacityLines(result: CapacityResult): string[] {
  const inCommands = result.commands.reduce((sum, row) => sum + row.usPerRequest, 0)
  const costliest = result.commands
    .slice(0, 6)
    .map(
      (row) =>
        `${row.name} ${fixed(row.usPerRequest, 3)} µs (${fixed(row.callsPer1000, 1)} calls per 1,000 requests)`
    )
    .join(', ')
  return [
    `${int(result.batches)} batches of ${int(result.requestsPerBatch)} tracked requests (${int(result.visitorsPerBatch)} distinct visitors each)`,
    `Redis CPU ${fixed(result.cpuPerRequestUs, 3)} µs per tracked request (script ${fixed(result.scriptPerRequestUs, 3)} µs; ${fixed(result.scriptPerBatchMs, 1)} ms per batch)`,
    `${fixed(result.bytesPerRequest, 1)} bytes sent to Redis per tracked request`,
    `one node: 1 s / ${fixed(result.cpuPerRequestUs, 3)} µs = ${int(result.requestsPerSecondPerNode)} tracked requests/s of fleet traffic`,
    `inside the script, per tracked request: ${fixed(inCommands, 3)} µs in Redis commands, the rest (${fixed(Math.max(0, result.scriptPerRequestUs - inCommands), 3)} µs) in Lua and in reading the arguments; the costliest commands: ${costliest}`,
  ]
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      batches: { type: 'string', default: '20' },
      requests: { type: 'string', default: '10000' },
    },
  })
  const server = new TestRedisServer()
  cleanups.add(() => server.stop())
  await server.start()
  try {
    const result = await benchCapacity({
      port: server.port,
      batches: Number(values.batches),
      requestsPerBatch: Number(values.requests),
    })
    for (const line of capacityLines(result)) console.log(line)
  } finally {
    await server.stop()
  }
}
