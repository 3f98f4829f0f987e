/**
 * The demo's sample traffic: 90 days of visitors (a few hundred a day,
 * fewer at weekends, slowly growing, one Hacker News day), with sources,
 * campaigns, devices, countries and languages from the request mix of
 * demo/traffic_mix.ts. Written the way real traffic is: every view is an
 * HTTP context (the real HttpRequest of @adonisjs/core, its headers set)
 * passed to the recorder's record(ctx), the recorder's clock pinned to the
 * view's instant; then the write buffer is drained and flushPageViews moves
 * the past days into SQL (today stays live in the store). Some visitors
 * who view /pricing sign up (the demo's `signup` event, with a plan, as
 * POST /signup records it), so the goals and the funnel have figures.
 *
 * Deterministic: the same seed and last day give the same requests.
 */
import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import { DateTime } from 'luxon'
import { Container } from '@adonisjs/core/container'
import { EncryptionFactory } from '@adonisjs/core/factories/encryption'
import { QsParserFactory } from '@adonisjs/core/factories/http'
import { LoggerFactory } from '@adonisjs/core/factories/logger'
import { HttpContext, HttpRequest, HttpResponse } from '@adonisjs/core/http'
import { flushPageViews, type FlushDatabase } from '../src/flush.ts'
import { TrackingManager } from '../src/manager.ts'
import type { TrackingStore } from '../src/stores/types.ts'
import type { TrackingSettings } from '../src/types.ts'
import {
  browserAgents,
  CAMPAIGNS,
  campaignQuery,
  COUNTRIES,
  COUNTRY_HEADER,
  DEVICE_SHARE,
  LANGUAGES,
  pick,
  pickWeighted,
  seededRandom,
  type BrowserAgent,
  type Device,
} from './traffic_mix.ts'

/** One request of the sample */
export interface SampleRequest {
  /** epoch ms */
  at: number
  /** path and query string */
  url: string
  ip: string
  headers: Record<string, string>
}

/** A sign-up of the sample: the `signup` event POST /signup records, for the request's visitor */
export interface SampleEvent extends SampleRequest {
  name: 'signup'
  props: { plan: string }
}

/** The days of the sample, oldest first */
export interface SampleDay {
  day: string
  /** page views (GET) */
  requests: SampleRequest[]
  /** sign-ups, each after a view of /pricing in the same visit */
  events: SampleEvent[]
}

export interface SampleOptions {
  /** days of traffic, the last one included (default 90) */
  days?: number
  /** the last day (YYYY-MM-DD; default: today in the timezone) */
  lastDay?: string
  /** no request at or after this instant (default: now): today is cut at the current time */
  until?: number
  timezone?: string
  /** the app's origin, for internal navigation referrers (default http://localhost:3333) */
  origin?: string
  seed?: number
}

/** Pages of the demo a visitor lands on, by weight */
const LANDING_PAGES: ReadonlyArray<readonly [string, number]> = [
  ['/', 40],
  ['/about', 12],
  ['/posts/1', 16],
  ['/posts/2', 10],
  ['/posts/3', 8],
  ['/posts/4', 6],
  ['/posts/5', 4],
  ['/posts/6', 3],
  ['/pricing', 4],
  ['/login', 1],
]
/** Pages of the next clicks */
const NEXT_PAGES: ReadonlyArray<readonly [string, number]> = [
  ['/', 20],
  ['/about', 18],
  ['/posts/1', 14],
  ['/posts/2', 12],
  ['/posts/3', 10],
  ['/posts/4', 8],
  ['/posts/5', 6],
  ['/posts/6', 6],
  ['/pricing', 8],
  ['/login', 6],
]

/** Visitors who view /pricing and then sign up */
const SIGNUP_RATE = 0.3
/** The plans of the sign-ups, by weight (demo/views/pages/pricing.edge) */
const PLANS: ReadonlyArray<readonly [string, number]> = [
  ['free', 7],
  ['pro', 3],
]

/** Where a visitor comes from: the referrers it may carry, or a campaign */
type Source = { referrers: readonly string[] } | { campaign: number; referrers: readonly string[] }

const SOURCES: ReadonlyArray<readonly [Source, number]> = [
  [{ referrers: [] }, 24],
  [
    {
      referrers: [
        'https://www.google.com/',
        'https://www.google.de/',
        'https://www.google.co.uk/',
        'https://www.google.fr/',
        'https://www.google.com.br/',
      ],
    },
    27,
  ],
  [{ referrers: ['https://duckduckgo.com/'] }, 6],
  [{ referrers: ['https://www.bing.com/'] }, 5],
  [
    {
      referrers: ['https://news.ycombinator.com/', 'https://news.ycombinator.com/item?id=41234567'],
    },
    5,
  ],
  [{ referrers: ['https://github.com/', 'https://github.com/adonisjs/core/discussions/4512'] }, 6],
  [{ referrers: ['https://t.co/Ab3dE5fG7h', 'https://x.com/', 'https://twitter.com/'] }, 4],
  [{ referrers: ['https://www.reddit.com/r/node/', 'https://old.reddit.com/r/javascript/'] }, 4],
  [
    {
      referrers: [
        'https://www.linkedin.com/feed/',
        'https://mastodon.social/@adonis',
        'https://lobste.rs/s/abc123/cookieless_analytics',
        'https://dev.to/someone/self-hosted-analytics-for-adonisjs-4k2m',
        'https://stackoverflow.com/questions/78123456/adonisjs-page-views',
      ],
    },
    6,
  ],
  /* campaigns: ~10 % of visitors */
  [{ campaign: 0, referrers: [] }, 3],
  [{ campaign: 1, referrers: [] }, 2],
  [{ campaign: 2, referrers: ['https://www.google.com/'] }, 1.5],
  [{ campaign: 3, referrers: ['https://www.google.com/'] }, 1],
  [{ campaign: 4, referrers: ['https://t.co/Ab3dE5fG7h'] }, 1],
  [{ campaign: 5, referrers: ['https://github.com/'] }, 1],
  [{ campaign: 6, referrers: ['https://www.reddit.com/'] }, 0.5],
]

/** Visitors by weekday (luxon: 1 = Monday) relative to a Monday */
const WEEKDAY = [0, 1, 1.04, 1.06, 1.02, 0.9, 0.58, 0.52]

/** Visits by hour of the day (the sample's timezone) */
const HOURS = [2, 1.5, 1, 1, 1, 1.5, 3, 5, 7, 8, 8.5, 8.5, 8, 8, 8.5, 8.5, 8, 7, 6, 6, 5.5, 5, 4, 3]

/** The sample's requests, day by day, oldest first */
export function sampleTraffic(options: SampleOptions = {}): SampleDay[] {
  const days = options.days ?? 90
  const zone = options.timezone ?? 'UTC'
  const until = options.until ?? Date.now()
  const origin = options.origin ?? 'http://localhost:3333'
  const host = new URL(origin).host
  const last = options.lastDay
    ? DateTime.fromISO(options.lastDay, { zone })
    : DateTime.fromMillis(until, { zone })
  const agents = new Map<Device, BrowserAgent[]>()
  for (const agent of browserAgents()) {
    const list = agents.get(agent.device) ?? []
    list.push(agent)
    agents.set(agent.device, list)
  }
  /* the seed and the last day pick everything */
  const random = seededRandom((options.seed ?? 14) ^ Number(last.toFormat('yyyyMMdd')))
  const hours = HOURS.map((weight, hour) => [hour, weight] as const)
  const sample: SampleDay[] = []

  for (let back = days - 1; back >= 0; back--) {
    const start = last.minus({ days: back }).startOf('day')
    const end = start.plus({ days: 1 }).startOf('day').toMillis()
    /* growth over the period, the weekly rhythm, noise; Hacker News front page 5 weeks ago */
    const hackerNews = back === 36
    const trend = 220 + (130 * (days - 1 - back)) / Math.max(1, days - 1)
    const visitors = Math.round(
      trend * WEEKDAY[start.weekday] * (0.85 + 0.3 * random()) * (hackerNews ? 3.2 : 1)
    )
    const requests: SampleRequest[] = []
    const events: SampleEvent[] = []
    for (let v = 0; v < visitors; v++) {
      const device = pickWeighted(random, DEVICE_SHARE)
      const agent = pick(random, agents.get(device)!)
      const language = pickWeighted(random, LANGUAGES)
      const country = pick(random, COUNTRIES[language.slice(0, 2)])
      const ip = `${1 + Math.floor(random() * 222)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`
      const source =
        hackerNews && random() < 0.55
          ? { referrers: ['https://news.ycombinator.com/item?id=41234567'] }
          : pickWeighted(random, SOURCES)
      const headers: Record<string, string> = {
        'host': host,
        'user-agent': agent.userAgent,
        ...agent.hints,
        'accept-language': language,
        [COUNTRY_HEADER]: country,
      }
      let at =
        start.toMillis() +
        pickWeighted(random, hours) * 3_600_000 +
        Math.floor(random() * 3_600_000)
      let page = pickWeighted(random, LANDING_PAGES)
      let url = page
      if ('campaign' in source) url += `?${campaignQuery(CAMPAIGNS[source.campaign])}`
      let referrer = source.referrers.length > 0 ? pick(random, source.referrers) : undefined
      /* 1 to 6 pages, 2.2 on average */
      const pages = Math.min(6, 1 + Math.floor(Math.log(1 - random()) / Math.log(0.55)))
      let signedUp = false
      for (let p = 0; p < pages && at < end && at < until; p++) {
        requests.push({
          at,
          url,
          ip,
          headers: referrer ? { ...headers, referer: referrer } : headers,
        })
        if (page === '/pricing' && !signedUp && random() < SIGNUP_RATE) {
          /* the form is posted from the pricing page a little later */
          const signupAt = at + 15_000 + Math.floor(random() * 60_000)
          if (signupAt < end && signupAt < until) {
            signedUp = true
            events.push({
              at: signupAt,
              url: '/signup',
              ip,
              headers: { ...headers, referer: `${origin}/pricing` },
              name: 'signup',
              props: { plan: pickWeighted(random, PLANS) },
            })
            at = signupAt
          }
        }
        referrer = `${origin}${page}`
        page = pickWeighted(random, NEXT_PAGES)
        url = page
        at += 10_000 + Math.floor(random() * 170_000)
      }
    }
    requests.sort((a, b) => a.at - b.at)
    events.sort((a, b) => a.at - b.at)
    sample.push({ day: start.toISODate()!, requests, events })
  }
  return sample
}

/**
 * Builds real HTTP contexts of @adonisjs/core for the sample's requests
 * (the recorder reads them as it reads any request), cheaply: the
 * encryption, logger and parsers are shared
 */
function contextBuilder() {
  const encryption = new EncryptionFactory().create()
  const logger = new LoggerFactory().create()
  const qsParser = new QsParserFactory().create()
  const container = new Container()
  const requestConfig = {
    allowMethodSpoofing: false,
    trustProxy: () => false,
    subdomainOffset: 2,
    generateRequestId: false,
  }
  const responseConfig = { etag: false, jsonpCallbackName: 'callback', cookie: {} }
  return (request: SampleRequest): HttpContext => {
    const socket = new Socket()
    Object.defineProperty(socket, 'remoteAddress', { value: request.ip })
    const req = new IncomingMessage(socket)
    req.method = 'GET'
    req.url = request.url
    req.headers = request.headers
    const res = new ServerResponse(req)
    const httpRequest = new HttpRequest(req, res, encryption, requestConfig as any, qsParser)
    const httpResponse = new HttpResponse(
      req,
      res,
      encryption,
      responseConfig as any,
      {} as any,
      qsParser
    )
    return new HttpContext(httpRequest, httpResponse, logger, container.createResolver())
  }
}

/** What writeSampleTraffic did */
export interface SampleSummary {
  days: number
  /** views the recorder counted */
  views: number
  /** sign-up events counted */
  events: number
  /** views the flush moved into SQL (the days before today) */
  flushed: number
}

/**
 * Records the sample through a recorder of its own (the app's settings
 * with anonymous visitors counted, its clock pinned to each request's
 * instant) into the app's store, drains it, and flushes the past days
 * into SQL. `onStart` hears the day and request counts before the work.
 */
export async function writeSampleTraffic(
  target: { settings: TrackingSettings; store: TrackingStore },
  db: FlushDatabase,
  options: SampleOptions & {
    appKey?: string | null
    onStart?: (days: number, requests: number) => void
  } = {}
): Promise<SampleSummary> {
  const until = options.until ?? Date.now()
  const sample = sampleTraffic({ timezone: target.settings.timezone, ...options, until })
  options.onStart?.(
    sample.length,
    sample.reduce((sum, day) => sum + day.requests.length, 0)
  )
  let clock = 0
  const manager = new TrackingManager(
    { ...target.settings, enabled: true, trackAnonymous: true },
    target.store,
    { now: () => clock, appKey: options.appKey }
  )
  const contextOf = contextBuilder()
  let views = 0
  let events = 0
  /* the buffer sends between requests of real traffic: here it is drained before it fills */
  const drainAt = Math.max(1, Math.floor(target.settings.bufferMaxEntries / 2))
  for (const day of sample) {
    /* views and sign-ups in time order: a funnel follows a visit's steps in order */
    let e = 0
    for (let r = 0; r <= day.requests.length; r++) {
      const request = day.requests[r]
      while (e < day.events.length && (request === undefined || day.events[e].at < request.at)) {
        const event = day.events[e++]
        clock = event.at
        if (manager.event(contextOf(event), event.name, event.props)) events++
      }
      if (request === undefined) break
      clock = request.at
      if (manager.recorder.record(contextOf(request))) views++
      if (manager.buffer.size >= drainAt) await manager.drain()
    }
    await manager.drain()
  }
  await manager.buffer.close()
  if (manager.buffer.droppedViews > 0) {
    throw new Error(`the sample lost ${manager.buffer.droppedViews} views in the write buffer`)
  }
  const today = manager.recorder.dayOf(until)
  const past = sample.filter(({ day }) => day < today)
  if (past.length === 0) return { days: sample.length, views, events, flushed: 0 }
  const flush = await flushPageViews(target, db, {
    from: past[0].day,
    to: past[past.length - 1].day,
  })
  return { days: sample.length, views, events, flushed: flush.views }
}
