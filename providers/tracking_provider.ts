import { configProvider } from '@adonisjs/core'
import type { ApplicationService } from '@adonisjs/core/types'
/*
 * The `redis` binding's type. @adonisjs/redis is an optional peer: these
 * imports are types only, and the emitted .d.ts keeps none of them (only
 * private members use them), so an app without it still type-checks.
 */
import type {} from '@adonisjs/redis/redis_provider'
import type { RedisConnections } from '@adonisjs/redis/types'
import { AutoFlush } from '../src/auto_flush.ts'
import { registerTrackingReadBindings } from '../src/bindings.ts'
import debug from '../src/debug.ts'
import {
  E_TRACKING_INVALID_CONFIG,
  E_TRACKING_MISSING_CONFIG,
  E_TRACKING_STORE_UNAVAILABLE,
} from '../src/errors.ts'
import { TrackingManager } from '../src/manager.ts'
import PageTrackingMiddleware from '../src/middleware/page_tracking_middleware.ts'
import { MemoryStore } from '../src/stores/memory_store.ts'
import { RedisStore } from '../src/stores/redis_store.ts'
import type { TrackingStore } from '../src/stores/types.ts'
import type { TrackingSettings } from '../src/types.ts'
import { type AppKey, appKeyText } from '../src/visitor_hash.ts'

declare module '@adonisjs/core/types' {
  interface ContainerBindings {
    'tracking.manager': TrackingManager
  }
}

/**
 * Registers the tracking manager, the middleware and the read side
 * (`tracking.selector`, `tracking.cabinet`), mounts the `tracking` Edge disk,
 * registers the analytics routes and drains the write buffer on shutdown.
 */
export default class TrackingProvider {
  #manager?: TrackingManager
  #autoFlush?: AutoFlush | null

  constructor(protected app: ApplicationService) {}

  /**
   * Resolves and validates the config once (invalid values throw
   * E_TRACKING_INVALID_CONFIG naming the key)
   */
  async #settings(): Promise<TrackingSettings> {
    const provider = this.app.config.get('tracking', undefined)
    const settings = provider
      ? await configProvider.resolve<TrackingSettings>(this.app, provider)
      : null
    if (!settings) throw new E_TRACKING_MISSING_CONFIG()
    return settings
  }

  /**
   * The app key the visitor hashes derive their key from: `appKey` of
   * config/app.ts when the app has one, else APP_KEY (AdonisJS 7 apps keep
   * it for config/encryption.ts). None fails the boot: without it stored
   * sketches would not be comparable across processes and restarts.
   */
  #appKey(): string {
    const key =
      appKeyText(this.app.config.get<AppKey | undefined>('app.appKey', undefined)) ??
      appKeyText(process.env.APP_KEY)
    if (!key) {
      throw new E_TRACKING_INVALID_CONFIG([
        'appKey',
        'undefined',
        'set APP_KEY (or appKey in config/app.ts): visitor hashes are keyed with a key derived from it',
      ])
    }
    return key
  }

  async #store(settings: TrackingSettings): Promise<TrackingStore> {
    if (settings.store === 'memory')
      return new MemoryStore({
        ttlSeconds: settings.ttlSeconds,
        maxPathsPerDay: settings.maxPathsPerDay,
        maxValuesPerDimension: settings.maxValuesPerDimension,
        visitTimeoutMs: settings.visitTimeoutMinutes * 60_000,
        maxOpenVisits: settings.maxOpenVisits,
      })

    if (settings.redisUrl) {
      const { RedisConnection } = await import('@adonisjs/redis').catch(() => {
        throw new E_TRACKING_STORE_UNAVAILABLE([
          'redisUrl needs @adonisjs/redis (npm i @adonisjs/redis), or set store: "memory"',
        ])
      })
      const url = new URL(settings.redisUrl)
      const connection = new RedisConnection('tracking', {
        host: url.hostname,
        port: Number(url.port || 6379),
        username: decodeURIComponent(url.username) || undefined,
        password: decodeURIComponent(url.password) || undefined,
        db: Number(url.pathname.slice(1) || 0),
        tls: url.protocol === 'rediss:' ? {} : undefined,
      })
      connection.on('error', ({ error }) => debug('redis error %s', error?.message))
      return new RedisStore({
        client: () => connection.ioConnection,
        keyPrefix: settings.keyPrefix,
        ttlSeconds: settings.ttlSeconds,
        maxPathsPerDay: settings.maxPathsPerDay,
        maxValuesPerDimension: settings.maxValuesPerDimension,
        visitTimeoutMs: settings.visitTimeoutMinutes * 60_000,
        maxOpenVisits: settings.maxOpenVisits,
        onClose: () => connection.quit(),
      })
    }

    if (!this.app.container.hasBinding('redis')) {
      throw new E_TRACKING_STORE_UNAVAILABLE([
        'store "redis" needs @adonisjs/redis: run "node ace add @adonisjs/redis", or set store: "memory"',
      ])
    }
    const redis = await this.app.container.make('redis')
    /* a name of config/redis.ts: resolveSettings checked it against the app's connections */
    const name = settings.redisConnection as keyof RedisConnections
    /* opened now, so the first batch finds it ready */
    redis.connection(name)
    return new RedisStore({
      /*
       * Looked up on every use: once a connection gives up reconnecting (the
       * stock retryStrategy does after ~10 tries), @adonisjs/redis forgets it
       * and opens a new one on the next lookup, so counting resumes after a
       * long outage.
       */
      client: () => redis.connection(name).ioConnection,
      keyPrefix: settings.keyPrefix,
      ttlSeconds: settings.ttlSeconds,
      maxPathsPerDay: settings.maxPathsPerDay,
      maxValuesPerDimension: settings.maxValuesPerDimension,
      visitTimeoutMs: settings.visitTimeoutMinutes * 60_000,
      maxOpenVisits: settings.maxOpenVisits,
    })
  }

  register() {
    this.app.container.singleton('tracking.manager', async () => {
      const settings = await this.#settings()
      const store = await this.#store(settings)
      const logger = await this.app.container.make('logger')
      this.#manager = new TrackingManager(settings, store, { logger, appKey: this.#appKey() })
      debug('tracking manager ready (store: %s)', store.name)
      return this.#manager
    })
    this.app.container.singleton(PageTrackingMiddleware, async (resolver) => {
      return new PageTrackingMiddleware(await resolver.make('tracking.manager'))
    })
    registerTrackingReadBindings(this.app)
  }

  async boot() {
    /*
     * Providers shut down in reverse order, so @adonisjs/redis may quit its
     * connections before our shutdown() runs (when it is listed after us).
     * Terminating hooks run before any provider's shutdown().
     */
    this.app.terminating(() => this.#close())
    /* fail at boot on a config mistake, not on the first request */
    await this.#settings()
    this.#appKey()
    if (this.app.usingEdgeJS) {
      const edge = await import('edge.js')
      const { registerTrackingViews } = await import('../src/http/views.ts')
      registerTrackingViews(edge.default)
    }
  }

  async start() {
    const settings = await this.#settings()
    if (settings.registerRoutes) {
      const router = await this.app.container.make('router')
      const { registerTrackingRoutes } = await import('../src/http/routes.ts')
      registerTrackingRoutes(router, settings)
    }
  }

  async ready() {
    this.#autoFlush = await AutoFlush.start(this.app)
  }

  /** Stops the auto flush, then drains the write buffer into the store (once) */
  async #close() {
    await this.#autoFlush?.stop()
    await this.#manager?.shutdown()
  }

  async shutdown() {
    await this.#close()
  }
}
