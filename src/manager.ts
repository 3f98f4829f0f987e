import type { Logger } from '@adonisjs/core/logger'
import debug from './debug.ts'
import { TrackingRecorder } from './recorder.ts'
import { WriteBuffer } from './write_buffer.ts'
import type { TrackingStore } from './stores/types.ts'
import type { TrackingSettings } from './types.ts'
import { type AppKey, visitorHashKey } from './visitor_hash.ts'

/**
 * Owns the runtime of the package for one app: the frozen settings, the
 * store of live counters, the write buffer and the recorder. Bound to the
 * container as `tracking.manager`.
 */
export class TrackingManager {
  readonly settings: TrackingSettings
  readonly store: TrackingStore
  readonly buffer: WriteBuffer
  readonly recorder: TrackingRecorder
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
    this.store = store
    this.buffer = new WriteBuffer(store, {
      bufferMs: settings.bufferMs,
      maxEntries: settings.bufferMaxEntries,
      storeTimeoutMs: settings.storeTimeoutMs,
      logger: options.logger,
      visitorKey: visitorHashKey(options.appKey),
      visitTimeoutMs: settings.visitTimeoutMinutes * 60_000,
      timezone: settings.timezone,
    })
    this.recorder = new TrackingRecorder(settings, this.buffer, {
      now: options.now,
      logger: options.logger,
    })
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
