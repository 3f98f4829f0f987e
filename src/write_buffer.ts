import type { Logger } from '@adonisjs/core/logger'
import debug from './debug.ts'
import type { DayBatch, TrackingBatch, TrackingStore } from './stores/types.ts'
import { VisitorHasher, visitorHashKey } from './visitor_hash.ts'

/** At most one "dropped" warning a minute */
const DROP_LOG_INTERVAL_MS = 60_000
/** Retry delay while the store is unreachable and write-through is on */
const RETRY_MS = 1000
/** How long shutdown waits for the store before giving up */
const CLOSE_TIMEOUT_MS = 5000

interface PendingDay {
  views: Map<string, number>
  /** known visitor ids (user ids, hook results) */
  visitors: Set<string>
  /** anonymous visitors as unsalted digests; salted with the day's salt when sent */
  anonymous: Set<string>
}

interface PendingMinute {
  day: string
  visitors: Set<string>
  anonymous: Set<string>
}

/** What one recorded page view adds to the buffer */
export interface BufferedView {
  day: string
  path: string
  /** a known visitor id */
  visitor?: string | null
  /** an unsalted digest of an anonymous visitor (never stored as is) */
  anonymous?: string | null
  /** epoch minute of the view, for realtime visitors */
  minute: number
}

/**
 * Coalesces page views in memory (per day + path, visitor ids per day) and
 * sends them to the store in one round trip per batch: every `bufferMs`, or
 * at once when `maxEntries` distinct entries are waiting. Bounded: while the
 * store is unreachable the oldest entries beyond the bound are dropped and
 * the number of dropped views is logged, at most once a minute. Nothing here
 * ever throws to the caller.
 */
export class WriteBuffer {
  #store: TrackingStore
  #bufferMs: number
  #maxEntries: number
  #logger?: Logger
  #hasher: VisitorHasher

  #days = new Map<string, PendingDay>()
  #minutes = new Map<number, PendingMinute>()
  #entries = 0
  #timer?: NodeJS.Timeout
  /** the one write under way: a stalled connection never gets a second batch */
  #writing?: Promise<void>
  #closed = false

  #dropped = 0
  #droppedTotal = 0
  #lastDropLog = 0

  constructor(
    store: TrackingStore,
    options: {
      bufferMs: number
      maxEntries: number
      logger?: Logger
      /** key of the visitor hashes (visitorHashKey(appKey)); a random one when absent */
      visitorKey?: Buffer
    }
  ) {
    this.#store = store
    this.#bufferMs = options.bufferMs
    this.#maxEntries = options.maxEntries
    this.#logger = options.logger
    this.#hasher = new VisitorHasher(options.visitorKey ?? visitorHashKey())
  }

  /** Distinct entries (day+path, visitors) waiting in memory */
  get size(): number {
    return this.#entries
  }

  /** Page views dropped since the start because the store was unreachable */
  get droppedViews(): number {
    return this.#droppedTotal
  }

  /** Adds one page view; returns at once */
  add(view: BufferedView): void {
    let day = this.#days.get(view.day)
    if (!day) {
      day = { views: new Map(), visitors: new Set(), anonymous: new Set() }
      this.#days.set(view.day, day)
    }
    const views = day.views.get(view.path)
    if (views === undefined) {
      day.views.set(view.path, 1)
      this.#entries++
    } else {
      day.views.set(view.path, views + 1)
    }

    if (view.visitor || view.anonymous) {
      let minute = this.#minutes.get(view.minute)
      if (!minute) {
        minute = { day: view.day, visitors: new Set(), anonymous: new Set() }
        this.#minutes.set(view.minute, minute)
      }
      if (view.visitor) {
        if (!day.visitors.has(view.visitor)) {
          day.visitors.add(view.visitor)
          this.#entries++
        }
        minute.visitors.add(view.visitor)
      } else if (view.anonymous) {
        if (!day.anonymous.has(view.anonymous)) {
          day.anonymous.add(view.anonymous)
          this.#entries++
        }
        minute.anonymous.add(view.anonymous)
      }
    }

    if (this.#entries > this.#maxEntries) this.#trim()
    this.#schedule()
  }

  #schedule() {
    if (this.#closed) return
    if (this.#bufferMs === 0 || this.#entries >= this.#maxEntries) {
      this.#sendSoon()
      return
    }
    if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        void this.#send()
      }, this.#bufferMs)
      this.#timer.unref()
    }
  }

  #sendSoon() {
    if (this.#store.isReady()) void this.#send()
    else this.#retryLater()
  }

  /** Tries again after a pause (store not ready, or the last write failed) */
  #retryLater() {
    if (this.#timer) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.#send()
    }, this.#bufferMs || RETRY_MS)
    this.#timer.unref()
  }

  /**
   * Drops the oldest entries until the buffer is within its bound. Days are
   * kept in insertion order, so the oldest day goes first.
   */
  #trim() {
    let dropped = 0
    for (const [dayKey, day] of this.#days) {
      if (this.#entries <= this.#maxEntries) break
      for (const id of day.anonymous) {
        if (this.#entries <= this.#maxEntries) break
        day.anonymous.delete(id)
        this.#entries--
      }
      for (const id of day.visitors) {
        if (this.#entries <= this.#maxEntries) break
        day.visitors.delete(id)
        this.#entries--
      }
      for (const [path, views] of day.views) {
        if (this.#entries <= this.#maxEntries) break
        day.views.delete(path)
        this.#entries--
        dropped += views
      }
      if (day.views.size === 0 && day.visitors.size === 0 && day.anonymous.size === 0) {
        this.#days.delete(dayKey)
      }
    }
    /* realtime sketches are best effort: keep them as small as the bound */
    while (this.#minutes.size > 10) this.#minutes.delete(this.#minutes.keys().next().value!)
    if (dropped > 0) this.#reportDropped(dropped)
  }

  #reportDropped(views: number) {
    this.#dropped += views
    this.#droppedTotal += views
    const now = Date.now()
    if (now - this.#lastDropLog >= DROP_LOG_INTERVAL_MS) {
      this.#lastDropLog = now
      const message = `adonis-tracking: store "${this.#store.name}" unreachable, dropped ${this.#dropped} page views (buffer bound ${this.#maxEntries} entries)`
      if (this.#logger) this.#logger.warn(message)
      else debug(message)
      this.#dropped = 0
    }
  }

  /** Takes everything out of the buffer */
  #take(): { days: Map<string, PendingDay>; minutes: Map<number, PendingMinute> } | null {
    if (this.#days.size === 0 && this.#minutes.size === 0) return null
    const taken = { days: this.#days, minutes: this.#minutes }
    this.#days = new Map()
    this.#minutes = new Map()
    this.#entries = 0
    return taken
  }

  /** Puts a batch that could not be written back in front of newer entries */
  #restore(taken: { days: Map<string, PendingDay>; minutes: Map<number, PendingMinute> }) {
    const newerDays = this.#days
    const newerMinutes = this.#minutes
    this.#days = taken.days
    this.#minutes = taken.minutes
    for (const [dayKey, day] of newerDays) {
      const target = this.#days.get(dayKey)
      if (!target) {
        this.#days.set(dayKey, day)
        continue
      }
      for (const [path, views] of day.views)
        target.views.set(path, (target.views.get(path) ?? 0) + views)
      for (const id of day.visitors) target.visitors.add(id)
      for (const id of day.anonymous) target.anonymous.add(id)
    }
    for (const [minute, entry] of newerMinutes) {
      const target = this.#minutes.get(minute)
      if (!target) {
        this.#minutes.set(minute, entry)
        continue
      }
      for (const id of entry.visitors) target.visitors.add(id)
      for (const id of entry.anonymous) target.anonymous.add(id)
    }
    this.#entries = 0
    for (const day of this.#days.values()) {
      this.#entries += day.views.size + day.visitors.size + day.anonymous.size
    }
    if (this.#entries > this.#maxEntries) this.#trim()
  }

  /**
   * The batch the store receives: every visitor as a keyed hash (see
   * src/visitor_hash.ts), anonymous ones salted with the day's salt first.
   * Each distinct visitor of the batch is hashed once, here and not per request.
   */
  async #toBatch(taken: {
    days: Map<string, PendingDay>
    minutes: Map<number, PendingMinute>
  }): Promise<TrackingBatch> {
    const hasher = this.#hasher
    const salts = new Map<string, string>()
    /* visitor -> hash, and day + anonymous digest -> hash */
    const known = new Map<string, string>()
    const anonymous = new Map<string, string>()
    const visitorsOf = async (
      day: string,
      entry: { visitors: Set<string>; anonymous: Set<string> }
    ) => {
      const visitors = new Set<string>()
      for (const id of entry.visitors) {
        let hash = known.get(id)
        if (hash === undefined) known.set(id, (hash = hasher.known(id)))
        visitors.add(hash)
      }
      if (entry.anonymous.size === 0) return visitors
      let salt = salts.get(day)
      if (salt === undefined) salts.set(day, (salt = await this.#store.salt(day)))
      for (const digest of entry.anonymous) {
        const key = `${day}:${digest}`
        let hash = anonymous.get(key)
        if (hash === undefined) anonymous.set(key, (hash = hasher.anonymous(salt, digest)))
        visitors.add(hash)
      }
      return visitors
    }
    const days = new Map<string, DayBatch>()
    for (const [dayKey, day] of taken.days) {
      days.set(dayKey, { views: day.views, visitors: await visitorsOf(dayKey, day) })
    }
    const minutes = new Map<number, Set<string>>()
    for (const [minute, entry] of taken.minutes) {
      minutes.set(minute, await visitorsOf(entry.day, entry))
    }
    return { days, minutes }
  }

  /**
   * Sends what is buffered now; never throws. One write at a time: while a
   * write waits on the connection, new views stay in the bounded buffer
   * instead of stacking batches in the client's queues.
   */
  #send(): Promise<void> {
    if (this.#writing) return this.#writing
    /* nothing is issued while the client is not ready: its offline queue stays empty */
    if (!this.#store.isReady()) {
      if (this.#entries > 0 && !this.#closed) this.#retryLater()
      return Promise.resolve()
    }
    const taken = this.#take()
    if (!taken) return Promise.resolve()
    let failed = false
    const writing = (async () => {
      try {
        await this.#store.write(await this.#toBatch(taken))
      } catch (error) {
        debug('write failed, keeping the batch: %s', (error as Error).message)
        this.#restore(taken)
        failed = true
      }
    })().finally(() => {
      this.#writing = undefined
      if (this.#closed || this.#entries === 0) return
      if (failed) this.#retryLater()
      else this.#schedule()
    })
    this.#writing = writing
    return writing
  }

  /** Waits until no write is under way */
  async #settled(): Promise<void> {
    while (this.#writing) await this.#writing
  }

  /** Sends everything buffered and waits for every write under way */
  async drain(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    await this.#settled()
    /* a connection that is still being opened gets a moment before the send */
    for (let i = 0; i < 40 && this.#entries > 0 && !this.#store.isReady(); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await this.#send()
    await this.#settled()
  }

  /**
   * Final drain on shutdown: waits for the store up to 5 s, then reports what
   * could not be written.
   */
  async close(): Promise<void> {
    this.#closed = true
    let timeout: NodeJS.Timeout | undefined
    const deadline = new Promise<'timeout'>((resolve) => {
      timeout = setTimeout(() => resolve('timeout'), CLOSE_TIMEOUT_MS)
    })
    const drained = (async () => {
      const start = Date.now()
      while (this.#entries > 0 && !this.#store.isReady() && Date.now() - start < CLOSE_TIMEOUT_MS) {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      await this.drain()
      return 'drained' as const
    })()
    const outcome = await Promise.race([drained, deadline])
    clearTimeout(timeout)
    if (outcome === 'timeout' || this.#entries > 0) {
      let views = 0
      for (const day of this.#days.values()) for (const n of day.views.values()) views += n
      if (views > 0) this.#reportDropped(views)
    }
  }
}
