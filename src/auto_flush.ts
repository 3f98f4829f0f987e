import type { ApplicationService } from '@adonisjs/core/types'
import type { Logger } from '@adonisjs/core/logger'
/* the `lucid.db` binding's type (Lucid is a required peer) */
import type {} from '@adonisjs/lucid/database_provider'
import debug from './debug.ts'
import { flushPageViews } from './flush.ts'
import type { FlushDatabase, FlushSummary } from './flush.ts'
import type { TrackingManager } from './manager.ts'

/** Name of the store lock every app instance competes for */
export const AUTO_FLUSH_LOCK = 'auto-flush'

/**
 * In-process periodic flush (`autoFlush: { every: '1m' }`), off by default.
 * Every instance of the app ticks, but a store lock lets only one of them
 * flush at a time. The lock only saves work: the flush is exactly once
 * without it.
 */
export class AutoFlush {
  #manager: Pick<TrackingManager, 'store' | 'settings' | 'drain'>
  #db: FlushDatabase
  #logger?: Logger
  #everyMs: number
  #timer?: NodeJS.Timeout
  #running?: Promise<FlushSummary | null>

  constructor(
    manager: Pick<TrackingManager, 'store' | 'settings' | 'drain'>,
    db: FlushDatabase,
    options: { logger?: Logger; everyMs?: number } = {}
  ) {
    this.#manager = manager
    this.#db = db
    this.#logger = options.logger
    this.#everyMs =
      options.everyMs ?? (manager.settings.autoFlush ? manager.settings.autoFlush.everyMs : 60_000)
  }

  /**
   * Starts the auto flush for a web app whose config enables it; returns
   * null otherwise (console commands, tests and the REPL never auto-flush).
   */
  static async start(app: ApplicationService): Promise<AutoFlush | null> {
    if (app.getEnvironment() !== 'web') return null
    const manager = await app.container.make('tracking.manager')
    if (!manager.settings.autoFlush || !manager.settings.enabled) return null
    if (!app.container.hasBinding('lucid.db')) {
      debug('autoFlush needs @adonisjs/lucid: not started')
      return null
    }
    const db = await app.container.make('lucid.db')
    const logger = await app.container.make('logger')
    const autoFlush = new AutoFlush(manager, db, { logger })
    autoFlush.start()
    return autoFlush
  }

  /** true while the timer is armed */
  get running(): boolean {
    return this.#timer !== undefined
  }

  /** Arms the timer (unref'd: it never keeps the process alive) */
  start(): void {
    if (this.#timer) return
    this.#timer = setInterval(() => {
      if (!this.#running) void this.tick()
    }, this.#everyMs)
    this.#timer.unref()
    debug('auto flush every %d ms', this.#everyMs)
  }

  /**
   * One flush if this instance gets the lock: null when another holds it.
   * Errors are logged, never thrown (the next tick resumes the flush).
   */
  tick(): Promise<FlushSummary | null> {
    this.#running ??= this.#flushOnce().finally(() => {
      this.#running = undefined
    })
    return this.#running
  }

  async #flushOnce(): Promise<FlushSummary | null> {
    const store = this.#manager.store
    /*
     * The lock outlives a normal flush; a crashed holder frees it after the
     * TTL. With `every: '1s'` a 60 s floor stopped every instance from
     * flushing for a minute after the holder was SIGKILLed (soak R6): the
     * floor is 10 s. A flush longer than the TTL may meet a second flusher,
     * which costs work only (the flush is exactly once without the lock).
     */
    const ttlMs = Math.max(this.#everyMs * 5, 10_000)
    let token: string | null = null
    try {
      token = await store.acquireLock(AUTO_FLUSH_LOCK, ttlMs)
      if (!token) {
        debug('auto flush: another instance holds the lock')
        return null
      }
      await this.#manager.drain()
      const summary = await flushPageViews(this.#manager, this.#db)
      debug('auto flush: %d paths for %d days', summary.paths, summary.days)
      return summary
    } catch (error) {
      this.#logger?.error({ err: error }, '[tracking] auto flush failed (the next run resumes it)')
      return null
    } finally {
      if (token) await store.releaseLock(AUTO_FLUSH_LOCK, token).catch(() => {})
    }
  }

  /** Disarms the timer and waits for a flush in progress */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    await this.#running
  }
}
