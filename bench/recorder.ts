/**
 * P3: recorder throughput in process (record() calls per second) for an
 * authenticated page view, an anonymous one (salted-hash path) and an
 * ineligible one (bot), against the memory store with a long buffer so only
 * the recording path is measured; and the dimensions mix: every dimension on
 * (countries from CF-IPCountry), anonymous views from 240 distinct user
 * agents, 50 referrers (and direct views), UTM tags on 10 % of the requests.
 * Then the events (#16): authenticated page views with three path goals
 * configured (a third of the paths reach one), and `tracking.event(ctx,
 * 'signup', { plan })` for 50 users and 3 plans.
 */
import { resolveSettings } from '../src/settings.ts'
import { MemoryStore } from '../src/stores/memory_store.ts'
import { TrackingManager } from '../src/manager.ts'

const BROWSER =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36'

export function ctxFor(
  path: string,
  options: {
    userId?: number
    ua?: string
    ip?: string
    target?: string
    headers?: Record<string, string>
  }
) {
  const headers = { 'host': 'app.example', 'user-agent': options.ua ?? BROWSER, ...options.headers }
  return {
    request: {
      url: () => path,
      method: () => 'GET',
      ip: () => options.ip ?? '203.0.113.9',
      header: (name: string) => (headers as Record<string, string>)[name],
      request: { headers, url: options.target ?? path },
    },
    response: { getStatus: () => 200 },
    auth: options.userId ? { user: { id: options.userId } } : undefined,
  } as any
}

/** 240 distinct user agents: 6 browser families x 40 versions */
function userAgents(): string[] {
  const agents: string[] = []
  for (let v = 0; v < 40; v++) {
    agents.push(
      `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${100 + v}.0.0.0 Safari/537.36`,
      `Mozilla/5.0 (X11; Linux x86_64; rv:${90 + v}.0) Gecko/20100101 Firefox/${90 + v}.0`,
      `Mozilla/5.0 (iPhone; CPU iPhone OS 17_${v % 8} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.${v} Mobile/15E148 Safari/604.1`,
      `Mozilla/5.0 (Linux; Android ${10 + (v % 5)}; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${100 + v}.0.0.0 Mobile Safari/537.36`,
      `Mozilla/5.0 (iPad; CPU OS 16_${v % 8} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.${v} Mobile/15E148 Safari/604.1`,
      `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_${v % 8}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${14 + (v % 4)}.${v} Safari/605.1.15`
    )
  }
  return agents
}

/** 50 referrers: search engines, social networks, sites, the app's own pages */
function referrers(): string[] {
  const hosts = [
    'https://www.google.com/search?q=x',
    'https://www.bing.com/search?q=y',
    'https://duckduckgo.com/',
    'https://news.ycombinator.com/item?id=1',
    'https://t.co/abc',
    'https://www.reddit.com/r/node/',
    'https://github.com/owner/repo',
    'https://app.example/pricing',
    'https://mail.google.com/mail/u/0/',
    'https://www.linkedin.com/feed/',
  ]
  const out = [...hosts]
  for (let i = out.length; i < 50; i++) out.push(`https://blog${i}.example${i % 7}.com/post/${i}`)
  return out
}

/**
 * The dimensions mix: a few thousand distinct requests (4,000 visitors: ip x
 * user agent); `cohort` moves the visitors to other addresses (another
 * second of traffic, other people)
 */
export function mixContexts(cohort = 0): any[] {
  const agents = userAgents()
  const refs = referrers()
  const countries = ['DE', 'FR', 'US', 'GB', 'JP', 'BR', 'IN', 'XX']
  const languages = ['en-US,en;q=0.9', 'fr-FR,fr;q=0.9', 'de-DE', 'ja', 'pt-BR,pt;q=0.8']
  const contexts: any[] = []
  for (let i = 0; i < 4000; i++) {
    const path = `/posts/${i % 200}`
    const tagged = i % 10 === 0
    const target = tagged
      ? `${path}?utm_source=newsletter&utm_medium=email&utm_campaign=launch${i % 30}`
      : path
    const headers: Record<string, string> = {
      'cf-ipcountry': countries[i % countries.length],
      'accept-language': languages[i % languages.length],
    }
    /* a third of the views are direct */
    if (i % 3 !== 0) headers.referer = refs[i % refs.length]
    if (i % 4 === 0) {
      headers['sec-ch-ua-mobile'] = i % 8 === 0 ? '?1' : '?0'
      headers['sec-ch-ua-platform'] = '"Windows"'
    }
    contexts.push(
      ctxFor(path, {
        ua: agents[i % agents.length],
        ip: `198.${51 + (cohort % 150)}.${(i >> 8) % 250}.${i % 250}`,
        target,
        headers,
      })
    )
  }
  return contexts
}

function measure(manager: TrackingManager, contexts: any[], calls: number): number {
  const start = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) manager.recorder.record(contexts[i % contexts.length])
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  return calls / seconds
}

const PLANS = [{ plan: 'free' }, { plan: 'pro' }, { plan: 'team' }]

/** tracking.event(ctx, 'signup', { plan }) calls per second (props objects built per call, as an app does) */
function measureEvents(manager: TrackingManager, contexts: any[], calls: number): number {
  const start = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) {
    manager.event(contexts[i % contexts.length], 'signup', { plan: PLANS[i % 3].plan })
  }
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
  const mixManager = new TrackingManager(
    resolveSettings({
      trackAnonymous: true,
      bufferMs: 60_000,
      bufferMaxEntries: 1_000_000,
      countryHeader: 'CF-IPCountry',
    }),
    new MemoryStore({ ttlSeconds: 3600 })
  )
  const goalsManager = new TrackingManager(
    resolveSettings({
      bufferMs: 60_000,
      bufferMaxEntries: 1_000_000,
      goals: [
        { name: 'Signup', event: 'signup' },
        { name: 'Pricing', path: '/pricing' },
        { name: 'Docs', path: '/docs/*' },
        { name: 'Post 7', path: '/posts/7' },
      ],
      funnels: [
        { name: 'Purchase', steps: ['Pricing', 'Signup'] },
        { name: 'Learn', steps: ['Docs', 'Pricing', 'Signup'] },
      ],
    }),
    new MemoryStore({ ttlSeconds: 3600 })
  )
  const managers: Record<string, TrackingManager> = {
    'dimensions mix': mixManager,
    'authenticated, 3 path goals, 2 funnels': goalsManager,
    'event()': goalsManager,
  }
  ;(cases as Record<string, any[]>)['dimensions mix'] = mixContexts()
  ;(cases as Record<string, any[]>)['authenticated, 3 path goals, 2 funnels'] = Array.from(
    { length: 200 },
    (_, i) =>
      ctxFor(i % 3 === 0 ? '/pricing' : i % 3 === 1 ? `/docs/page-${i}` : `/posts/${i}`, {
        userId: (i % 50) + 1,
      })
  )
  ;(cases as Record<string, any[]>)['event()'] = Array.from({ length: 200 }, (_, i) =>
    ctxFor('/signup', { userId: (i % 50) + 1 })
  )
  const results: Record<string, number> = {}
  for (const [name, contexts] of Object.entries(cases)) {
    const target = managers[name] ?? manager
    const run = name === 'event()' ? measureEvents : measure
    run(target, contexts, Math.min(calls, 200_000))
    const samples: number[] = []
    for (let round = 0; round < rounds; round++) samples.push(run(target, contexts, calls))
    samples.sort((a, b) => a - b)
    results[name] = samples[Math.floor(samples.length / 2)]
  }
  await manager.shutdown()
  await mixManager.shutdown()
  await goalsManager.shutdown()
  return results
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = await benchRecorder({ calls: Number(process.env.CALLS ?? 2_000_000) })
  for (const [name, perSecond] of Object.entries(results)) {
    const call = name === 'event()' ? name : `record() ${name}`
    console.log(`P3 ${call}: ${Math.round(perSecond).toLocaleString('en-US')} calls/s`)
  }
}
