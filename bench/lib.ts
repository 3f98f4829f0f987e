/**
 * Small helpers shared by the benchmarks of bench/run.ts.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Redis } from 'ioredis'

/** The repository root (the demo app and the package) */
export const ROOT = new URL('../', import.meta.url)

/**
 * What must be stopped when the run is interrupted (servers in child
 * processes); bench/run.ts calls them on SIGINT and SIGTERM
 */
export const cleanups = new Set<() => unknown>()

/** Median of a list of numbers (the upper one for an even count); NaN when empty */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

/** A whole number with thousands separators */
export function int(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a'
}

/** A number with a fixed count of decimals */
export function fixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a'
}

/** Mebibytes with one decimal */
export function mib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : 'n/a'
}

let collector: (() => void) | undefined

/**
 * Full garbage collection without --expose-gc on the command line (npm run
 * bench keeps its flags short): the flag is set at run time and the gc
 * function is taken from a fresh context.
 */
export function collectGarbage() {
  if (!collector) {
    setFlagsFromString('--expose-gc')
    collector = runInNewContext('gc') as () => void
  }
  collector()
  collector()
}

/**
 * Samples heap and RSS every few milliseconds while `work` runs, from a
 * baseline taken after a full GC. Peaks include garbage not collected yet,
 * so they are an upper bound of what the work keeps alive.
 */
export async function withMemorySampling<T>(
  work: () => Promise<T>,
  everyMs = 5
): Promise<{ result: T; ms: number; peakHeapDelta: number; peakRssDelta: number }> {
  collectGarbage()
  const base = process.memoryUsage()
  let peakHeap = base.heapUsed
  let peakRss = base.rss
  const sample = () => {
    const now = process.memoryUsage()
    if (now.heapUsed > peakHeap) peakHeap = now.heapUsed
    if (now.rss > peakRss) peakRss = now.rss
  }
  const timer = setInterval(sample, everyMs)
  const start = performance.now()
  try {
    const result = await work()
    const ms = performance.now() - start
    sample()
    return {
      result,
      ms,
      peakHeapDelta: peakHeap - base.heapUsed,
      peakRssDelta: peakRss - base.rss,
    }
  } finally {
    clearInterval(timer)
  }
}

/** An ioredis client on a loopback port that gives up at once when nobody answers */
export function redisClient(port: number): Redis {
  return new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 })
}

/**
 * Parses INFO output ("key:value" lines) into a map
 */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':')
    if (colon > 0 && !line.startsWith('#')) out.set(line.slice(0, colon), line.slice(colon + 1))
  }
  return out
}

/**
 * Calls per command from INFO commandstats (`cmdstat_hincrby:calls=3,...`)
 */
export function commandCalls(info: Map<string, string>): Map<string, number> {
  const out = new Map<string, number>()
  for (const [key, value] of info) {
    if (!key.startsWith('cmdstat_')) continue
    const calls = /(?:^|,)calls=(\d+)/.exec(value)
    if (calls) out.set(key.slice('cmdstat_'.length), Number(calls[1]))
  }
  return out
}
