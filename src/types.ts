import type { HttpContext } from '@adonisjs/core/http'
import type { DimensionGroup } from './dimensions/names.ts'
import type { GeoipLookup } from './dimensions/geoip.ts'
import type { ApiTokens } from './api_tokens.ts'

/**
 * Where live counters are kept between flushes
 */
export type TrackingStoreName = 'redis' | 'memory'

/**
 * What a page view is counted under: the raw request path or the route pattern
 */
export type TrackingGroupBy = 'path' | 'route'

/**
 * What a trailing slash does to a path: kept (`/about/` and `/about` are two
 * rows) or stripped (`/about/` counts as `/about`; `/` stays `/`)
 */
export type TrackingTrailingSlash = 'keep' | 'strip'

/**
 * Decides if the current request may see the analytics page and its exports
 */
export type TrackingAuthorize = (ctx: HttpContext) => boolean | Promise<boolean>

/**
 * Replaces the built-in visitor identity (user id, or salted hash of ip + user agent).
 * Returning null or undefined counts the view without a visitor.
 */
export type TrackingVisitorId = (ctx: HttpContext) => string | number | null | undefined

/**
 * Skips counting a request when it returns true (the team's own visits, an
 * IP range, ...). Called synchronously on counted views; a throw counts nothing.
 */
export type TrackingExclude = (ctx: HttpContext) => boolean

/**
 * The `dimensions` switches (all on by default; `countries` only when
 * `countryHeader` or `geoipDatabase` is set)
 */
export type TrackingDimensionSwitches = Partial<Record<DimensionGroup, boolean>>

/**
 * In-process periodic flush, off by default
 */
export interface TrackingAutoFlush {
  /** Interval as a duration string ('30s', '1m', '1h') or milliseconds */
  every: string | number
}

/**
 * The options accepted by `defineConfig` (all optional; defaults in the README)
 */
export interface TrackingConfig {
  enabled?: boolean
  store?: TrackingStoreName
  redisEnabled?: boolean
  redisConnection?: string
  redisUrl?: string | null
  keyPrefix?: string
  ttlSeconds?: number
  skipPrefixes?: string[]
  trackAnonymous?: boolean
  trackRedirects?: boolean
  trackDashboardWidgets?: boolean
  analyticsUrl?: string
  analyticsDays?: number
  /** Edge component of the host app that wraps the analytics page (null: the built-in layout) */
  analyticsLayout?: string | null
  /** Where anonymous visitors of the analytics page are sent to log in (null: 403) */
  loginUrl?: string | null
  registerRoutes?: boolean
  timezone?: string
  ignoreBots?: boolean
  bufferMs?: number
  bufferMaxEntries?: number
  /** Distinct paths a day keeps (default 10,000); later new paths of the day count under "(other)" */
  maxPathsPerDay?: number
  /** Milliseconds a store write may take before it is given up and kept for a resend (default 5000) */
  storeTimeoutMs?: number
  groupBy?: TrackingGroupBy
  trailingSlash?: TrackingTrailingSlash
  autoFlush?: TrackingAutoFlush | false
  retentionDays?: number
  authorize?: TrackingAuthorize
  visitorId?: TrackingVisitorId
  /** Which dimensions are derived; false turns them all off (default: all on) */
  dimensions?: TrackingDimensionSwitches | boolean
  /** Hosts whose referrers are internal navigation, besides the request's own Host ('*.example.com' for subdomains) */
  ownHosts?: string[] | null
  /** Trusted header carrying the visitor's country ('CF-IPCountry', 'CloudFront-Viewer-Country', ...) */
  countryHeader?: string | null
  /** MaxMind-format database file (GeoLite2-Country.mmdb, ...) read at boot for the country */
  geoipDatabase?: string | null
  /** Returning true skips counting the request */
  exclude?: TrackingExclude | null
  /** When true, requests with `DNT: 1` or `Sec-GPC: 1` are not counted (default false) */
  honorDoNotTrack?: boolean
  /** Distinct values a dimension keeps per day (default 1,000); later new values count under "(other)" */
  maxValuesPerDimension?: number
  /**
   * Bearer tokens of the stats API (`GET <analyticsUrl>/api/v1/context`),
   * at least 32 characters each; none (the default) turns the API off
   */
  apiTokens?: string[]
  /** Requests per token and window of the stats API (default 60 per '1m'); false: no limit */
  apiRateLimit?: TrackingApiRateLimit | false
  /** Goals: events or path patterns whose completions and conversion rate the analytics show */
  goals?: TrackingGoal[]
  /**
   * Funnels: ordered goals completed within one visit
   * (`[{ name: 'Purchase', steps: ['Pricing', 'Signup'] }]`, steps naming goals)
   */
  funnels?: TrackingFunnel[]
  /**
   * Minutes without a view that end a visit (default 30, whole minutes from
   * 1 to 240): a visit is a run of one visitor's views with shorter gaps
   */
  visitTimeoutMinutes?: number
  /**
   * Visits in progress the store remembers at once (default 100,000; any
   * whole number from 1): beyond it a new visitor's view counts as a visit
   * of its own that is not remembered, so a flood of new visitors cannot
   * grow the store without limit
   */
  maxOpenVisits?: number
}

/**
 * A goal of the config: a named event (`{ name: 'Signup', event: 'signup' }`)
 * or a path pattern (`{ name: 'Docs', path: '/docs/*' }`, `*` matching any
 * run of characters, `/` included); exactly one of `event` and `path`
 */
export interface TrackingGoal {
  /** Shown on the analytics page and in the JSON and CSV (unique, at most 100 characters) */
  name: string
  /** The event name that completes the goal (as given to `tracking.event()`) */
  event?: string
  /** The path pattern whose counted views complete the goal */
  path?: string
}

/**
 * A funnel of the config: 2 to 8 goal names, completed in this order within
 * one visit (`{ name: 'Purchase', steps: ['Pricing', 'Signup', 'Checkout'] }`)
 */
export interface TrackingFunnel {
  /** Shown on the analytics page and in the JSON and CSV (unique, at most 100 characters) */
  name: string
  /** The names of goals of `goals`, in order (2 to 8, each once) */
  steps: string[]
}

/** A funnel as the settings keep it */
export interface TrackingFunnelSettings {
  readonly name: string
  readonly steps: readonly string[]
}

/** A goal as the settings keep it: `event` or `path`, the other null */
export interface TrackingGoalSettings {
  readonly name: string
  readonly event: string | null
  readonly path: string | null
}

/**
 * How many stats API requests one token may make per window
 */
export interface TrackingApiRateLimit {
  /** Requests allowed per window (1 to 1,000,000) */
  requests: number
  /** The window: seconds, or a duration such as '1m' or '1 hour' (1s to 24h) */
  duration: number | string
}

/**
 * The legacy `tracking` section of `config/cabinet.ts`: camelCase or the
 * seed's snake_case keys
 */
export type LegacyTrackingConfig = TrackingConfig & {
  redis_enabled?: boolean
  redis_connection?: string
  redis_url?: string | null
  key_prefix?: string
  ttl_seconds?: number
  skip_prefixes?: string[]
  track_anonymous?: boolean
  track_redirects?: boolean
  track_dashboard_widgets?: boolean
  analytics_url?: string
  analytics_days?: number
  analytics_layout?: string | null
  login_url?: string | null
  register_routes?: boolean
  ignore_bots?: boolean
  buffer_ms?: number
  buffer_max_entries?: number
  max_paths_per_day?: number
  store_timeout_ms?: number
  group_by?: TrackingGroupBy
  trailing_slash?: TrackingTrailingSlash
  auto_flush?: TrackingAutoFlush | false
  retention_days?: number
  visitor_id?: TrackingVisitorId
  own_hosts?: string[] | null
  country_header?: string | null
  geoip_database?: string | null
  honor_do_not_track?: boolean
  max_values_per_dimension?: number
  api_tokens?: string[]
  api_rate_limit?: TrackingApiRateLimit | false
  visit_timeout_minutes?: number
  max_open_visits?: number
}

/**
 * The one merged, validated and frozen settings object every part of the
 * package reads
 */
export interface TrackingSettings {
  readonly enabled: boolean
  readonly store: TrackingStoreName
  readonly redisEnabled: boolean
  readonly redisConnection: string
  readonly redisUrl: string | null
  readonly keyPrefix: string
  readonly ttlSeconds: number
  readonly skipPrefixes: readonly string[]
  readonly trackAnonymous: boolean
  readonly trackRedirects: boolean
  readonly trackDashboardWidgets: boolean
  readonly analyticsUrl: string
  readonly analyticsDays: number
  readonly analyticsLayout: string | null
  readonly loginUrl: string | null
  readonly registerRoutes: boolean
  readonly timezone: string
  readonly ignoreBots: boolean
  readonly bufferMs: number
  readonly bufferMaxEntries: number
  readonly maxPathsPerDay: number
  readonly storeTimeoutMs: number
  readonly groupBy: TrackingGroupBy
  readonly trailingSlash: TrackingTrailingSlash
  readonly autoFlush: Readonly<{ everyMs: number }> | false
  readonly retentionDays: number
  readonly authorize: TrackingAuthorize
  readonly visitorId: TrackingVisitorId | null
  /** Each `dimensions` switch, resolved (`countries` is false without a country source) */
  readonly dimensions: Readonly<Record<DimensionGroup, boolean>>
  readonly ownHosts: readonly string[] | null
  readonly countryHeader: string | null
  /** The database path, resolved */
  readonly geoipDatabase: string | null
  /** The in-memory lookup of geoipDatabase, opened at boot */
  readonly geoip: GeoipLookup | null
  readonly exclude: TrackingExclude | null
  readonly honorDoNotTrack: boolean
  readonly maxValuesPerDimension: number
  /** The stats API tokens, as digests only (never printed) */
  readonly apiTokens: ApiTokens
  /** The stats API limit per token, resolved; false: no limit */
  readonly apiRateLimit: Readonly<{ requests: number; durationMs: number }> | false
  /** The goals, validated, in config order */
  readonly goals: readonly TrackingGoalSettings[]
  /** The funnels, validated (every step names a goal), in config order */
  readonly funnels: readonly TrackingFunnelSettings[]
  /** Minutes without a view that end a visit */
  readonly visitTimeoutMinutes: number
  /** Visits in progress the store remembers at once */
  readonly maxOpenVisits: number
}
