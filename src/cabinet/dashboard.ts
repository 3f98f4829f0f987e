import debug from '../debug.ts'
import type { AnalyticsRange, WidgetData } from '../widgets/types.ts'
import type { CabinetAudience } from './registry.ts'

/** How long a dashboard provider's result is reused, unless it says otherwise */
export const DEFAULT_DASHBOARD_TTL_MS = 60_000

/** Results kept at most (one per provider and range); the oldest go first */
const MAX_CACHED_RESULTS = 500

/**
 * Computes the widgets a module shows on the cabinet dashboard. The result
 * is cached under `cacheKey` and the range for `ttlMs`.
 */
export interface DashboardProvider {
  /** the name declarations refer to (`{ provider: 'tracking', widget: ... }`) */
  key: string
  /** prefix of the cache entries (default: the key) */
  cacheKey?: string
  /** time to live of a result in ms (default 60 s) */
  ttlMs?: number
  /** the range used when the page asks for none (e.g. the last 14 days, today included) */
  defaultRange(): AnalyticsRange | Promise<AnalyticsRange>
  /** widget key -> payload for a range */
  load(range: AnalyticsRange): Promise<Record<string, WidgetData>>
}

/** A widget a declaration puts on the dashboard: which provider, which of its widgets */
export interface DashboardWidgetRef {
  provider: string
  widget: string
  /** who sees it (default: everyone who sees the dashboard) */
  audience?: CabinetAudience
}

interface CacheEntry {
  expiresAt: number
  value: Promise<Record<string, WidgetData>>
}

/**
 * Dashboard providers and the cache of their results, per range. Two
 * requests for the same range while a result is being computed share it;
 * a failed computation is not cached.
 */
export class DashboardRegistry {
  readonly #providers = new Map<string, DashboardProvider>()
  readonly #cache = new Map<string, CacheEntry>()
  readonly #now: () => number

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now
  }

  /** Registers (or replaces) a provider; its cached results are dropped */
  register(provider: DashboardProvider): this {
    this.#providers.set(provider.key, provider)
    this.invalidate(provider.key)
    return this
  }

  has(key: string): boolean {
    return this.#providers.has(key)
  }

  /** The keys of the registered providers */
  keys(): string[] {
    return [...this.#providers.keys()]
  }

  #provider(key: string): DashboardProvider {
    const provider = this.#providers.get(key)
    if (!provider) throw new Error(`Unknown dashboard provider "${key}"`)
    return provider
  }

  /** The cache key of a provider's result for a range */
  cacheKeyOf(key: string, range: Pick<AnalyticsRange, 'from' | 'to'>): string {
    const provider = this.#provider(key)
    return `${provider.cacheKey ?? provider.key}:${range.from}:${range.to}`
  }

  /** A provider's widgets for a range (default: its own), from the cache when fresh */
  async load(key: string, range?: AnalyticsRange): Promise<Record<string, WidgetData>> {
    const provider = this.#provider(key)
    const resolved = range ?? (await provider.defaultRange())
    const cacheKey = this.cacheKeyOf(key, resolved)
    const now = this.#now()
    const cached = this.#cache.get(cacheKey)
    if (cached && cached.expiresAt > now) return cached.value

    debug('dashboard provider %s: computing %s', key, cacheKey)
    const value = provider.load(resolved)
    this.#cache.delete(cacheKey)
    this.#cache.set(cacheKey, {
      expiresAt: now + (provider.ttlMs ?? DEFAULT_DASHBOARD_TTL_MS),
      value,
    })
    value.catch(() => {
      if (this.#cache.get(cacheKey)?.value === value) this.#cache.delete(cacheKey)
    })
    while (this.#cache.size > MAX_CACHED_RESULTS) {
      this.#cache.delete(this.#cache.keys().next().value!)
    }
    return value
  }

  /** The payloads of widget references, in their order (unknown widgets are left out) */
  async widgets(refs: DashboardWidgetRef[], range?: AnalyticsRange): Promise<WidgetData[]> {
    const results = new Map<string, Promise<Record<string, WidgetData>>>()
    for (const ref of refs) {
      if (!results.has(ref.provider)) results.set(ref.provider, this.load(ref.provider, range))
    }
    const out: WidgetData[] = []
    for (const ref of refs) {
      const result = await results.get(ref.provider)!
      if (result[ref.widget]) out.push(result[ref.widget])
    }
    return out
  }

  /** Drops cached results: of one provider, or all */
  invalidate(key?: string): void {
    if (key === undefined) return this.#cache.clear()
    const provider = this.#providers.get(key)
    const prefix = `${provider?.cacheKey ?? key}:`
    for (const cacheKey of [...this.#cache.keys()]) {
      if (cacheKey.startsWith(prefix)) this.#cache.delete(cacheKey)
    }
  }
}
