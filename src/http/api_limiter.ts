import type { HttpContext } from '@adonisjs/core/http'
import debug from '../debug.ts'

/** What one request of a token is told: allowed, or the seconds until the next window */
export interface ApiLimit {
  allowed: boolean
  limit: number
  remaining: number
  /** Seconds until the token may send again (0 when allowed) */
  retryAfter: number
}

/** How many requests per window */
export interface ApiLimitRule {
  requests: number
  durationMs: number
}

/** The part of @adonisjs/limiter's LimiterManager the API uses (it is an optional peer) */
interface LimiterManagerLike {
  use(options: { requests: number; duration: number | string }): LimiterLike
}

interface LimiterLike {
  increment(
    key: string
  ): Promise<{ limit: number; remaining: number; consumed: number; availableIn: number }>
}

/** Tokens whose windows the in-process limiter keeps at most (expired ones are swept first) */
export const MAX_LIMITED_KEYS = 10_000

/**
 * A fixed-window counter per key in this process: what limits the stats
 * API when the app has no @adonisjs/limiter. Bounded: at most
 * MAX_LIMITED_KEYS windows; when full, expired windows are dropped, then
 * the oldest.
 */
export class MemoryApiLimiter {
  readonly #rule: ApiLimitRule
  readonly #windows = new Map<string, { start: number; count: number }>()

  constructor(rule: ApiLimitRule) {
    this.#rule = rule
  }

  hit(key: string, now = Date.now()): ApiLimit {
    let window = this.#windows.get(key)
    if (!window || now - window.start >= this.#rule.durationMs) {
      if (!window && this.#windows.size >= MAX_LIMITED_KEYS) this.#sweep(now)
      window = { start: now, count: 0 }
      this.#windows.delete(key)
      this.#windows.set(key, window)
    }
    window.count++
    const allowed = window.count <= this.#rule.requests
    return {
      allowed,
      limit: this.#rule.requests,
      remaining: Math.max(0, this.#rule.requests - window.count),
      retryAfter: allowed
        ? 0
        : Math.max(1, Math.ceil((window.start + this.#rule.durationMs - now) / 1000)),
    }
  }

  #sweep(now: number) {
    for (const [key, window] of this.#windows) {
      if (now - window.start >= this.#rule.durationMs) this.#windows.delete(key)
    }
    /* a Map iterates in insertion order: the first key is the oldest window */
    while (this.#windows.size >= MAX_LIMITED_KEYS) {
      this.#windows.delete(this.#windows.keys().next().value!)
    }
  }
}

/** The container binding of @adonisjs/limiter's manager */
const LIMITER_BINDING = 'limiter.manager'

/**
 * Limits the stats API per token: with the app's @adonisjs/limiter when its
 * provider is registered (the default store of config/limiter.ts, shared by
 * every process), else in this process. Which one is decided on the first
 * request, and kept.
 */
export class ApiRateLimiter {
  readonly #rule: ApiLimitRule
  #backend: Promise<(key: string) => Promise<ApiLimit>> | null = null

  constructor(rule: ApiLimitRule) {
    this.#rule = rule
  }

  async hit(ctx: HttpContext, key: string): Promise<ApiLimit> {
    this.#backend ??= this.#choose(ctx)
    return (await this.#backend)(key)
  }

  async #choose(ctx: HttpContext): Promise<(key: string) => Promise<ApiLimit>> {
    /* the binding is not in the package's types: @adonisjs/limiter is an optional peer */
    const resolver = ctx.containerResolver as unknown as {
      hasBinding(binding: string): boolean
      make(binding: typeof LIMITER_BINDING): Promise<LimiterManagerLike>
    }
    if (resolver.hasBinding(LIMITER_BINDING)) {
      const manager = await resolver.make(LIMITER_BINDING)
      const limiter = manager.use({
        requests: this.#rule.requests,
        duration: Math.ceil(this.#rule.durationMs / 1000),
      })
      debug('stats API limited by @adonisjs/limiter')
      return async (key) => {
        const response = await limiter.increment(`tracking_api_${key}`)
        const allowed = response.consumed <= response.limit
        return {
          allowed,
          limit: response.limit,
          remaining: Math.max(0, response.remaining),
          retryAfter: allowed ? 0 : Math.max(1, Math.ceil(response.availableIn)),
        }
      }
    }
    debug('stats API limited in process (no @adonisjs/limiter)')
    const memory = new MemoryApiLimiter(this.#rule)
    return async (key) => memory.hit(key)
  }
}
