/**
 * P3: recorder throughput in process (record() calls per second) for an
 * authenticated page view, an anonymous one (salted-hash path) and an
 * ineligible one (bot), against the memory store with a long buffer so only
 * the recording path is measured.
 */
import { resolveSettings } from '../src/settings.ts'
import { MemoryStore } from '../src/stores/memory_store.ts'
import { TrackingManager } from '../src/manager.ts'

const BROWSER =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36'

function ctxFor(path: string, options: { userId?: number; ua?: string; ip?: string }) {
  const headers = { 'user-agent': options.ua ?? BROWSER }
  return {
    request: {
      url: () => path,
      method: () => 'GET',
      ip: () => options.ip ?? '203.0.113.9',
      header: (name: string) => (headers as Record<string, string>)[name],
      request: { headers },
    },
    response: { getStatus: () => 200 },
    auth: options.userId ? { user: { id: options.userId } } : undefined,
  } as any
}

function measure(manager: TrackingManager, contexts: any[], calls: number): number {
  const start = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) manager.recorder.record(contexts[i % contexts.length])
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  return calls / seconds
}

export async function benchRecorder(options: { calls?: number; rounds?: number } = {}) {
  const calls = options.calls ?? 2_000_000
  const rounds = options.rounds ?? 5
  const settings = resolveSettings({
    trackAnonymous: true,
    bufferMs: 60_000,
    bufferMaxEntries: 1_000_000,
  })
  const manager = new TrackingManager(settings, new MemoryStore({ ttlSeconds: 3600 }))
  const cases = {
    authenticated: Array.from({ length: 200 }, (_, i) =>
      ctxFor(`/posts/${i}`, { userId: (i % 50) + 1 })
    ),
    anonymous: Array.from({ length: 200 }, (_, i) =>
      ctxFor(`/posts/${i}`, { ip: `198.51.100.${i % 250}` })
    ),
    bot: Array.from({ length: 200 }, (_, i) =>
      ctxFor(`/posts/${i}`, { ua: 'Googlebot/2.1 (+http://www.google.com/bot.html)' })
    ),
  }
  const results: Record<string, number> = {}
  for (const [name, contexts] of Object.entries(cases)) {
    measure(manager, contexts, Math.min(calls, 200_000))
    const samples: number[] = []
    for (let round = 0; round < rounds; round++) samples.push(measure(manager, contexts, calls))
    samples.sort((a, b) => a - b)
    results[name] = samples[Math.floor(samples.length / 2)]
  }
  await manager.shutdown()
  return results
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = await benchRecorder({ calls: Number(process.env.CALLS ?? 2_000_000) })
  for (const [name, perSecond] of Object.entries(results)) {
    console.log(`P3 record() ${name}: ${Math.round(perSecond).toLocaleString('en-US')} calls/s`)
  }
}
