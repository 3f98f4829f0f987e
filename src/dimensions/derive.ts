import type { IncomingHttpHeaders } from 'node:http'
import { parse as parseDomain } from 'tldts'
import { DIMENSION_GROUPS, dimensionKey, type DimensionGroup, type DimensionName } from './names.ts'
import { channelOf } from './channels.ts'
import { parseAgent } from './agent.ts'
import { BoundedCache, cleanValue, targetAsUnicode } from './values.ts'
import type { GeoipLookup } from './geoip.ts'

/** The value of `source` for a view without referrer or source parameter */
export const DIRECT_SOURCE = 'Direct / None'
/** The value of a dimension the request does not tell (country, language, browser, ...) */
export const UNKNOWN_VALUE = 'Unknown'
/** The value of `source` for a referrer whose host is an IP address (the address is not kept) */
export const IP_SOURCE = 'IP address'

/** Distinct user agents (with their hints) whose dimensions are remembered, without a recorder entry */
const AGENT_CACHE_SIZE = 2000
/** Distinct referrer hosts whose source is remembered */
const HOST_CACHE_SIZE = 2000
/** Longest referrer whose host is remembered */
const MAX_CACHED_REFERRER = 300
/** Distinct (referrer host, tagged query) pairs whose keys are remembered */
const TAGGED_CACHE_SIZE = 1000
/** Distinct key lists (source x agent x country x language) handed out as one shared array */
const COMBINATION_CACHE_SIZE = 4000
/** The part of a dimension that is off, or of a view without source (internal navigation) */
const NO_KEYS: readonly string[] = Object.freeze([])
/** Longest tagged query string remembered (longer ones are read, not remembered) */
const MAX_CACHED_QUERY = 500
/** Distinct Accept-Language headers whose language is remembered */
const LANGUAGE_CACHE_SIZE = 1000
/** Longest Accept-Language header remembered (longer ones are read, not remembered) */
const MAX_CACHED_HEADER = 200
/** Country codes that name no country: Cloudflare's unknown (XX) and Tor (T1), user-assigned ZZ */
const NO_COUNTRY: ReadonlySet<string> = new Set(['XX', 'ZZ', 'T1'])
const COUNTRY = /^[A-Z]{2}$/
const LANGUAGE = /^[a-z]{2,3}$/
const TAGGED_QUERY = /utm_|ref=|source=/
const UTM_PARAMS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'] as const

/** How the dimensions are derived (from the settings) */
export interface DeriveOptions {
  /** the `dimensions` switches */
  groups: Readonly<Record<DimensionGroup, boolean>>
  /** hosts whose referrers are internal navigation, besides the request's own Host */
  ownHosts?: readonly string[] | null
  /** the trusted header that carries the visitor's country (CF-IPCountry, ...) */
  countryHeader?: string | null
  /** the country of an IP address, from a MaxMind-format database */
  geoip?: GeoipLookup | null
}

/**
 * What is remembered of one user agent (the recorder keeps it in its
 * per-agent entry, next to the bot verdict): its dimension keys without
 * client hints, and with each combination of hints seen
 */
export interface AgentDimensions {
  agentKeys?: readonly string[]
  hintedKeys?: Map<string, readonly string[]>
}

/** What the referrer host is counted as */
interface HostInfo {
  /** the source: the registrable domain */
  source: string
  /** the registrable domain without its public suffix, to find the channel */
  name: string | null
  /** source and channel keys of a view from this host without tags */
  keys: readonly [string, string]
}

/** The tags of a landing URL */
interface QueryTags {
  utm: (string | null)[]
  /** `ref` or `source` */
  ref: string | null
}

/** The host name of a referrer URL, lowercased, without port, user or trailing dot; null for junk */
export function referrerHost(referrer: string): string | null {
  const scheme = referrer.indexOf('://')
  if (scheme <= 0 || scheme > 32) return null
  const start = scheme + 3
  let end = start
  while (end < referrer.length) {
    const code = referrer.charCodeAt(end)
    /* / ? # \ */
    if (code === 47 || code === 63 || code === 35 || code === 92) break
    end++
  }
  let host = referrer.slice(start, end)
  const at = host.lastIndexOf('@')
  if (at !== -1) host = host.slice(at + 1)
  if (host.startsWith('[')) {
    const close = host.indexOf(']')
    host = close === -1 ? '' : host.slice(0, close + 1)
  } else {
    const colon = host.indexOf(':')
    if (colon !== -1) host = host.slice(0, colon)
  }
  if (host.endsWith('.')) host = host.slice(0, -1)
  return host === '' ? null : host.toLowerCase()
}

/** A host name of `ownHosts` / the Host header, as referrerHost() spells it */
function plainHost(host: string): string {
  return referrerHost(`http://${host.trim()}`) ?? ''
}

/** The first value of a header */
function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return typeof value === 'string' ? value : value?.[0]
}

/** A two-letter country code, uppercased, or null */
export function countryCode(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null
  const code = raw.trim().toUpperCase()
  return COUNTRY.test(code) && !NO_COUNTRY.has(code) ? code : null
}

/** The primary subtag of the first language of an Accept-Language header, or Unknown */
export function primaryLanguage(raw: string | undefined): string {
  if (raw === undefined) return UNKNOWN_VALUE
  let end = 0
  while (end < raw.length && end < 64) {
    const code = raw.charCodeAt(end)
    /* , ; - _ */
    if (code === 44 || code === 59 || code === 45 || code === 95) break
    end++
  }
  const primary = raw.slice(0, end).trim().toLowerCase()
  return LANGUAGE.test(primary) ? primary : UNKNOWN_VALUE
}

/** The query string of a request target (without "?" and fragment) when it may hold tags, else null */
export function taggedQuery(target: string | undefined): string | null {
  if (target === undefined) return null
  const mark = target.indexOf('?')
  if (mark === -1) return null
  let query = target.slice(mark + 1)
  const hash = query.indexOf('#')
  if (hash !== -1) query = query.slice(0, hash)
  return TAGGED_QUERY.test(query) ? query : null
}

/** The tags of the request target's query string (before it is dropped), or null */
export function readTags(target: string | undefined): QueryTags | null {
  const query = taggedQuery(target)
  return query === null ? null : readQueryTags(query)
}

/** The tags of a query string, or null when it has none */
function readQueryTags(query: string): QueryTags | null {
  let params: URLSearchParams
  try {
    params = new URLSearchParams(targetAsUnicode(query))
  } catch {
    return null
  }
  const read = (name: string): string | null => {
    const value = params.get(name)
    if (value === null) return null
    const clean = cleanValue(value)
    return clean === '' ? null : clean
  }
  const utm = UTM_PARAMS.map(read)
  const ref = read('ref') ?? read('source')
  if (ref === null && utm.every((value) => value === null)) return null
  return { utm, ref }
}

const HOST_NAME = /^[a-z0-9-]+(?:\.[a-z0-9-]+)+$/

/**
 * The source (and its name for the channel table) of a `utm_source`, `ref`
 * or `source` parameter: a URL or a host name counts as its registrable
 * domain (never a path or query), any other value as it is
 */
function paramSource(param: string): [source: string, name: string | null] {
  const lower = param.toLowerCase()
  const host = param.includes('://') ? referrerHost(param) : HOST_NAME.test(lower) ? lower : null
  if (host === null) return [param, lower]
  const parsed = parseDomain(host)
  if (parsed.isIp) return [IP_SOURCE, null]
  if (parsed.domain) return [cleanValue(parsed.domain), parsed.domainWithoutSuffix || null]
  return param.includes('://') ? [UNKNOWN_VALUE, null] : [param, lower]
}

/**
 * Derives the dimensions of counted views. One per recorder: it holds the
 * bounded caches that keep record() fast (user agents, referrer hosts,
 * languages). Nothing it derives holds a user agent string, a referrer path
 * or query, or an IP address.
 */
export class DimensionDeriver {
  /** false when every dimension is off: derive() answers null */
  readonly enabled: boolean
  /** derive() reads the client IP (a geoip database is configured) */
  readonly needsIp: boolean
  readonly #sources: boolean
  readonly #campaigns: boolean
  readonly #agentParts: boolean
  readonly #browsers: boolean
  readonly #os: boolean
  readonly #devices: boolean
  readonly #countries: boolean
  readonly #languages: boolean
  readonly #ownHosts: ReadonlySet<string>
  /** `*.example.com` entries, as `.example.com` */
  readonly #ownSuffixes: readonly string[]
  readonly #countryHeader: string | null
  readonly #geoip: GeoipLookup | null
  #agents = new BoundedCache<readonly string[]>(AGENT_CACHE_SIZE)
  #hosts = new BoundedCache<HostInfo>(HOST_CACHE_SIZE)
  #referrerHosts = new BoundedCache<string | null>(HOST_CACHE_SIZE)
  /** keys of tagged views per (referrer host, query) */
  #tagged = new BoundedCache<readonly string[]>(TAGGED_CACHE_SIZE)
  #languagesCache = new BoundedCache<string>(LANGUAGE_CACHE_SIZE)
  #countryKeys = new Map<string, string>()
  /** source keys -> agent keys -> country key -> language key -> the view's keys (see #combine) */
  #combinations = new Map<
    readonly string[],
    Map<readonly string[], Map<string, Map<string, readonly string[]>>>
  >()
  #combinationCount = 0
  /** the last Host header and its host name (one app serves one or a few hosts) */
  #lastHost = ''
  #lastPlainHost = ''
  readonly #directKeys: readonly [string, string]
  readonly #unknownCountry: string

  constructor(options: DeriveOptions) {
    const groups = options.groups
    this.#sources = groups.sources
    this.#campaigns = groups.campaigns
    this.#browsers = groups.browsers
    this.#os = groups.os
    this.#devices = groups.devices
    this.#agentParts = groups.browsers || groups.os || groups.devices
    this.#geoip = options.geoip ?? null
    this.#countryHeader = options.countryHeader ? options.countryHeader.toLowerCase() : null
    this.#countries = groups.countries && (this.#countryHeader !== null || this.#geoip !== null)
    this.#languages = groups.languages
    this.enabled = (Object.keys(DIMENSION_GROUPS) as DimensionGroup[]).some((group) =>
      group === 'countries' ? this.#countries : groups[group]
    )
    this.needsIp = this.#countries && this.#geoip !== null
    const exact = new Set<string>()
    const suffixes: string[] = []
    for (const host of options.ownHosts ?? []) {
      if (host.startsWith('*.')) suffixes.push(`.${plainHost(host.slice(2))}`)
      else exact.add(plainHost(host))
    }
    this.#ownHosts = exact
    this.#ownSuffixes = suffixes
    this.#directKeys = [
      dimensionKey('source', DIRECT_SOURCE),
      dimensionKey('channel', 'Direct'),
    ] as const
    this.#unknownCountry = dimensionKey('country', UNKNOWN_VALUE)
  }

  /**
   * The dimension keys (`dimensionKey(dimension, value)`) of one counted
   * view, or null when every dimension is off. `target` is the raw request
   * target (with its query string), `ip` the client's address (read only
   * when needsIp), `agent` what the recorder remembers of this user agent.
   * Never throws on junk.
   */
  derive(
    headers: IncomingHttpHeaders,
    target: string | undefined,
    ip: string | null = null,
    agent?: AgentDimensions
  ): readonly string[] | null {
    if (!this.enabled) return null
    let source = NO_KEYS
    if (this.#sources || this.#campaigns) {
      const query = taggedQuery(target)
      if (query !== null) source = this.#taggedKeys(headers, query)
      else if (this.#sources) source = this.#sourceKeys(headers, null)
    }
    const agentKeys = this.#agentParts ? this.#agentKeys(headers, agent) : NO_KEYS
    const country = this.#countries ? this.#countryKey(headers, ip) : ''
    const language = this.#languages ? this.#languageKey(header(headers, 'accept-language')) : ''
    return this.#combine(source, agentKeys, country, language)
  }

  /**
   * One shared, frozen array per combination of parts (the parts come from
   * the caches above, so a lookup goes by identity): the write buffer counts
   * a view's keys as one entry of that array instead of a dozen map entries.
   * Parts that were not remembered (junk) make arrays that merely are not
   * shared; the whole cache is forgotten when full.
   */
  #combine(
    source: readonly string[],
    agent: readonly string[],
    country: string,
    language: string
  ): readonly string[] {
    let byAgent = this.#combinations.get(source)
    if (byAgent === undefined) this.#combinations.set(source, (byAgent = new Map()))
    let byCountry = byAgent.get(agent)
    if (byCountry === undefined) byAgent.set(agent, (byCountry = new Map()))
    let byLanguage = byCountry.get(country)
    if (byLanguage === undefined) byCountry.set(country, (byLanguage = new Map()))
    const known = byLanguage.get(language)
    if (known !== undefined) return known
    const keys = [...source, ...agent]
    if (country !== '') keys.push(country)
    if (language !== '') keys.push(language)
    Object.freeze(keys)
    if (this.#combinationCount >= COMBINATION_CACHE_SIZE) {
      this.#combinations.clear()
      this.#combinationCount = 0
    } else {
      byLanguage.set(language, keys)
      this.#combinationCount++
    }
    return keys
  }

  /**
   * The source, channel and utm keys of a view whose URL has tags,
   * remembered per (referrer host, query): the same campaign link is opened
   * by many visitors
   */
  #taggedKeys(headers: IncomingHttpHeaders, query: string): readonly string[] {
    const referrer = header(headers, 'referer')
    const host = referrer ? this.#hostOfReferrer(referrer) : null
    const internal = host !== null && this.#isOwnHost(host, headers)
    /* no referrer, a junk one, an internal one, or the referrer's host */
    const from = internal ? '\u0002' : referrer ? (host ?? '\u0001') : '\u0000'
    const cacheKey = `${from}\n${query}`
    let keys = this.#tagged.get(cacheKey)
    if (keys === undefined) {
      const tags = readQueryTags(query)
      const computed = this.#sources ? [...this.#sourceKeys(headers, tags)] : []
      if (this.#campaigns && tags !== null) {
        for (const [i, UTM_PARAM] of UTM_PARAMS.entries()) {
          const value = tags.utm[i]
          if (value !== null) computed.push(dimensionKey(UTM_PARAM, value))
        }
      }
      keys = computed
      if (query.length <= MAX_CACHED_QUERY) this.#tagged.set(cacheKey, keys)
    }
    return keys
  }

  /** referrerHost(), remembered per referrer (in memory only, like the request) */
  #hostOfReferrer(referrer: string): string | null {
    const known = this.#referrerHosts.get(referrer)
    if (known !== undefined) return known
    const host = referrerHost(referrer)
    return referrer.length > MAX_CACHED_REFERRER ? host : this.#referrerHosts.set(referrer, host)
  }

  /** True when the referrer host is the app's: the request's Host or one of ownHosts */
  #isOwnHost(host: string, headers: IncomingHttpHeaders): boolean {
    const requestHost = header(headers, 'host') ?? header(headers, ':authority')
    if (requestHost !== undefined) {
      if (requestHost !== this.#lastHost) {
        this.#lastHost = requestHost
        this.#lastPlainHost = plainHost(requestHost)
      }
      if (this.#lastPlainHost === host) return true
    }
    if (this.#ownHosts.has(host)) return true
    const suffixes = this.#ownSuffixes
    for (const suffix of suffixes) {
      if (host.endsWith(suffix) || host === suffix.slice(1)) return true
    }
    return false
  }

  /** The source of a referrer host: its registrable domain (tldts), remembered */
  #hostInfo(host: string | null): HostInfo {
    const cacheKey = host ?? ''
    const known = this.#hosts.get(cacheKey)
    if (known !== undefined) return known
    let source = UNKNOWN_VALUE
    let name: string | null = null
    if (host !== null) {
      const parsed = parseDomain(host)
      if (parsed.isIp) source = IP_SOURCE
      else if (parsed.domain) {
        source = cleanValue(parsed.domain) || UNKNOWN_VALUE
        name = parsed.domainWithoutSuffix || null
      } else if (/^[a-z0-9-]{1,63}$/.test(host)) {
        source = host
        name = host
      }
    }
    const channel = channelOf({
      name,
      host,
      medium: null,
      tagged: false,
      refParam: false,
      referred: true,
    })
    const info: HostInfo = {
      source,
      name,
      keys: [dimensionKey('source', source), dimensionKey('channel', channel)],
    }
    /* junk hosts are not remembered: a junk-only client would keep clearing the cache */
    return source === UNKNOWN_VALUE ? info : this.#hosts.set(cacheKey, info)
  }

  /** The source and channel keys of a view (none for internal navigation) */
  #sourceKeys(headers: IncomingHttpHeaders, tags: QueryTags | null): readonly string[] {
    const referrer = header(headers, 'referer')
    const referred = referrer !== undefined && referrer !== ''
    const host = referred ? this.#hostOfReferrer(referrer) : null
    /* internal navigation: no source and no channel */
    if (host !== null && this.#isOwnHost(host, headers)) return NO_KEYS
    if (tags === null) return referred ? this.#hostInfo(host).keys : this.#directKeys
    const [utmSource, utmMedium, utmCampaign, utmTerm, utmContent] = tags.utm
    const param = utmSource ?? tags.ref
    let source: string
    let name: string | null
    if (param !== null) {
      ;[source, name] = paramSource(param)
    } else if (referred) {
      const info = this.#hostInfo(host)
      source = info.source
      name = info.name
    } else {
      source = DIRECT_SOURCE
      name = null
    }
    const channel = channelOf({
      name,
      host,
      referred,
      medium: utmMedium === null ? null : utmMedium.toLowerCase(),
      tagged: utmSource !== null || utmCampaign !== null || utmTerm !== null || utmContent !== null,
      refParam: utmSource === null && tags.ref !== null,
    })
    return [dimensionKey('source', source), dimensionKey('channel', channel)]
  }

  /** Browser, OS and device keys of the user agent and its hints, remembered */
  #agentKeys(headers: IncomingHttpHeaders, agent?: AgentDimensions): readonly string[] {
    const userAgent = header(headers, 'user-agent') ?? ''
    const mobile = header(headers, 'sec-ch-ua-mobile')
    const platform = header(headers, 'sec-ch-ua-platform')
    if (mobile === undefined && platform === undefined) {
      if (agent !== undefined) return (agent.agentKeys ??= this.#parseAgent(userAgent))
      return this.#agents.get(userAgent) ?? this.#agents.set(userAgent, this.#parseAgent(userAgent))
    }
    const hints = `${mobile ?? ''}\n${(platform ?? '').slice(0, 64)}`
    if (agent !== undefined) {
      const hinted = (agent.hintedKeys ??= new Map())
      let keys = hinted.get(hints)
      if (keys === undefined) {
        keys = this.#parseAgent(userAgent, mobile, platform)
        /* a client sending new hints on every request cannot grow the entry */
        if (hinted.size >= 8) hinted.clear()
        hinted.set(hints, keys)
      }
      return keys
    }
    const cacheKey = `${hints}\n${userAgent}`
    return (
      this.#agents.get(cacheKey) ??
      this.#agents.set(cacheKey, this.#parseAgent(userAgent, mobile, platform))
    )
  }

  #parseAgent(userAgent: string, mobile?: string, platform?: string): readonly string[] {
    const info = parseAgent(userAgent, mobile, platform)
    const keys: string[] = []
    if (this.#browsers) {
      keys.push(dimensionKey('browser', info.browser))
      keys.push(dimensionKey('browser_version', info.browserVersion))
    }
    if (this.#os) {
      keys.push(dimensionKey('os', info.os))
      keys.push(dimensionKey('os_version', info.osVersion))
    }
    if (this.#devices) keys.push(dimensionKey('device', info.device))
    return keys
  }

  #countryKey(headers: IncomingHttpHeaders, ip: string | null): string {
    const raw = this.#countryHeader === null ? undefined : header(headers, this.#countryHeader)
    /* the header's few values (country codes), remembered as keys */
    if (raw !== undefined) {
      const known = this.#countryKeys.get(raw)
      if (known !== undefined) return known
    }
    const fromHeader = countryCode(raw)
    let code = fromHeader
    if (code === null && this.#geoip !== null && ip) code = countryCode(this.#geoip(ip))
    const key = code === null ? this.#unknownCountry : dimensionKey('country', code)
    /* an answer of the header alone: not one of the database */
    if (raw !== undefined && raw.length <= 8 && (fromHeader !== null || this.#geoip === null)) {
      if (this.#countryKeys.size >= LANGUAGE_CACHE_SIZE) this.#countryKeys.clear()
      this.#countryKeys.set(raw, key)
    }
    return key
  }

  #languageKey(raw: string | undefined): string {
    if (raw === undefined) return dimensionKey('language', UNKNOWN_VALUE)
    const known = this.#languagesCache.get(raw)
    if (known !== undefined) return known
    const key = dimensionKey('language', primaryLanguage(raw))
    return raw.length > MAX_CACHED_HEADER ? key : this.#languagesCache.set(raw, key)
  }
}

/** The dimension names a key list holds (for tests and debugging) */
export function dimensionsOf(keys: readonly string[]): DimensionName[] {
  return keys.map((key) => key.slice(0, key.indexOf(':')) as DimensionName)
}

/** The `dimensions` switches with every group on */
export const ALL_GROUPS: Readonly<Record<DimensionGroup, boolean>> = Object.freeze(
  Object.fromEntries(Object.keys(DIMENSION_GROUPS).map((group) => [group, true])) as Record<
    DimensionGroup,
    boolean
  >
)

/**
 * The dimension keys of one request, without a recorder (see
 * DimensionDeriver.derive; a recorder keeps one deriver and its caches)
 */
export function deriveDimensions(
  request: { headers: IncomingHttpHeaders; target?: string; ip?: string | null },
  options: DeriveOptions = { groups: ALL_GROUPS }
): readonly string[] | null {
  return new DimensionDeriver(options).derive(request.headers, request.target, request.ip ?? null)
}
