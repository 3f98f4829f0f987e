import { DateTime, IANAZone } from 'luxon'
import string from '@adonisjs/core/helpers/string'
import { E_TRACKING_INVALID_CONFIG } from './errors.ts'
import { MAX_RANGE_DAYS } from './ranges.ts'
import { DEFAULT_MAX_PATHS_PER_DAY } from './stores/batch.ts'
import { DEFAULT_MAX_OPEN_VISITS } from './stores/visits.ts'
import { isAbsolute, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  DEFAULT_MAX_VALUES_PER_DIMENSION,
  DIMENSION_GROUPS,
  MAX_EVENT_NAME_LENGTH,
  type DimensionGroup,
} from './dimensions/names.ts'
import { cleanText } from './dimensions/values.ts'
import { MAX_GOAL_NAME_LENGTH, MAX_GOAL_PATH_LENGTH, MAX_GOALS } from './goals.ts'
import { MAX_FUNNEL_STEPS, MAX_FUNNELS } from './funnels.ts'
import { openGeoip, type GeoipLookup } from './dimensions/geoip.ts'
import {
  API_TOKEN_CHARACTERS,
  ApiTokens,
  MAX_API_TOKEN_LENGTH,
  MIN_API_TOKEN_LENGTH,
} from './api_tokens.ts'
import type {
  LegacyTrackingConfig,
  TrackingConfig,
  TrackingFunnelSettings,
  TrackingGoalSettings,
  TrackingGroupBy,
  TrackingSettings,
  TrackingStoreName,
  TrackingTrailingSlash,
} from './types.ts'

/**
 * Paths that are never page views in an AdonisJS app: Vite and static assets,
 * uploads, health probes, transmit streams and well-known robot files.
 */
export const DEFAULT_SKIP_PREFIXES: readonly string[] = Object.freeze([
  '/assets/',
  '/public/',
  '/static/',
  '/uploads/',
  '/favicon.ico',
  '/robots.txt',
  '/sitemap.xml',
  '/.well-known/',
  '/health',
  '/__transmit/',
  '/@vite/',
  '/node_modules/',
])

/** Default of `visitTimeoutMinutes`: a gap of 30 minutes ends a visit (as Plausible and GA) */
export const DEFAULT_VISIT_TIMEOUT_MINUTES = 30
/**
 * Longest `visitTimeoutMinutes`: 4 hours. The previous day's salt of the
 * anonymous hashes must stay usable for the timeout after midnight, and
 * salts live 36 hours.
 */
export const MAX_VISIT_TIMEOUT_MINUTES = 240

/**
 * Default access policy of the analytics page: nobody.
 */
const denyAll = () => false

/**
 * Every setting with its legacy snake_case name (as in the seed's CABINET_TRACKING)
 */
const LEGACY_NAMES: Record<string, keyof TrackingConfig> = {
  redis_enabled: 'redisEnabled',
  redis_connection: 'redisConnection',
  redis_url: 'redisUrl',
  key_prefix: 'keyPrefix',
  ttl_seconds: 'ttlSeconds',
  skip_prefixes: 'skipPrefixes',
  track_anonymous: 'trackAnonymous',
  track_redirects: 'trackRedirects',
  track_dashboard_widgets: 'trackDashboardWidgets',
  analytics_url: 'analyticsUrl',
  analytics_days: 'analyticsDays',
  analytics_layout: 'analyticsLayout',
  login_url: 'loginUrl',
  register_routes: 'registerRoutes',
  ignore_bots: 'ignoreBots',
  buffer_ms: 'bufferMs',
  buffer_max_entries: 'bufferMaxEntries',
  max_paths_per_day: 'maxPathsPerDay',
  store_timeout_ms: 'storeTimeoutMs',
  group_by: 'groupBy',
  trailing_slash: 'trailingSlash',
  auto_flush: 'autoFlush',
  retention_days: 'retentionDays',
  visitor_id: 'visitorId',
  own_hosts: 'ownHosts',
  country_header: 'countryHeader',
  geoip_database: 'geoipDatabase',
  honor_do_not_track: 'honorDoNotTrack',
  max_values_per_dimension: 'maxValuesPerDimension',
  api_tokens: 'apiTokens',
  api_rate_limit: 'apiRateLimit',
  visit_timeout_minutes: 'visitTimeoutMinutes',
  max_open_visits: 'maxOpenVisits',
}

/** Every key `defineConfig` accepts */
export const KNOWN_KEYS: ReadonlySet<string> = new Set<string>([
  'enabled',
  'store',
  'redisEnabled',
  'redisConnection',
  'redisUrl',
  'keyPrefix',
  'ttlSeconds',
  'skipPrefixes',
  'trackAnonymous',
  'trackRedirects',
  'trackDashboardWidgets',
  'analyticsUrl',
  'analyticsDays',
  'analyticsLayout',
  'loginUrl',
  'registerRoutes',
  'timezone',
  'ignoreBots',
  'bufferMs',
  'bufferMaxEntries',
  'maxPathsPerDay',
  'storeTimeoutMs',
  'groupBy',
  'trailingSlash',
  'autoFlush',
  'retentionDays',
  'authorize',
  'visitorId',
  'dimensions',
  'ownHosts',
  'countryHeader',
  'geoipDatabase',
  'exclude',
  'honorDoNotTrack',
  'maxValuesPerDimension',
  'apiTokens',
  'apiRateLimit',
  'goals',
  'funnels',
  'visitTimeoutMinutes',
  'maxOpenVisits',
])

/**
 * Context the settings are resolved in
 */
export interface SettingsContext {
  /** Fallback timezone when the config names none (the app's TZ) */
  defaultTimezone?: string
  /** Names of the app's configured @adonisjs/redis connections, when known */
  redisConnections?: string[]
  /** The app root, which a relative geoipDatabase path is resolved from (default: the process cwd) */
  appRoot?: string | URL
}

function show(value: unknown): string {
  if (typeof value === 'function') return '[function]'
  if (typeof value === 'string') return JSON.stringify(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/** What a secret value is shown as in an error: its length, never its text */
function redacted(value: unknown): string {
  if (typeof value === 'string') return `<redacted, ${value.length} characters>`
  if (Array.isArray(value)) return `<redacted, an array of ${value.length}>`
  return `<redacted ${value === null ? 'null' : typeof value}>`
}

/** Keys whose values are never shown in an error (a misspelt `apiTokens` holds tokens too) */
const SECRET_KEY = /token|secret|password/i

function fail(key: string, value: unknown, expected: string): never {
  const shown = SECRET_KEY.test(key) ? redacted(value) : show(value)
  throw new E_TRACKING_INVALID_CONFIG([key, shown, expected])
}

/**
 * Turns the legacy section into camelCase keys. Unknown keys fail so that a
 * typo is not silently ignored.
 */
function normalizeLegacy(legacy: LegacyTrackingConfig | undefined | null): TrackingConfig {
  if (legacy === undefined || legacy === null) return {}
  if (typeof legacy !== 'object' || Array.isArray(legacy)) {
    fail('cabinet.tracking', legacy, 'expected an object')
  }
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(legacy)) {
    if (value === undefined) continue
    const modern = LEGACY_NAMES[key] ?? key
    if (!KNOWN_KEYS.has(modern)) fail(`cabinet.tracking.${key}`, value, 'unknown key')
    /* a camelCase key wins over its snake_case twin within the legacy section too */
    if (modern !== key || !(modern in out)) out[modern] = value
  }
  return out as TrackingConfig
}

function checkUnknown(config: TrackingConfig) {
  for (const key of Object.keys(config)) {
    if (!KNOWN_KEYS.has(key)) fail(key, (config as Record<string, unknown>)[key], 'unknown key')
  }
}

function bool(key: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') fail(key, value, 'expected true or false')
  return value
}

function int(key: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(key, value, `expected an integer between ${min} and ${max}`)
  }
  return value
}

/** One of a few names; the first is the default */
function oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[]): T {
  if (value === undefined) return allowed[0]
  if (!allowed.includes(value as T)) {
    fail(key, value, `expected ${allowed.map((name) => `"${name}"`).join(' or ')}`)
  }
  return value as T
}

function nonEmptyString(key: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || value.trim() === '')
    fail(key, value, 'expected a non-empty string')
  return value
}

function urlPath(key: string, value: unknown, fallback: string): string {
  const path = nonEmptyString(key, value, fallback)
  if (!path.startsWith('/')) fail(key, value, 'expected a path starting with "/"')
  return path.length > 1 ? path.replace(/\/+$/, '') : path
}

function optionalString(key: string, value: unknown): string | null {
  if (value === undefined || value === null) return null
  return nonEmptyString(key, value, '')
}

function optionalUrl(key: string, value: unknown): string | null {
  const url = optionalString(key, value)
  if (url !== null && !url.startsWith('/') && !/^https?:\/\//.test(url)) {
    fail(key, value, 'expected a path starting with "/" or an http(s) URL')
  }
  return url
}

/** Fixed offsets as Luxon writes them ("UTC+2", "UTC-03:30") or as Intl does ("+02:00") */
const OFFSET_ZONE = /^(?:utc)?([+-])(\d{1,2})(?::?(\d{2}))?$/i

/** The offsets clocks on Earth use: UTC-12:00 to UTC+14:00 */
const MIN_OFFSET_MINUTES = -12 * 60
const MAX_OFFSET_MINUTES = 14 * 60

/**
 * "UTC", a zone of the IANA database ("Europe/Paris", "Etc/GMT+2") or a
 * fixed offset between UTC-12:00 and UTC+14:00. Luxon alone accepts any
 * offset ("UTC+99") and the process zone ("local", "system"), which would
 * shift every day.
 */
function isZone(zone: unknown): zone is string {
  if (typeof zone !== 'string' || zone === '') return false
  if (!DateTime.now().setZone(zone).isValid) return false
  const offset = OFFSET_ZONE.exec(zone)
  if (!offset) return IANAZone.isValidZone(zone)
  const minutes = Number(offset[3] ?? 0)
  const total = (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 60 + minutes)
  return minutes < 60 && total >= MIN_OFFSET_MINUTES && total <= MAX_OFFSET_MINUTES
}

function resolveTimezone(value: unknown, fallback: string): string {
  const zone = value === undefined ? (isZone(fallback) ? fallback : 'UTC') : value
  if (!isZone(zone)) {
    fail(
      'timezone',
      zone,
      'expected an IANA zone such as "Europe/Paris", "UTC", or an offset from "UTC-12" to "UTC+14"'
    )
  }
  return zone
}

/**
 * Longest autoFlush interval. Node's timers hold at most 2^31-1 ms (24.8
 * days) and fire after 1 ms beyond it; a day is also the longest wait that
 * keeps the day rows of SQL current.
 */
const MAX_AUTO_FLUSH_MS = 24 * 3600 * 1000

function resolveAutoFlush(value: unknown): TrackingSettings['autoFlush'] {
  if (value === undefined || value === false || value === null) return false
  if (typeof value !== 'object' || !('every' in value)) {
    fail('autoFlush', value, 'expected false or { every: "1m" }')
  }
  const every = (value as { every: unknown }).every
  let ms: number | undefined
  if (typeof every === 'number') ms = every
  else if (typeof every === 'string') {
    try {
      ms = string.milliseconds.parse(every)
    } catch {
      ms = undefined
    }
  }
  if (ms === undefined || !Number.isFinite(ms) || ms < 1000 || ms > MAX_AUTO_FLUSH_MS) {
    fail('autoFlush.every', every, 'expected a duration from 1s to 24h, such as "1m"')
  }
  return Object.freeze({ everyMs: ms })
}

/** An HTTP header name (a token of RFC 9110) */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i
/** A host name, optionally with a port, or `*.` and a host name */
const OWN_HOST = /^(?:\*\.)?[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?(?::\d{1,5})?$/i

function resolveDimensions(value: unknown, countrySource: boolean) {
  const groups = Object.keys(DIMENSION_GROUPS) as DimensionGroup[]
  const all = value === undefined || value === true
  if (value === false || all) {
    return Object.freeze(
      Object.fromEntries(
        groups.map((group) => [group, all && (group !== 'countries' || countrySource)])
      ) as Record<DimensionGroup, boolean>
    )
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(
      'dimensions',
      value,
      `expected true, false or an object of switches (${groups.join(', ')})`
    )
  }
  const switches = value as Record<string, unknown>
  for (const key of Object.keys(switches)) {
    if (!groups.includes(key as DimensionGroup)) {
      fail(`dimensions.${key}`, switches[key], `unknown switch (known: ${groups.join(', ')})`)
    }
  }
  const resolved = {} as Record<DimensionGroup, boolean>
  for (const group of groups) {
    const fallback = group === 'countries' ? countrySource : true
    resolved[group] = bool(`dimensions.${group}`, switches[group], fallback)
  }
  if (resolved.countries && !countrySource) {
    fail('dimensions.countries', true, 'needs countryHeader or geoipDatabase')
  }
  return Object.freeze(resolved)
}

function resolveOwnHosts(value: unknown): readonly string[] | null {
  if (value === undefined || value === null) return null
  if (!Array.isArray(value)) fail('ownHosts', value, 'expected an array of host names')
  value.forEach((host, index) => {
    if (typeof host !== 'string' || !OWN_HOST.test(host.trim())) {
      fail(
        `ownHosts[${index}]`,
        host,
        'expected a host name such as "example.com" or "*.example.com"'
      )
    }
  })
  return Object.freeze([...new Set(value.map((host: string) => host.trim().toLowerCase()))])
}

function resolveCountryHeader(value: unknown): string | null {
  const name = optionalString('countryHeader', value)
  if (name !== null && !HEADER_NAME.test(name)) {
    fail('countryHeader', value, 'expected a header name such as "CF-IPCountry"')
  }
  return name
}

function resolveGeoip(
  value: unknown,
  appRoot: string | URL | undefined
): { path: string | null; lookup: GeoipLookup | null } {
  const given = optionalString('geoipDatabase', value)
  if (given === null) return { path: null, lookup: null }
  const root =
    appRoot === undefined
      ? process.cwd()
      : appRoot instanceof URL || appRoot.startsWith('file:')
        ? fileURLToPath(appRoot)
        : appRoot
  const path = isAbsolute(given) ? given : resolve(root, given)
  try {
    return { path, lookup: openGeoip(path) }
  } catch (error) {
    fail(
      'geoipDatabase',
      value,
      `cannot read a MaxMind database at ${path} (${(error as Error).message})`
    )
  }
}

function resolveExclude(value: unknown): TrackingSettings['exclude'] {
  if (value === undefined || value === null) return null
  if (typeof value !== 'function') fail('exclude', value, 'expected a function (ctx) => boolean')
  if (value.constructor?.name === 'AsyncFunction') {
    fail(
      'exclude',
      value,
      'expected a synchronous function (ctx) => boolean (it runs on every request)'
    )
  }
  return value as TrackingSettings['exclude']
}

function resolveApiTokens(value: unknown): ApiTokens {
  if (value === undefined || value === null) return new ApiTokens([])
  if (!Array.isArray(value)) {
    fail('apiTokens', value, 'expected an array of tokens')
  }
  value.forEach((token, index) => {
    if (
      typeof token !== 'string' ||
      token.length < MIN_API_TOKEN_LENGTH ||
      token.length > MAX_API_TOKEN_LENGTH ||
      !API_TOKEN_CHARACTERS.test(token)
    ) {
      fail(
        `apiTokens[${index}]`,
        token,
        `expected a string of ${MIN_API_TOKEN_LENGTH} to ${MAX_API_TOKEN_LENGTH} visible ASCII characters without spaces or commas (e.g. "node -e \"console.log(crypto.randomBytes(32).toString('base64url'))\"")`
      )
    }
  })
  return new ApiTokens(value)
}

/** The stats API's default limit: 60 requests per minute per token */
export const DEFAULT_API_RATE_LIMIT = Object.freeze({ requests: 60, durationMs: 60_000 })

function resolveApiRateLimit(value: unknown): TrackingSettings['apiRateLimit'] {
  if (value === undefined || value === null) return DEFAULT_API_RATE_LIMIT
  if (value === false) return false
  if (typeof value !== 'object' || Array.isArray(value)) {
    fail('apiRateLimit', value, "expected false or { requests: 60, duration: '1m' }")
  }
  const { requests, duration, ...rest } = value as Record<string, unknown>
  for (const key of Object.keys(rest)) {
    fail(`apiRateLimit.${key}`, rest[key], 'unknown key (known: requests, duration)')
  }
  const count = int('apiRateLimit.requests', requests, 60, 1, 1_000_000)
  let ms: number | undefined = 60_000
  if (typeof duration === 'number') ms = duration * 1000
  else if (typeof duration === 'string') {
    try {
      ms = string.milliseconds.parse(duration)
    } catch {
      ms = undefined
    }
  } else if (duration !== undefined) ms = undefined
  if (ms === undefined || !Number.isFinite(ms) || ms < 1000 || ms > 24 * 3600 * 1000) {
    fail(
      'apiRateLimit.duration',
      duration,
      "expected seconds or a duration from 1s to 24h, such as '1m'"
    )
  }
  return Object.freeze({ requests: count, durationMs: ms })
}

// eslint-disable-next-line no-control-regex -- control characters are what a pattern may not hold
const PATH_JUNK = /[\x00-\x1f\x7f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069?#]/

/**
 * The goals: each `{ name, event }` or `{ name, path }`, names unique. An
 * event is compared as recorded (src/events.ts cleans names), so a name the
 * recorder would change could never complete its goal and is refused; a
 * path pattern is compared with the stored path, so it starts with "/" and
 * holds no query, fragment or control character.
 */
function resolveGoals(value: unknown): readonly TrackingGoalSettings[] {
  if (value === undefined || value === null) return Object.freeze([])
  if (!Array.isArray(value)) {
    fail('goals', value, "expected an array such as [{ name: 'Signup', event: 'signup' }]")
  }
  if (value.length > MAX_GOALS)
    fail('goals', `${value.length} goals`, `expected at most ${MAX_GOALS}`)
  const names = new Set<string>()
  return Object.freeze(
    value.map((goal: unknown, index) => {
      const at = `goals[${index}]`
      const { name, event, path } = namedEntry(
        goal,
        at,
        names,
        'goal',
        ['event', 'path'],
        '{ name, event } or { name, path }'
      )
      if ((event === undefined) === (path === undefined)) {
        fail(at, goal, 'expected exactly one of event and path')
      }
      if (event !== undefined) {
        if (
          typeof event !== 'string' ||
          event === '' ||
          cleanText(event, MAX_EVENT_NAME_LENGTH) !== event
        ) {
          fail(
            `${at}.event`,
            event,
            `expected an event name of 1 to ${MAX_EVENT_NAME_LENGTH} characters, without control characters or surrounding spaces`
          )
        }
        return Object.freeze({ name, event, path: null })
      }
      if (
        typeof path !== 'string' ||
        !path.startsWith('/') ||
        path.length > MAX_GOAL_PATH_LENGTH ||
        PATH_JUNK.test(path) ||
        !path.isWellFormed()
      ) {
        fail(
          `${at}.path`,
          path,
          `expected a path pattern starting with "/" of at most ${MAX_GOAL_PATH_LENGTH} characters, without query string, fragment or control characters ("*" matches any characters)`
        )
      }
      return Object.freeze({ name, event: null, path })
    })
  )
}

/**
 * One `{ name, ... }` entry of `goals` or `funnels`: an object with only
 * `name` and the `keys` given, its name 1 to MAX_GOAL_NAME_LENGTH clean
 * characters and unique among `names` (which it joins)
 */
function namedEntry(
  entry: unknown,
  at: string,
  names: Set<string>,
  kind: 'goal' | 'funnel',
  keys: string[],
  /* the entry's shapes, for the error: `{ name, steps }` */
  shape: string
): Record<string, unknown> & { name: string } {
  const known = ['name', ...keys]
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    fail(at, entry, `expected ${shape}`)
  }
  const record = entry as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (!known.includes(key))
      fail(`${at}.${key}`, record[key], `unknown key (known: ${known.join(', ')})`)
  }
  const name = record.name
  if (
    typeof name !== 'string' ||
    name.trim() === '' ||
    name.length > MAX_GOAL_NAME_LENGTH ||
    cleanText(name, MAX_GOAL_NAME_LENGTH) !== name
  ) {
    fail(
      `${at}.name`,
      name,
      `expected a name of 1 to ${MAX_GOAL_NAME_LENGTH} characters, without control characters or surrounding spaces`
    )
  }
  if (names.has(name)) fail(`${at}.name`, name, `expected a unique name (another ${kind} has it)`)
  names.add(name)
  return record as Record<string, unknown> & { name: string }
}

/**
 * The funnels: each `{ name, steps }`, names unique, 2 to MAX_FUNNEL_STEPS
 * steps, each the name of a goal of `goals` and each once in its funnel
 */
function resolveFunnels(
  value: unknown,
  goals: readonly TrackingGoalSettings[]
): readonly TrackingFunnelSettings[] {
  if (value === undefined || value === null) return Object.freeze([])
  if (!Array.isArray(value)) {
    fail(
      'funnels',
      value,
      "expected an array such as [{ name: 'Purchase', steps: ['Pricing', 'Signup'] }]"
    )
  }
  if (value.length > MAX_FUNNELS) {
    fail('funnels', `${value.length} funnels`, `expected at most ${MAX_FUNNELS}`)
  }
  const goalNames = new Set(goals.map((goal) => goal.name))
  const names = new Set<string>()
  return Object.freeze(
    value.map((funnel: unknown, index) => {
      const at = `funnels[${index}]`
      const { name, steps } = namedEntry(funnel, at, names, 'funnel', ['steps'], '{ name, steps }')
      if (!Array.isArray(steps) || steps.length < 2 || steps.length > MAX_FUNNEL_STEPS) {
        fail(`${at}.steps`, steps, `expected an array of 2 to ${MAX_FUNNEL_STEPS} goal names`)
      }
      const seen = new Set<string>()
      steps.forEach((step: unknown, i) => {
        if (typeof step !== 'string' || !goalNames.has(step)) {
          fail(
            `${at}.steps[${i}]`,
            step,
            goalNames.size === 0
              ? 'expected the name of a goal (no goals are configured)'
              : `expected the name of a goal (known: ${[...goalNames].slice(0, 10).join(', ')})`
          )
        }
        if (seen.has(step)) fail(`${at}.steps[${i}]`, step, 'expected each goal once in a funnel')
        seen.add(step)
      })
      return Object.freeze({ name, steps: Object.freeze([...(steps as string[])]) })
    })
  )
}

/**
 * Merges the modern config over the legacy cabinet section, applies the
 * defaults, validates every value and returns one frozen settings object.
 */
export function resolveSettings(
  modern: TrackingConfig = {},
  legacy?: LegacyTrackingConfig | null,
  context: SettingsContext = {}
): TrackingSettings {
  checkUnknown(modern)
  const merged: TrackingConfig = { ...normalizeLegacy(legacy) }
  for (const [key, value] of Object.entries(modern)) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value
  }

  const redisEnabled = bool('redisEnabled', merged.redisEnabled, true)
  let store: TrackingStoreName = redisEnabled ? 'redis' : 'memory'
  if (merged.store !== undefined) {
    if (merged.store !== 'redis' && merged.store !== 'memory') {
      fail('store', merged.store, 'expected "redis" or "memory"')
    }
    store = merged.store
  }

  const redisConnection = nonEmptyString('redisConnection', merged.redisConnection, 'main')
  if (
    store === 'redis' &&
    !merged.redisUrl &&
    context.redisConnections &&
    !context.redisConnections.includes(redisConnection)
  ) {
    fail(
      'redisConnection',
      redisConnection,
      `no such connection in config/redis.ts (known: ${context.redisConnections.join(', ') || 'none'})`
    )
  }

  let redisUrl: string | null = null
  if (merged.redisUrl !== undefined && merged.redisUrl !== null && merged.redisUrl !== '') {
    if (typeof merged.redisUrl !== 'string' || !/^rediss?:\/\//.test(merged.redisUrl)) {
      fail('redisUrl', merged.redisUrl, 'expected a redis:// or rediss:// URL')
    }
    redisUrl = merged.redisUrl
  }

  const keyPrefix = nonEmptyString('keyPrefix', merged.keyPrefix, 'tracking')
  if (/[{}\s]/.test(keyPrefix)) fail('keyPrefix', keyPrefix, 'expected no braces or spaces')

  let skipPrefixes = DEFAULT_SKIP_PREFIXES
  if (merged.skipPrefixes !== undefined) {
    if (!Array.isArray(merged.skipPrefixes))
      fail('skipPrefixes', merged.skipPrefixes, 'expected an array of paths')
    merged.skipPrefixes.forEach((prefix, index) => {
      if (typeof prefix !== 'string' || !prefix.startsWith('/')) {
        fail(`skipPrefixes[${index}]`, prefix, 'expected a path starting with "/"')
      }
    })
    skipPrefixes = Object.freeze([...new Set(merged.skipPrefixes)])
  }

  const authorize = merged.authorize ?? denyAll
  if (typeof authorize !== 'function')
    fail('authorize', authorize, 'expected a function (ctx) => boolean')
  const visitorId = merged.visitorId ?? null
  if (visitorId !== null && typeof visitorId !== 'function') {
    fail('visitorId', visitorId, 'expected a function (ctx) => string | null')
  }

  const countryHeader = resolveCountryHeader(merged.countryHeader)
  const geoip = resolveGeoip(merged.geoipDatabase, context.appRoot)

  const goals = resolveGoals(merged.goals)
  return Object.freeze({
    enabled: bool('enabled', merged.enabled, true),
    store,
    redisEnabled: store === 'redis',
    redisConnection,
    redisUrl,
    keyPrefix,
    ttlSeconds: int('ttlSeconds', merged.ttlSeconds, 7 * 24 * 3600, 60, 10 * 365 * 24 * 3600),
    skipPrefixes,
    trackAnonymous: bool('trackAnonymous', merged.trackAnonymous, false),
    trackRedirects: bool('trackRedirects', merged.trackRedirects, true),
    trackDashboardWidgets: bool('trackDashboardWidgets', merged.trackDashboardWidgets, true),
    analyticsUrl: urlPath('analyticsUrl', merged.analyticsUrl, '/cabinet/tracking'),
    analyticsDays: int('analyticsDays', merged.analyticsDays, 14, 1, MAX_RANGE_DAYS),
    analyticsLayout: optionalString('analyticsLayout', merged.analyticsLayout),
    loginUrl: optionalUrl('loginUrl', merged.loginUrl),
    registerRoutes: bool('registerRoutes', merged.registerRoutes, true),
    timezone: resolveTimezone(merged.timezone, context.defaultTimezone || 'UTC'),
    ignoreBots: bool('ignoreBots', merged.ignoreBots, true),
    bufferMs: int('bufferMs', merged.bufferMs, 1000, 0, 60_000),
    bufferMaxEntries: int('bufferMaxEntries', merged.bufferMaxEntries, 10_000, 1, 10_000_000),
    maxPathsPerDay: int(
      'maxPathsPerDay',
      merged.maxPathsPerDay,
      DEFAULT_MAX_PATHS_PER_DAY,
      1,
      Number.MAX_SAFE_INTEGER
    ),
    storeTimeoutMs: int('storeTimeoutMs', merged.storeTimeoutMs, 5000, 1, 3_600_000),
    groupBy: oneOf<TrackingGroupBy>('groupBy', merged.groupBy, ['path', 'route']),
    trailingSlash: oneOf<TrackingTrailingSlash>('trailingSlash', merged.trailingSlash, [
      'keep',
      'strip',
    ]),
    autoFlush: resolveAutoFlush(merged.autoFlush),
    retentionDays: int('retentionDays', merged.retentionDays, 400, 1, 36_600),
    authorize,
    visitorId,
    dimensions: resolveDimensions(merged.dimensions, countryHeader !== null || geoip.path !== null),
    ownHosts: resolveOwnHosts(merged.ownHosts),
    countryHeader,
    geoipDatabase: geoip.path,
    geoip: geoip.lookup,
    exclude: resolveExclude(merged.exclude),
    honorDoNotTrack: bool('honorDoNotTrack', merged.honorDoNotTrack, false),
    maxValuesPerDimension: int(
      'maxValuesPerDimension',
      merged.maxValuesPerDimension,
      DEFAULT_MAX_VALUES_PER_DIMENSION,
      1,
      Number.MAX_SAFE_INTEGER
    ),
    apiTokens: resolveApiTokens(merged.apiTokens),
    apiRateLimit: resolveApiRateLimit(merged.apiRateLimit),
    goals,
    funnels: resolveFunnels(merged.funnels, goals),
    visitTimeoutMinutes: int(
      'visitTimeoutMinutes',
      merged.visitTimeoutMinutes,
      DEFAULT_VISIT_TIMEOUT_MINUTES,
      1,
      MAX_VISIT_TIMEOUT_MINUTES
    ),
    maxOpenVisits: int(
      'maxOpenVisits',
      merged.maxOpenVisits,
      DEFAULT_MAX_OPEN_VISITS,
      1,
      10_000_000
    ),
  })
}
