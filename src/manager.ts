import type { HttpContext } from '@adonisjs/core/http'
import type { Logger } from '@adonisjs/core/logger'
import debug from './debug.ts'
import { FunnelPlan } from './funnels.ts'
import { EventRecorder, type TrackingEventInput, type TrackingEventProps } from './events.ts'
import { TrackingRecorder } from './recorder.ts'
import { WriteBuffer } from './write_buffer.ts'
import type { TrackingStore } from './stores/types.ts'
import { withStoreTimeout } from './stores/timed_store.ts'
import type { TrackingSettings } from './types.ts'
import { type AppKey, visitorHashKey } from './visitor_hash.ts'

/**
 * Owns the runtime of the package for one app: the frozen settings, the
 * store of live counters, the write buffer and the recorder. Bound to the
 * container as `tracking.manager`.
 */
export class TrackingManager {
  readonly settings: TrackingSettings
  /** the store of live counters; every call waits at most storeTimeoutMs (see withStoreTimeout) */
  readonly store: TrackingStore
  readonly buffer: WriteBuffer
  readonly recorder: TrackingRecorder
  /** turns events from server code into counts (src/events.ts) */
  readonly events: EventRecorder
  #closed = false

  constructor(
    settings: TrackingSettings,
    store: TrackingStore,
    options: {
      logger?: Logger
      /** the clock of the recorder (epoch ms); tests pin it to check day boundaries */
      now?: () => number
      /**
       * the app key (APP_KEY) the visitor hashes derive their key from; without
       * it a random key of this process (see src/visitor_hash.ts)
       */
      appKey?: AppKey | null
    } = {}
  ) {
    this.settings = settings
    /* reads, flushes and close() wait at most storeTimeoutMs; the buffer times its writes itself */
    this.store = withStoreTimeout(store, settings.storeTimeoutMs)
    this.buffer = new WriteBuffer(store, {
      bufferMs: settings.bufferMs,
      maxEntries: settings.bufferMaxEntries,
      storeTimeoutMs: settings.storeTimeoutMs,
      logger: options.logger,
      visitorKey: visitorHashKey(options.appKey),
      visitTimeoutMs: settings.visitTimeoutMinutes * 60_000,
      timezone: settings.timezone,
      funnels: FunnelPlan.of(settings),
    })
    this.recorder = new TrackingRecorder(settings, this.buffer, {
      now: options.now,
      logger: options.logger,
    })
    this.events = new EventRecorder(settings, this.recorder, this.buffer, {
      now: options.now,
      logger: options.logger,
    })
  }

  /**
   * Counts an event of the request, for the request's visitor (the same as
   * its page views'): `tracking.event(ctx, 'signup', { plan: 'pro' })`.
   * Bots are dropped, guests counted only with `trackAnonymous`, `exclude`
   * and `honorDoNotTrack` apply; the request's method, status and path do
   * not. Never throws: input beyond the limits is cut, bad input refused,
   * and both are logged at most once a minute. True when it was counted.
   */
  event(ctx: HttpContext, name: string, props?: TrackingEventProps | null): boolean {
    return this.events.event(ctx, name, props)
  }

  /**
   * Counts an event with no request (a job, a webhook):
   * `tracking.recordEvent({ name: 'renewal', visitor: user.id, props: { plan } })`.
   * Throws a TypeError for a missing name or input of the wrong type.
   */
  recordEvent(input: TrackingEventInput): boolean {
    return this.events.record(input)
  }

  /** Sends every count still in memory to the store */
  async drain(): Promise<void> {
    await this.buffer.drain()
  }

  /** Drains the buffer and releases what the manager owns (called on app shutdown) */
  async shutdown(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    debug('shutting down: draining the write buffer')
    await this.buffer.close()
    await this.store.close()
  }
}
