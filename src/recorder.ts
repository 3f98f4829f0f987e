import { hash } from 'node:crypto'
import { DateTime } from 'luxon'
import { isbot } from 'isbot'
import type { HttpContext } from '@adonisjs/core/http'
import app from '@adonisjs/core/services/app'
import type { DimensionName } from './dimensions/names.ts'
import type { WriteBuffer } from './write_buffer.ts'
import type { TrackingSettings } from './types.ts'
import { isTrackingSkipped } from './skip.ts'
import { DimensionDeriver, type AgentDimensions } from './dimensions/derive.ts'
import { PathGoals } from './goals.ts'

/** Where the recorder reports a misbehaving `exclude` hook (the app's logger) */
interface RecorderLogger {
  warn(message: string): void
}

/** Longest stored path, in characters (code points) */
export const MAX_PATH_LENGTH = 500
/** Distinct user agents whose bot verdict is remembered */
const BOT_CACHE_SIZE = 2000
/** ip + user agent pairs whose digest is remembered (memory only) */
const VISITOR_CACHE_SIZE = 4096

const NON_ASCII = /[^\x20-\x7e]/
/**
 * A path stored as it is: "/" then printable ASCII without "?" or "#" (the
 * length is checked apart)
 */
const PLAIN_PATH = /^\/[\x20-\x22\x24-\x3e\x40-\x7e]*$/
/**
 * Removed from stored paths: C0 controls and DEL, and the Unicode
 * bidirectional controls (marks U+200E/U+200F/U+061C, embeddings and
 * overrides U+202A..U+202E, isolates U+2066..U+2069), which would let a path
 * show itself reversed or reordered on the analytics page.
 */
// eslint-disable-next-line no-control-regex -- control characters are what is removed
const CONTROL = /[\x00-\x1f\x7f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/**
 * Node's HTTP parser hands the request target over as latin1, one character
 * per byte: re-read those bytes as UTF-8 (invalid sequences become U+FFFD).
 */
export function decodeRequestTarget(raw: string): string {
  // eslint-disable-next-line no-control-regex -- any character above one byte
  if (!NON_ASCII.test(raw) || /[^\x00-\xff]/.test(raw)) return raw
  return Buffer.from(raw, 'latin1').toString('utf8')
}

/**
 * The request path as Unicode. AdonisJS percent-decodes it already
 * (`/caf%C3%A9` is `/café`); only a target that arrived as raw bytes (a
 * lenient HTTP parser) is still one character per byte.
 */
function requestPath(ctx: HttpContext): string {
  const url = ctx.request.url()
  if (!NON_ASCII.test(url)) return url
  const raw = ctx.request.request.url
  return raw !== undefined && NON_ASCII.test(raw) ? decodeRequestTarget(url) : url
}

/**
 * Drops the escapes of a UTF-8 character that a cut left incomplete
 * (`%F0%9F%98` of 😀), so the stored path still percent-decodes.
 */
function dropIncompleteEscapes(path: string): string {
  const tail = /(?:%[0-9a-fA-F]{2})+$/.exec(path)
  if (!tail) return path
  const bytes = Buffer.from(tail[0].replaceAll('%', ''), 'hex')
  /* back to the lead byte of the last character (at most 3 continuation bytes) */
  let lead = bytes.length - 1
  while (lead > 0 && bytes.length - lead < 4 && (bytes[lead] & 0xc0) === 0x80) lead--
  const byte = bytes[lead]
  const size = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1
  const have = bytes.length - lead
  return have < size ? path.slice(0, path.length - have * 3) : path
}

/**
 * The path as stored: no query string or fragment, valid UTF-8, no control
 * or bidirectional control characters, at most 500 characters (cut, never
 * rejected, without splitting a character, a %-escape or an escaped
 * character), "/" when empty.
 */
export function normalizePath(raw: string | undefined | null): string {
  /* the common case: nothing to drop, cut or prefix */
  if (raw && raw.length <= MAX_PATH_LENGTH && PLAIN_PATH.test(raw)) return raw
  let path = raw ?? ''
  const cut = path.search(/[?#]/)
  if (cut !== -1) path = path.slice(0, cut)
  if (NON_ASCII.test(path)) path = path.replace(CONTROL, '').toWellFormed()
  if (path.length > MAX_PATH_LENGTH) {
    const chars = Array.from(path)
    if (chars.length > MAX_PATH_LENGTH) {
      path = dropIncompleteEscapes(
        chars
          .slice(0, MAX_PATH_LENGTH)
          .join('')
          .replace(/%[0-9a-fA-F]?$/, '')
      )
    }
  }
  if (path === '') return '/'
  return path.startsWith('/') ? path : `/${path}`
}

/** A normalized path without its trailing slashes (`trailingSlash: 'strip'`); "/" stays "/" */
export function stripTrailingSlash(path: string): string {
  if (path.length < 2 || path.charCodeAt(path.length - 1) !== 47) return path
  let end = path.length - 1
  while (end > 0 && path.charCodeAt(end - 1) === 47) end--
  return end === 0 ? '/' : path.slice(0, end)
}

/**
 * What a request is counted as
 */
export interface PageHit {
  path: string
  day: string
  /** the authenticated user's id (as a string), or the visitorId hook's answer */
  visitor: string | null
  /** unsalted digest of ip + user agent for tracked anonymous traffic (memory only) */
  anonymous: string | null
}

/**
 * What is remembered of one user agent: its bot verdict, its visitors'
 * digests by ip and its dimensions (browser, OS, device)
 */
interface AgentEntry extends AgentDimensions {
  /** isbot's verdict, once asked */
  bot?: boolean
  digests?: Map<string, string>
}

/** The headers of a request, as Node parsed them */
type RequestHeaders = HttpContext['request']['request']['headers']

/**
 * A view record() admitted, waiting to be counted: what counting it reads
 * of the request, taken while the request is at hand (the headers object
 * is Node's own, never changed after parsing)
 */
interface QueuedView {
  path: string
  /** the user id or the visitorId hook's answer; null for a guest */
  visitor: string | null
  /** the visitor is a guest: its anonymous digest is taken when the view is counted */
  guest: boolean
  /** the client IP, read only for a guest or a geoip lookup */
  ip: string
  headers: RequestHeaders
  target: string | undefined
  agent: AgentEntry | undefined
  now: number
}

/** Views record() holds before it counts them at once, at most */
const QUEUE_SIZE = 256

/** The skipped prefixes grouped by the code of their second character (the one after "/") */
interface SkipIndex {
  prefixes: readonly string[]
  bySecondChar: Map<number, string[]>
  /** prefixes of one character, checked on every path */
  short: string[]
}

/** A prefetch or prerender announced by the browser */
function isPrefetch(headers: RequestHeaders): boolean {
  const purpose = headers['sec-purpose'] ?? headers['purpose'] ?? headers['x-purpose']
  if (typeof purpose === 'string' && purpose.includes('prefetch')) return true
  return headers['x-moz'] === 'prefetch'
}

/**
 * Turns an HTTP request into a page view: decides eligibility, normalizes the
 * path, resolves the day in the configured timezone and the visitor, and
 * hands the view to the write buffer. Cheap and synchronous by design: it
 * runs on every response.
 */
export class TrackingRecorder {
  readonly settings: TrackingSettings
  #buffer: WriteBuffer
  #now: () => number
  #dayCache = { day: '', from: 0, until: -1 }
  /** per user agent: bot verdict and digests (one lookup serves both) */
  #agents = new Map<string, AgentEntry>()
  /** digests held in #agents */
  #digests = 0
  #skipIndex?: SkipIndex
  /** whether request.ip() is the socket's address when no proxy header came (known at first use) */
  #socketIp?: boolean
  /** derives the dimensions of counted views (sources, campaigns, browsers, ...) */
  #deriver: DimensionDeriver
  #logger?: RecorderLogger
  /** the `exclude` hook failed once already (it is reported once) */
  #excludeReported = false
  /** the path goals of the config (null without: record() only checks this) */
  #goals: PathGoals | null
  /** views admitted by record() and not counted yet (see record()) */
  #queue: QueuedView[] = []
  /** a count of the queue is scheduled (setImmediate) */
  #scheduled = false

  constructor(
    settings: TrackingSettings,
    buffer: WriteBuffer,
    options: { now?: () => number; logger?: RecorderLogger } = {}
  ) {
    this.settings = settings
    this.#buffer = buffer
    this.#now = options.now ?? Date.now
    this.#logger = options.logger
    this.#deriver = new DimensionDeriver({
      groups: settings.dimensions,
      ownHosts: settings.ownHosts,
      countryHeader: settings.countryHeader,
      geoip: settings.geoip,
    })
    this.#goals = settings.goals?.some((goal) => goal.path !== null)
      ? new PathGoals(settings.goals)
      : null
    /* the buffer asks for the queued views before it takes anything else in, or reads or sends */
    buffer.feedFrom(() => this.#countQueued())
  }

  /** Reports a failing `exclude` hook, once per recorder */
  #reportExclude(message: string): void {
    if (this.#excludeReported) return
    this.#excludeReported = true
    const text = `[tracking] ${message}`
    if (this.#logger) this.#logger.warn(text)
    else console.warn(text)
  }

  /**
   * The privacy controls: `honorDoNotTrack` (DNT: 1 or Sec-GPC: 1) and the
   * `exclude(ctx)` hook. A throwing hook excludes the request (it counts
   * nothing) and is reported once; a promise is not waited for (the request
   * counts) and is reported once.
   */
  #isExcluded(ctx: HttpContext): boolean {
    const { settings } = this
    if (settings.honorDoNotTrack) {
      const headers = ctx.request.request.headers
      if (headers['dnt'] === '1' || headers['sec-gpc'] === '1') return true
    }
    const exclude = settings.exclude
    if (exclude === null) return false
    let answer: unknown
    try {
      answer = exclude(ctx)
    } catch (error) {
      this.#reportExclude(
        `the exclude(ctx) hook threw (${(error as Error)?.message ?? String(error)}): such requests are not counted`
      )
      return true
    }
    if (typeof (answer as Promise<unknown> | null)?.then === 'function') {
      this.#reportExclude(
        'the exclude(ctx) hook returned a promise: it must answer synchronously (the request was counted)'
      )
      return false
    }
    return Boolean(answer)
  }

  /**
   * The dimension keys of a counted view (see DimensionDeriver.derive), or
   * null when every dimension is off. The user agent's part is remembered in
   * its entry, next to the bot verdict.
   */
  #dimensionsOf(
    headers: RequestHeaders,
    target: string | undefined,
    /* the client IP, read only when the deriver needs it (geoip) */
    ip: string | null,
    agent: AgentEntry | undefined
  ): readonly string[] | null {
    const deriver = this.#deriver
    if (!deriver.enabled) return null
    const userAgent = headers['user-agent']
    const entry = agent ?? (userAgent ? this.#agent(userAgent) : undefined)
    return deriver.derive(headers, target, deriver.needsIp ? ip : null, entry)
  }

  /**
   * The calendar day (YYYY-MM-DD) of an instant in the configured timezone.
   * The day's bounds are cached; the next day starts at its own midnight, or
   * at 01:00 when a DST change skips midnight (Santiago, Havana, Beirut,
   * Cairo): one day after this day's start would keep this day's wall-clock
   * time instead.
   */
  dayOf(epochMs: number): string {
    const cache = this.#dayCache
    if (epochMs >= cache.from && epochMs < cache.until) return cache.day
    const instant = DateTime.fromMillis(epochMs, { zone: this.settings.timezone })
    const start = instant.startOf('day')
    this.#dayCache = {
      day: instant.toISODate()!,
      from: start.toMillis(),
      until: start.plus({ days: 1 }).startOf('day').toMillis(),
    }
    return this.#dayCache.day
  }

  /** A raw path as it is counted: normalized, then per `trailingSlash` */
  #storedPath(raw: string): string {
    const path = normalizePath(raw)
    return this.settings.trailingSlash === 'strip' ? stripTrailingSlash(path) : path
  }

  /** The stored path of a request whose `request.url()` is `url` */
  #pathOf(ctx: HttpContext, url: string): string {
    if (this.settings.groupBy === 'route' && ctx.route?.pattern) {
      return this.#storedPath(ctx.route.pattern)
    }
    /* plain ASCII: normalizePath would hand it back as is */
    if (url.length > MAX_PATH_LENGTH || !PLAIN_PATH.test(url)) {
      return this.#storedPath(requestPath(ctx))
    }
    return this.settings.trailingSlash === 'strip' ? stripTrailingSlash(url) : url
  }

  /** True when the path is under one of the skipped prefixes */
  isSkipped(path: string): boolean {
    let index = this.#skipIndex
    if (index === undefined || index.prefixes !== this.settings.skipPrefixes) {
      index = this.#indexSkipPrefixes()
    }
    const { short } = index
    for (let i = 0; i < short.length; i++) if (path.startsWith(short[i])) return true
    const candidates = index.bySecondChar.get(path.charCodeAt(1))
    if (candidates === undefined) return false
    for (let i = 0; i < candidates.length; i++) if (path.startsWith(candidates[i])) return true
    return false
  }

  /** Groups the skipped prefixes so a path is compared only with those that can match it */
  #indexSkipPrefixes(): SkipIndex {
    const prefixes = this.settings.skipPrefixes
    const index: SkipIndex = { prefixes, bySecondChar: new Map(), short: [] }
    for (const prefix of prefixes) {
      if (prefix.length < 2) {
        index.short.push(prefix)
        continue
      }
      const code = prefix.charCodeAt(1)
      const group = index.bySecondChar.get(code)
      if (group) group.push(prefix)
      else index.bySecondChar.set(code, [prefix])
    }
    this.#skipIndex = index
    return index
  }

  /** What is remembered of a user agent; everything is forgotten past BOT_CACHE_SIZE agents */
  #agent(userAgent: string): AgentEntry {
    let entry = this.#agents.get(userAgent)
    if (entry === undefined) {
      if (this.#agents.size >= BOT_CACHE_SIZE) {
        this.#agents.clear()
        this.#digests = 0
      }
      entry = {}
      this.#agents.set(userAgent, entry)
    }
    return entry
  }

  /** Bot verdict of a user agent (isbot's maintained list), remembered per agent */
  isBot(userAgent: string | undefined): boolean {
    if (!userAgent) return true
    const entry = this.#agent(userAgent)
    entry.bot ??= isbot(userAgent)
    return entry.bot
  }

  /** The authenticated user's id as a string, when auth ran for this request */
  userId(ctx: HttpContext): string | null {
    try {
      /* `auth` exists only when @adonisjs/auth's middleware ran */
      const id = (ctx as { auth?: { user?: { id?: unknown } } }).auth?.user?.id
      return id === undefined || id === null ? null : String(id)
    } catch {
      return null
    }
  }

  /** The visitorId hook's answer as a string, or null */
  #hookVisitor(ctx: HttpContext): string | null {
    const id = this.settings.visitorId!(ctx)
    return id === undefined || id === null || id === '' ? null : String(id)
  }

  /** The anonymous digest of a request's ip and user agent */
  #anonymousOf(headers: RequestHeaders, ip: string, agent?: AgentEntry): string {
    const userAgent = headers['user-agent'] ?? ''
    return this.#anonymousDigest(agent ?? this.#agent(userAgent), ip, userAgent)
  }

  /**
   * Describes the request as a page view, without checking eligibility
   */
  describe(ctx: HttpContext, now: number = this.#now()): PageHit {
    const { settings } = this
    const hit: PageHit = {
      path: this.#pathOf(ctx, ctx.request.url()),
      day: this.dayOf(now),
      visitor: null,
      anonymous: null,
    }
    if (settings.visitorId) {
      hit.visitor = this.#hookVisitor(ctx)
      return hit
    }
    hit.visitor = this.userId(ctx)
    if (hit.visitor === null && settings.trackAnonymous) {
      hit.anonymous = this.#anonymousOf(ctx.request.request.headers, this.#clientIp(ctx))
    }
    return hit
  }

  /**
   * What `request.ip()` answers. Without an X-Forwarded-For header (and
   * without a `getIp` of the app's own in config/app.ts) that is the
   * socket's address, read directly: proxy-addr's header parsing was a
   * fifth of record() in a profile of a fresh app.
   */
  #clientIp(ctx: HttpContext): string {
    const incoming = ctx.request.request
    if (incoming.headers['x-forwarded-for'] === undefined && this.#ipIsSocketAddress()) {
      const address = incoming.socket?.remoteAddress
      if (address !== undefined) return address
    }
    return ctx.request.ip() ?? ''
  }

  /** False when the app computes the ip itself (app.http.getIp), or when no app is booted */
  #ipIsSocketAddress(): boolean {
    if (this.#socketIp === undefined) {
      const http = app?.config?.get<{ getIp?: unknown } | undefined>('app.http', undefined)
      this.#socketIp = Boolean(app) && typeof http?.getIp !== 'function'
    }
    return this.#socketIp
  }

  /**
   * The unsalted digest of ip + user agent. A visitor's next pages reuse it:
   * hashing (and joining the two strings) on every request costs more than
   * the rest of record(). Bounded, and in this process only, like the
   * request itself.
   */
  #anonymousDigest(agent: AgentEntry, ip: string, userAgent: string): string {
    let digest = agent.digests?.get(ip)
    if (digest === undefined) {
      digest = hash('sha256', `${ip}\n${userAgent}`, 'base64url')
      /* full: start over (cheaper than tracking recency on the hot path) */
      if (this.#digests >= VISITOR_CACHE_SIZE) {
        this.#agents.clear()
        this.#agents.set(userAgent, agent)
        agent.digests = undefined
        this.#digests = 0
      }
      ;(agent.digests ??= new Map()).set(ip, digest)
      this.#digests++
    }
    return digest
  }

  /**
   * The rules of the request itself (tracking enabled, GET, skipTracking(ctx),
   * final status, skipped prefixes): its path when they pass
   */
  #eligibleUrl(ctx: HttpContext): string | undefined {
    const { settings } = this
    if (!settings.enabled) return undefined
    const { request } = ctx
    if (request.method() !== 'GET' || isTrackingSkipped(ctx)) return undefined
    const status = ctx.response.getStatus()
    if (status !== 200 && !(settings.trackRedirects && (status === 301 || status === 302))) {
      return undefined
    }
    const url = request.url()
    return this.isSkipped(url) ? undefined : url
  }

  /**
   * With `ignoreBots`: null for a bot or a prefetch, else what is remembered
   * of the user agent. Undefined when bots are counted.
   */
  #humanAgent(ctx: HttpContext): AgentEntry | null | undefined {
    if (!this.settings.ignoreBots) return undefined
    const headers = ctx.request.request.headers
    if (isPrefetch(headers)) return null
    const userAgent = headers['user-agent']
    if (!userAgent) return null
    const agent = this.#agent(userAgent)
    agent.bot ??= isbot(userAgent)
    return agent.bot ? null : agent
  }

  /**
   * The eligibility rules of a page view (method, skipTracking(ctx), final
   * status, skipped prefixes, anonymous policy, bots and prefetches)
   */
  isEligible(ctx: HttpContext): boolean {
    if (this.#eligibleUrl(ctx) === undefined || this.#humanAgent(ctx) === null) return false
    const { settings } = this
    if (!settings.trackAnonymous && !settings.visitorId && this.userId(ctx) === null) return false
    return !this.#isExcluded(ctx)
  }

  /**
   * The dimension keys record() passes with the request's view (whether or
   * not it is eligible): `dimensionKey(dimension, value)` strings, or null
   * when every dimension is off
   */
  dimensions(ctx: HttpContext): readonly string[] | null {
    const incoming = ctx.request.request
    const ip = this.#deriver.needsIp ? this.#clientIp(ctx) : null
    return this.#dimensionsOf(incoming.headers, incoming.url, ip, undefined)
  }

  /**
   * Records the request when it is an eligible page view. Never throws and
   * never waits for the store. The rules of isEligible() and the steps of
   * describe() in one pass: the user agent is looked up once, the request
   * path read once, and no object is built for the view but its queue entry.
   *
   * Only what needs the request is done here (eligibility, path, visitor,
   * clock); deriving the view's dimensions and digest and adding it to the
   * write buffer happen for the queued views together, right after the
   * event loop's I/O (setImmediate), or at once when QUEUE_SIZE are
   * waiting, and before the buffer takes anything else in or reads or sends
   * (WriteBuffer.feedFrom). Done one request at a time, between the app's
   * own work, the same steps cost the server about twice the CPU.
   */
  record(ctx: HttpContext): boolean {
    try {
      const url = this.#eligibleUrl(ctx)
      if (url === undefined) return false
      const agent = this.#humanAgent(ctx)
      if (agent === null) return false
      const { settings } = this
      const hook = settings.visitorId
      let visitor = hook ? null : this.userId(ctx)
      if (!hook && visitor === null && !settings.trackAnonymous) return false
      if ((settings.exclude !== null || settings.honorDoNotTrack) && this.#isExcluded(ctx)) {
        return false
      }
      /* one clock read for the day and the minute */
      const now = this.#now()
      const path = this.#pathOf(ctx, url)
      /* the request path was checked above: the stored one only when it differs */
      if (path !== url && this.isSkipped(path)) return false
      if (hook) visitor = this.#hookVisitor(ctx)
      const guest = !hook && visitor === null
      const incoming = ctx.request.request
      const queue = this.#queue
      queue.push({
        path,
        visitor,
        guest,
        ip: guest || this.#deriver.needsIp ? this.#clientIp(ctx) : '',
        headers: incoming.headers,
        target: incoming.url,
        agent,
        now,
      })
      if (queue.length >= QUEUE_SIZE) this.#countQueued()
      else if (!this.#scheduled) {
        this.#scheduled = true
        setImmediate(this.#countSoon)
      }
      return true
    } catch {
      return false
    }
  }

  #countSoon = () => {
    this.#scheduled = false
    this.#countQueued()
  }

  /** Counts the queued views into the write buffer, in the order they were recorded */
  #countQueued(): void {
    const queue = this.#queue
    if (queue.length === 0) return
    this.#queue = []
    for (const view of queue) {
      try {
        this.#count(view)
      } catch {
        /* a view the deriver could not handle is not counted; the others are */
      }
    }
  }

  #count(view: QueuedView): void {
    const { headers, now, path } = view
    /* looked up once for the digest and the dimensions (record() did when bots are ignored) */
    const userAgent = headers['user-agent']
    const agent = view.agent ?? (userAgent ? this.#agent(userAgent) : undefined)
    const anonymous = view.guest ? this.#anonymousOf(headers, view.ip, agent) : null
    let dimensions = this.#dimensionsOf(headers, view.target, view.ip, agent)
    if (this.#goals !== null) dimensions = this.#goals.withGoals(path, dimensions)
    this.#buffer.addView(
      this.dayOf(now),
      path,
      view.visitor,
      anonymous,
      Math.floor(now / 60_000),
      dimensions,
      now
    )
  }

  /**
   * Counts a view directly (imports, tests, custom integrations);
   * `dimensions` are its values (`{ source: 'github.com' }`) or dimensionKey() pairs
   */
  recordView(view: {
    path: string
    day?: string
    visitor?: string | null
    at?: number
    dimensions?: Partial<Record<DimensionName, string>> | readonly string[]
  }): void {
    const at = view.at ?? this.#now()
    const dimensions = view.dimensions
    const path = this.#storedPath(view.path)
    const keys = Array.isArray(dimensions)
      ? dimensions
      : dimensions
        ? Object.entries(dimensions).flatMap(([name, value]) =>
            typeof value === 'string' ? [`${name}:${value}`] : []
          )
        : null
    this.#buffer.add({
      day: view.day ?? this.dayOf(at),
      path,
      visitor: view.visitor ?? null,
      minute: Math.floor(at / 60_000),
      at,
      dimensions: this.#goals === null ? keys : this.#goals.withGoals(path, keys),
    })
  }

  /** The path an event of the request is counted with: the request's path as record() stores it */
  eventPath(ctx: HttpContext): string {
    return this.#pathOf(ctx, ctx.request.url())
  }

  /**
   * Counts an event's key list (src/events.ts) for the request's visitor:
   * the rules of a view that are about the visitor apply (tracking enabled,
   * bots and prefetches with `ignoreBots`, guests only with
   * `trackAnonymous`, `exclude`, `honorDoNotTrack`), those about the
   * response do not (method, status, skipped prefixes, skipTracking). The
   * visitor is the one a view of the request would have. Never throws.
   */
  recordEvent(ctx: HttpContext, keys: readonly string[]): boolean {
    try {
      const { settings } = this
      if (!settings.enabled) return false
      const agent = this.#humanAgent(ctx)
      if (agent === null) return false
      const hook = settings.visitorId
      let visitor = hook ? null : this.userId(ctx)
      if (!hook && visitor === null && !settings.trackAnonymous) return false
      if ((settings.exclude !== null || settings.honorDoNotTrack) && this.#isExcluded(ctx)) {
        return false
      }
      const now = this.#now()
      let anonymous: string | null = null
      if (hook) visitor = this.#hookVisitor(ctx)
      else if (visitor === null) {
        anonymous = this.#anonymousOf(ctx.request.request.headers, this.#clientIp(ctx), agent)
      }
      this.#buffer.addEvent(this.dayOf(now), visitor, anonymous, keys, now)
      return true
    } catch {
      return false
    }
  }
}
