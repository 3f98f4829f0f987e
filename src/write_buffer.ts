import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { DateTime } from 'luxon'
import type { Logger } from '@adonisjs/core/logger'
import debug from './debug.ts'
import { dimensionKey } from './dimensions/names.ts'
import {
  BATCH_RESEND_MAX_AGE_MS,
  batchEntries,
  batchViews,
  parseDimensionKey,
} from './stores/batch.ts'
import type { FunnelPlan } from './funnels.ts'
import type {
  DayBatch,
  DimensionCount,
  FunnelTrail,
  TrackingBatch,
  TrackingStore,
} from './stores/types.ts'
import type { VisitSegment } from './stores/visits.ts'
import { VisitorHasher, visitorHashKey } from './visitor_hash.ts'
import { withinTimeout } from './stores/timed_store.ts'

/** At most one "dropped" warning a minute */
const DROP_LOG_INTERVAL_MS = 60_000
/** Retry delay while the store is unreachable and write-through is on */
const RETRY_MS = 1000
/** How long shutdown waits for the store before giving up */
const CLOSE_TIMEOUT_MS = 5000

/** A batch that was sent but not confirmed: resent as built (same id), never merged */
interface UnconfirmedBatch {
  batch: TrackingBatch
  entries: number
  builtAt: number
}

/** Taken out of the buffer, not yet built into a batch */
interface Taken {
  days: Map<string, PendingDay>
  minutes: Map<number, PendingMinute>
}

/**
 * Events of the write buffer (for tests and monitoring): `written` after a
 * batch was confirmed by the store, `failed` after a write failed or timed out
 * (the batch is kept for a resend)
 */
export interface WriteBufferEvents {
  written: [batch: TrackingBatch]
  failed: [error: Error, batch: TrackingBatch | null]
}

interface PendingDay {
  views: Map<string, number>
  /** known visitor ids (user ids, hook results) */
  visitors: Set<string>
  /** anonymous visitors as unsalted digests; salted with the day's salt when sent */
  anonymous: Set<string>
  /**
   * The key lists of the day's views -> views with that list (null until a
   * view brings one). A list is the array the recorder's deriver shares for
   * one combination of values (src/dimensions/derive.ts), so a view costs
   * one lookup by identity, not one per key; each distinct list is one
   * entry. Lists are opened into (dimension, value) pairs when the batch is
   * built.
   */
  dimensions: Map<KeyList, ListViews> | null
  /**
   * Per visitor of the day with an id (known id, or anonymous digest): its
   * latest visit segment, which links the earlier ones and holds the key
   * lists the visitor was seen with. One lookup a view serves the visit,
   * the visitor's lists and the day's visitors.
   */
  visits: Map<string, PendingVisit> | null
  anonymousVisits: Map<string, PendingVisit> | null
  /**
   * The key lists of each visitor's events (addEvent: no view, so no visit
   * segment to hold them): known id or anonymous digest -> its one list or
   * the set of its lists; each (visitor, list) is one entry
   */
  eventVisitors: Map<string, Owned> | null
  eventAnonymous: Map<string, Owned> | null
  /**
   * Per visitor (known id, or anonymous digest): the funnel trail of its
   * views and events of the day that reached a goal of a funnel
   * (src/funnels.ts), one entry each; null until one does
   */
  trails: Map<string, PendingTrail> | null
  anonymousTrails: Map<string, PendingTrail> | null
}

/** A visitor's funnel trail in the buffer, folded in place */
interface PendingTrail {
  trail: Uint8Array
  /** epoch ms of the first view or event in it (whether the previous day's salt applies) */
  first: number
}

/** Adds the trails of `from` (the newer) to those of `into` */
function mergeTrails(
  plan: FunnelPlan,
  into: Map<string, PendingTrail>,
  from: Map<string, PendingTrail>
) {
  for (const [id, trail] of from) {
    const held = into.get(id)
    if (held === undefined) into.set(id, trail)
    else {
      plan.compose(held.trail, trail.trail)
      held.first = Math.min(held.first, trail.first)
    }
  }
}

/**
 * A visitor's run of views in the buffer: first and last view, their paths,
 * the number of views, the key list of the first view (its source and
 * channel) and the distinct paths (the unique visitors per page). Updated
 * in place: O(1) a view, nothing pushed. A view a timeout or more after the
 * last one (or before the first) starts a new segment, which links this one.
 */
interface PendingVisit {
  first: number
  firstPath: string
  last: number
  lastPath: string
  views: number
  dimensions: KeyList | null
  /** the first path alone (the common case), or the set of distinct paths */
  paths: string | Set<string>
  /** the visitor's segment before this one, on this day of the batch */
  earlier: PendingVisit | null
  /**
   * On the latest segment: the key lists the visitor was seen with this
   * day, its one list or the set of its distinct lists (null before a view
   * brings one). Each (visitor, list) is one entry: repeated views add nothing.
   */
  lists: Owned | null
}

/**
 * Entries of a visitor's segments: one per segment, one per (visitor,
 * path) pair of each and one per (visitor, key list)
 */
function visitEntries(visit: PendingVisit | null): number {
  let entries = 0
  for (let one = visit; one !== null; one = one.earlier) {
    entries += 1 + (typeof one.paths === 'string' ? 1 : one.paths.size)
    if (one.lists !== null) entries += ownedSize(one.lists)
  }
  return entries
}

/** Entries of a day's visit segments */
function visitsEntries(visits: Map<string, PendingVisit> | null): number {
  let entries = 0
  if (visits) for (const visit of visits.values()) entries += visitEntries(visit)
  return entries
}

/** Adds the segments of each visitor of `from` to those of `into` (from's are the newer) */
function mergeVisits(into: Map<string, PendingVisit>, from: Map<string, PendingVisit>) {
  for (const [id, visit] of from) {
    const held = into.get(id)
    if (held !== undefined) {
      let oldest = visit
      while (oldest.earlier !== null) oldest = oldest.earlier
      oldest.earlier = held
      /* the key lists stay on the latest segment */
      if (held.lists !== null) {
        let lists = visit.lists ?? held.lists
        if (visit.lists !== null)
          for (const list of ownedLists(held.lists)) lists = withList(lists, list)
        visit.lists = lists
        held.lists = null
      }
    }
    into.set(id, visit)
  }
}

/** The source and channel values of a key list (the first view of a visit) */
function visitSource(list: KeyList | null): { source: string | null; channel: string | null } {
  let source: string | null = null
  let channel: string | null = null
  if (list) {
    for (const key of list) {
      if (key.startsWith('source:')) source = parseDimensionKey(key)?.[1] ?? null
      else if (key.startsWith('channel:')) channel = parseDimensionKey(key)?.[1] ?? null
    }
  }
  return { source, channel }
}

/** dimensionKey() pairs of a view, as a shared array */
type KeyList = readonly string[]
/** Views of one key list of a day, bumped in place (one lookup a view) */
interface ListViews {
  views: number
}
/** A visitor's key lists: one (the common case), or a set of them */
type Owned = KeyList | Set<KeyList>

/** Entries held by a visitor's key lists */
function ownedSize(owned: Owned): number {
  return owned instanceof Set ? owned.size : 1
}

/** Iterates a visitor's key lists */
function ownedLists(owned: Owned): Iterable<KeyList> {
  return owned instanceof Set ? owned : [owned]
}

/** A visitor's key lists with one more; the same object when it already held it */
function withList(owned: Owned, list: KeyList): Owned {
  if (owned instanceof Set) return owned.add(list)
  return owned === list ? owned : new Set([owned, list])
}

/** Adds the key lists of each visitor of `from` to those of `into` */
function mergeOwners(into: Map<string, Owned>, from: Map<string, Owned>) {
  for (const [id, owned] of from) {
    let held = into.get(id)
    if (held === undefined) into.set(id, owned)
    else {
      for (const list of ownedLists(owned)) held = withList(held, list)
      into.set(id, held)
    }
  }
}

/** Entries the (visitor, key list) pairs of a day's events count */
function ownerEntries(owners: Map<string, Owned> | null): number {
  let entries = 0
  if (owners) for (const owned of owners.values()) entries += ownedSize(owned)
  return entries
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
  /** dimensionKey() pairs of the view (`source:github.com`, src/dimensions/names.ts) */
  dimensions?: readonly string[] | null
  /** epoch ms of the view, for visits (default: the start of `minute`) */
  at?: number
}

/**
 * Coalesces page views in memory (per day + path, visitor ids per day and per
 * minute) and sends them to the store in one round trip per batch: every
 * `bufferMs`, or at once when `maxEntries` distinct entries are waiting.
 *
 * Bounded: every distinct entry counts, those waiting and those of batches
 * sent but not confirmed. While the store is unreachable the oldest entries
 * beyond the bound are dropped and the number of dropped views is logged, at
 * most once a minute. A write that does not settle within `storeTimeoutMs` is
 * given up: recording goes on, and the batch is resent as built before newer
 * entries (the store applies a batch id once, so a write that did land after
 * all is not counted twice). Nothing here ever throws to the caller.
 */
export class WriteBuffer extends EventEmitter<WriteBufferEvents> {
  #store: TrackingStore
  #bufferMs: number
  #maxEntries: number
  #storeTimeoutMs: number
  #logger?: Logger
  #hasher: VisitorHasher
  #visitTimeoutMs: number
  #timezone: string
  #funnels: FunnelPlan | null
  /** day -> epoch ms of its midnight in the timezone (a few days at most) */
  #dayStarts = new Map<string, number>()

  #days = new Map<string, PendingDay>()
  #minutes = new Map<number, PendingMinute>()
  /**
   * The day and minute of the last view (nearly every view has the same):
   * no lookup for them. Forgotten whenever #days or #minutes change
   * otherwise than by addView (#take, #restore, #trim).
   */
  #lastDayKey: string | null = null
  #lastDay: PendingDay | null = null
  #lastMinuteKey = Number.NaN
  #lastMinute: PendingMinute | null = null
  /** distinct entries in #days and #minutes */
  #entries = 0
  /** batches sent but not confirmed, oldest first */
  #unconfirmed: UnconfirmedBatch[] = []
  #unconfirmedEntries = 0
  #timer?: NodeJS.Timeout
  /** the one write under way: a stalled connection never gets a second batch before the timeout */
  #writing?: Promise<void>
  #closed = false
  #feeder: (() => void) | null = null

  #dropped = 0
  #droppedTotal = 0
  #lastDropLog = 0

  constructor(
    store: TrackingStore,
    options: {
      bufferMs: number
      maxEntries: number
      storeTimeoutMs?: number
      logger?: Logger
      /** key of the visitor hashes (visitorHashKey(appKey)); a random one when absent */
      visitorKey?: Buffer
      /** a gap of this many ms ends a visit (visitTimeoutMinutes; default 30 minutes) */
      visitTimeoutMs?: number
      /** zone of the day keys (settings.timezone; default UTC): when midnight is, for the salts */
      timezone?: string
      /** the funnels followed (FunnelPlan.of(settings)); none when absent */
      funnels?: FunnelPlan | null
    }
  ) {
    super()
    this.#store = store
    this.#bufferMs = options.bufferMs
    this.#maxEntries = options.maxEntries
    this.#storeTimeoutMs = options.storeTimeoutMs ?? 5000
    this.#logger = options.logger
    this.#hasher = new VisitorHasher(options.visitorKey ?? visitorHashKey())
    this.#visitTimeoutMs = options.visitTimeoutMs ?? 30 * 60_000
    this.#timezone = options.timezone ?? 'UTC'
    this.#funnels = options.funnels ?? null
  }

  /**
   * Distinct entries waiting in memory, sent or not: day+path, visitors of a
   * day, visitors of a minute, the dimension key lists of a day's views,
   * each (visitor, key list), each visit segment and each (visitor, path)
   * of a segment; an unconfirmed batch counts its (dimension, value) pairs
   * and their visitors, its segments and its (path, visitor) pairs
   */
  get size(): number {
    this.#feeder?.()
    return this.#held
  }

  /** size, without asking the producer for what it still holds */
  get #held(): number {
    return this.#entries + this.#unconfirmedEntries
  }

  /**
   * Registers the producer that holds views before they are counted (the
   * recorder's queue, see TrackingRecorder.record): it is asked for them
   * before anything else is added or anything is read or sent, so the
   * buffer always sees every view in the order it was recorded.
   */
  feedFrom(feeder: () => void): void {
    this.#feeder = feeder
  }

  /** Page views dropped since the start because the store was unreachable */
  get droppedViews(): number {
    return this.#droppedTotal
  }

  /** Adds one page view; returns at once */
  add(view: BufferedView): void {
    /* after the views recorded before it */
    this.#feeder?.()
    this.addView(
      view.day,
      view.path,
      view.visitor ?? null,
      view.anonymous ?? null,
      view.minute,
      view.dimensions ?? null,
      view.at ?? view.minute * 60_000
    )
  }

  /**
   * add() with the fields of the view as arguments (the recorder's path:
   * nothing is built per request)
   */
  addView(
    dayKey: string,
    path: string,
    visitor: string | null,
    anonymous: string | null,
    minuteKey: number,
    /*
     * dimensionKey() pairs of the view (src/dimensions/names.ts), checked when
     * the batch is built; a frozen array is kept as is and views sharing one
     * are counted together (the deriver's), any other is copied
     */
    dimensions: readonly string[] | null = null,
    /* epoch ms of the view (its visit); the recorder passes its clock's reading */
    at: number = minuteKey * 60_000
  ): void {
    const day = this.#dayOf(dayKey)
    const views = day.views.get(path)
    if (views === undefined) {
      day.views.set(path, 1)
      this.#entries++
    } else {
      day.views.set(path, views + 1)
    }

    const id = visitor || anonymous
    if (id) {
      let minute = minuteKey === this.#lastMinuteKey ? this.#lastMinute : null
      if (minute === null) {
        minute = this.#minutes.get(minuteKey) ?? null
        if (minute === null) {
          minute = { day: dayKey, visitors: new Set(), anonymous: new Set() }
          this.#minutes.set(minuteKey, minute)
        }
        this.#lastMinuteKey = minuteKey
        this.#lastMinute = minute
      }
      /* Set.add() leaves the size as it was for a known id: one lookup, not two */
      const ofMinute = visitor ? minute.visitors : minute.anonymous
      const before = ofMinute.size
      ofMinute.add(id)
      this.#entries += ofMinute.size - before
    }

    const plain = dimensions === null || dimensions.length === 0
    /* a list is kept by identity (the day's and the visitor's): one the caller may change again is copied */
    if (!plain && !Object.isFrozen(dimensions)) dimensions = Object.freeze(dimensions!.slice())
    /* the whole list of the view: one lookup by identity, bumped in place */
    if (!plain) this.#countList(day, dimensions!)
    /*
     * a visitor with a segment of the day is a visitor of the day already
     * (#trim drops segments first): no second lookup for it
     */
    if (id && !this.#addVisit(day, Boolean(visitor), id, at, path, plain ? null : dimensions)) {
      this.#addDayVisitor(visitor ? day.visitors : day.anonymous, id)
    }
    if (this.#funnels !== null && id && !plain)
      this.#addHits(day, Boolean(visitor), id, dimensions!, at)

    if (this.#held > this.#maxEntries) this.#trim()
    this.#schedule()
  }

  /**
   * Counts one event (src/events.ts) on a day: its key list (event, props,
   * page) and its visitor, as addView() counts the list of a view, but with
   * no page view and no visit: neither the day's paths, the realtime minutes
   * nor the visit segments change. The visitor becomes a visitor of the day,
   * as for a view (an event's visitor is a visitor of the site, so a
   * conversion rate never exceeds 100 %). The list and each (visitor, list)
   * are one entry each, counted against the bound like the lists of views; a
   * frozen list is kept as is, any other is copied.
   */
  addEvent(
    dayKey: string,
    visitor: string | null,
    anonymous: string | null,
    keys: readonly string[],
    /* epoch ms of the event (the previous day's salt shortly after midnight) */
    at: number = Date.now()
  ): void {
    if (keys.length === 0) return
    /* after the views recorded before it (a funnel's steps keep their order) */
    this.#feeder?.()
    const day = this.#dayOf(dayKey)
    if (!Object.isFrozen(keys)) keys = Object.freeze(keys.slice())
    this.#countList(day, keys)
    const id = visitor || anonymous
    if (id) {
      let owners = visitor ? day.eventVisitors : day.eventAnonymous
      if (owners === null) {
        owners = new Map()
        if (visitor) day.eventVisitors = owners
        else day.eventAnonymous = owners
      }
      const held = owners.get(id)
      if (held === undefined) {
        /* a visitor with event lists is a visitor of the day: #trim drops its lists first */
        this.#addDayVisitor(visitor ? day.visitors : day.anonymous, id)
        owners.set(id, keys)
        this.#entries++
      } else if (held !== keys) {
        const before = ownedSize(held)
        const owned = withList(held, keys)
        if (owned !== held) owners.set(id, owned)
        this.#entries += ownedSize(owned) - before
      }
      if (this.#funnels !== null) this.#addHits(day, Boolean(visitor), id, keys, at)
    }
    if (this.#held > this.#maxEntries) this.#trim()
    this.#schedule()
  }

  /**
   * Folds the goals of funnels a view's or an event's key list reaches into
   * its visitor's trail of the day (one lookup by identity for a list that
   * reaches none); a new trail is one entry
   */
  #addHits(day: PendingDay, known: boolean, id: string, list: KeyList, at: number): void {
    const plan = this.#funnels!
    const hits = plan.hitsOf(list)
    if (hits.length === 0) return
    let trails = known ? day.trails : day.anonymousTrails
    if (trails === null) {
      trails = new Map()
      if (known) day.trails = trails
      else day.anonymousTrails = trails
    }
    let held = trails.get(id)
    if (held === undefined) {
      trails.set(id, (held = { trail: plan.identity(), first: at }))
      this.#entries++
    } else if (at < held.first) {
      held.first = at
    }
    plan.advance(held.trail, hits)
  }

  /** The pending day (made when new); the last one is kept at hand: nearly every view has it */
  #dayOf(dayKey: string): PendingDay {
    let day = dayKey === this.#lastDayKey ? this.#lastDay : this.#days.get(dayKey)
    if (!day) {
      day = {
        views: new Map(),
        visitors: new Set(),
        anonymous: new Set(),
        dimensions: null,
        visits: null,
        anonymousVisits: null,
        eventVisitors: null,
        eventAnonymous: null,
        trails: null,
        anonymousTrails: null,
      }
      this.#days.set(dayKey, day)
    }
    this.#lastDayKey = dayKey
    this.#lastDay = day
    return day
  }

  /** One more view (or event) with the key list: one lookup by identity, bumped in place */
  #countList(day: PendingDay, list: KeyList): void {
    let lists = day.dimensions
    if (lists === null) day.dimensions = lists = new Map()
    const listViews = lists.get(list)
    if (listViews === undefined) {
      lists.set(list, { views: 1 })
      this.#entries++
    } else {
      listViews.views++
    }
  }

  /**
   * A view of a visitor into its segment of the day: bumped in place (one
   * lookup); a new segment when the view is a timeout or more after the last
   * one (or before the first). Views out of order never move the last view
   * back, so no duration is negative. True when the visitor had a segment
   * of the day already.
   */
  #addVisit(
    day: PendingDay,
    known: boolean,
    id: string,
    at: number,
    path: string,
    dimensions: KeyList | null
  ): boolean {
    let visits = known ? day.visits : day.anonymousVisits
    if (visits === null) {
      visits = new Map()
      if (known) day.visits = visits
      else day.anonymousVisits = visits
    }
    let visit = visits.get(id)
    const seen = visit !== undefined
    const timeout = this.#visitTimeoutMs
    if (visit === undefined || at - visit.last >= timeout || visit.first - at >= timeout) {
      const earlier = visit ?? null
      visit = {
        first: at,
        firstPath: path,
        last: at,
        lastPath: path,
        views: 1,
        dimensions,
        paths: path,
        earlier,
        /* the visitor's lists move to its latest segment */
        lists: earlier?.lists ?? null,
      }
      if (earlier !== null) earlier.lists = null
      visits.set(id, visit)
      this.#entries += 2
    } else {
      visit.views++
      if (at >= visit.last) {
        visit.last = at
        visit.lastPath = path
      } else if (at < visit.first) {
        visit.first = at
        visit.firstPath = path
        visit.dimensions = dimensions
      }
      const paths = visit.paths
      if (paths !== path) {
        if (typeof paths === 'string') {
          visit.paths = new Set([paths, path])
          this.#entries++
        } else {
          const before = paths.size
          paths.add(path)
          this.#entries += paths.size - before
        }
      }
    }
    if (dimensions !== null) {
      const held = visit.lists
      if (held === null) {
        visit.lists = dimensions
        this.#entries++
      } else if (held !== dimensions) {
        const before = ownedSize(held)
        const owned = withList(held, dimensions)
        if (owned !== held) visit.lists = owned
        this.#entries += ownedSize(owned) - before
      }
    }
    return seen
  }

  #forgetLast(): void {
    this.#lastDayKey = null
    this.#lastDay = null
    this.#lastMinuteKey = Number.NaN
    this.#lastMinute = null
  }

  #addDayVisitor(ofDay: Set<string>, id: string): void {
    const before = ofDay.size
    ofDay.add(id)
    this.#entries += ofDay.size - before
  }

  #schedule() {
    if (this.#closed) return
    if (this.#bufferMs === 0 || this.#held >= this.#maxEntries) {
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
   * Drops the oldest entries until the buffer is within its bound: the
   * unconfirmed batches first (removing entries from a batch keeps its id
   * honest: a resend can only add less), then the realtime visitors, oldest
   * minute first (best effort), then the days in insertion order: a day's
   * visit segments (with their paths and the key lists of their visitor), its
   * visitors, its dimension values, then its paths (only these are page views:
   * what a view adds to visits and dimensions goes before the view).
   */
  #trim() {
    this.#forgetLast()
    let dropped = 0
    const over = () => this.#held > this.#maxEntries
    while (over() && this.#unconfirmed.length > 0) {
      const oldest = this.#unconfirmed[0]
      const before = oldest.entries
      dropped += trimBatch(oldest.batch, this.#held - this.#maxEntries)
      oldest.entries = batchEntries(oldest.batch)
      this.#unconfirmedEntries -= before - oldest.entries
      if (oldest.entries === 0) this.#unconfirmed.shift()
    }
    /* visitor ids go first: they carry no views */
    const trimIds = (sets: Set<string>[]) => {
      for (const set of sets) {
        for (const id of set) {
          if (!over()) return
          set.delete(id)
          this.#entries--
        }
      }
    }
    for (const [key, minute] of this.#minutes) {
      if (!over()) break
      trimIds([minute.anonymous, minute.visitors])
      if (minute.anonymous.size === 0 && minute.visitors.size === 0) this.#minutes.delete(key)
    }
    for (const [dayKey, day] of this.#days) {
      if (!over()) break
      /* funnel trails first: they carry no counts of their own */
      for (const trails of [day.anonymousTrails, day.trails]) {
        if (!trails) continue
        for (const id of trails.keys()) {
          if (!over()) break
          this.#entries--
          trails.delete(id)
        }
      }
      /*
       * a visitor's segments (with its key lists) before the visitor: a
       * visitor with a segment stays a visitor of the day
       */
      for (const visits of [day.anonymousVisits, day.visits]) {
        if (!visits) continue
        for (const [id, visit] of visits) {
          if (!over()) break
          this.#entries -= visitEntries(visit)
          visits.delete(id)
        }
      }
      /* a visitor's event lists before the visitor, too */
      for (const owners of [day.eventAnonymous, day.eventVisitors]) {
        if (!owners) continue
        for (const [id, owned] of owners) {
          if (!over()) break
          this.#entries -= ownedSize(owned)
          owners.delete(id)
        }
      }
      trimIds([day.anonymous, day.visitors])
      if (day.dimensions) {
        for (const key of day.dimensions.keys()) {
          if (!over()) break
          this.#entries--
          day.dimensions.delete(key)
        }
      }
      for (const [path, views] of day.views) {
        if (!over()) break
        day.views.delete(path)
        this.#entries--
        dropped += views
      }
      if (
        day.views.size === 0 &&
        day.visitors.size === 0 &&
        day.anonymous.size === 0 &&
        !day.dimensions?.size &&
        !day.visits?.size &&
        !day.anonymousVisits?.size &&
        !day.eventVisitors?.size &&
        !day.eventAnonymous?.size &&
        !day.trails?.size &&
        !day.anonymousTrails?.size
      ) {
        this.#days.delete(dayKey)
      }
    }
    if (dropped > 0) this.#reportDropped(dropped)
  }

  #reportDropped(views: number, reason = 'unreachable') {
    this.#dropped += views
    this.#droppedTotal += views
    const now = Date.now()
    if (now - this.#lastDropLog >= DROP_LOG_INTERVAL_MS) {
      this.#lastDropLog = now
      const message = `adonis-tracking: store "${this.#store.name}" ${reason}, dropped ${this.#dropped} page views (buffer bound ${this.#maxEntries} entries)`
      if (this.#logger) this.#logger.warn(message)
      else debug(message)
      this.#dropped = 0
    }
  }

  /** Takes everything waiting (not the unconfirmed batches) out of the buffer */
  #take(): Taken | null {
    if (this.#days.size === 0 && this.#minutes.size === 0) return null
    const taken = { days: this.#days, minutes: this.#minutes }
    this.#forgetLast()
    this.#days = new Map()
    this.#minutes = new Map()
    this.#entries = 0
    return taken
  }

  /**
   * Puts entries back that were taken but never sent (building the batch
   * failed), merged with newer ones: safe, as no store has seen them
   */
  #restore(taken: Taken) {
    this.#forgetLast()
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
      if (day.dimensions) {
        const lists = (target.dimensions ??= new Map())
        for (const [list, listViews] of day.dimensions) {
          const into = lists.get(list)
          if (into) into.views += listViews.views
          else lists.set(list, listViews)
        }
      }
      if (day.visits) mergeVisits((target.visits ??= new Map()), day.visits)
      if (day.anonymousVisits)
        mergeVisits((target.anonymousVisits ??= new Map()), day.anonymousVisits)
      if (day.eventVisitors) mergeOwners((target.eventVisitors ??= new Map()), day.eventVisitors)
      if (day.eventAnonymous) mergeOwners((target.eventAnonymous ??= new Map()), day.eventAnonymous)
      const plan = this.#funnels
      if (plan !== null && day.trails) mergeTrails(plan, (target.trails ??= new Map()), day.trails)
      if (plan !== null && day.anonymousTrails)
        mergeTrails(plan, (target.anonymousTrails ??= new Map()), day.anonymousTrails)
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
      this.#entries += day.dimensions?.size ?? 0
      this.#entries += visitsEntries(day.visits) + visitsEntries(day.anonymousVisits)
      this.#entries += ownerEntries(day.eventVisitors) + ownerEntries(day.eventAnonymous)
      this.#entries += (day.trails?.size ?? 0) + (day.anonymousTrails?.size ?? 0)
    }
    for (const minute of this.#minutes.values()) {
      this.#entries += minute.visitors.size + minute.anonymous.size
    }
    if (this.#held > this.#maxEntries) this.#trim()
  }

  /** Keeps a batch that was sent but not confirmed, for a resend before newer entries */
  #keepUnconfirmed(batch: TrackingBatch) {
    const entries = batchEntries(batch)
    this.#unconfirmed.push({ batch, entries, builtAt: Date.now() })
    this.#unconfirmedEntries += entries
    if (this.#held > this.#maxEntries) this.#trim()
  }

  #forget(pending: UnconfirmedBatch) {
    const index = this.#unconfirmed.indexOf(pending)
    if (index === -1) return
    this.#unconfirmed.splice(index, 1)
    this.#unconfirmedEntries -= pending.entries
  }

  /** Resolves with the work, or rejects with E_TRACKING_STORE_TIMEOUT after storeTimeoutMs */
  #withTimeout<T>(work: Promise<T>, call: string): Promise<T> {
    return withinTimeout(work, call, this.#storeTimeoutMs)
  }

  /** One write of a batch; false when it failed or timed out */
  async #attempt(batch: TrackingBatch): Promise<boolean> {
    try {
      await this.#withTimeout(this.#store.write(batch), 'write()')
      this.emit('written', batch)
      return true
    } catch (error) {
      debug('write failed, keeping the batch %s: %s', batch.id, (error as Error).message)
      this.emit('failed', error as Error, batch)
      return false
    }
  }

  /**
   * The batch the store receives: every visitor as a keyed hash (see
   * src/visitor_hash.ts), anonymous ones salted with the day's salt first.
   * Each distinct visitor of the batch is hashed once, here and not per request.
   */
  async #toBatch(taken: Taken): Promise<TrackingBatch> {
    const hasher = this.#hasher
    const salts = new Map<string, string>()
    /* visitor -> hash, and day + anonymous digest -> hash */
    const known = new Map<string, string>()
    const anonymous = new Map<string, string>()
    const hashKnown = (id: string) => {
      let hash = known.get(id)
      if (hash === undefined) known.set(id, (hash = hasher.known(id)))
      return hash
    }
    /* the day's salt, asked of the store once a batch */
    const saltOf = async (day: string) => {
      let salt = salts.get(day)
      if (salt === undefined) salts.set(day, (salt = await this.#store.salt(day)))
      return salt
    }
    const hashAnonymous = (day: string, salt: string, digest: string) => {
      const key = `${day}:${digest}`
      let hash = anonymous.get(key)
      if (hash === undefined) anonymous.set(key, (hash = hasher.anonymous(salt, digest)))
      return hash
    }
    /* `use` gets the hash of each visitor of a day's two maps: known ids, anonymous digests */
    const eachHashed = async <T>(
      day: string,
      ids: Iterable<[string, T]> | null,
      digests: Map<string, T> | null,
      use: (hash: string, item: T) => void
    ) => {
      for (const [id, item] of ids ?? []) use(hashKnown(id), item)
      if (digests === null || digests.size === 0) return
      const salt = await saltOf(day)
      for (const [digest, item] of digests) use(hashAnonymous(day, salt, digest), item)
    }
    const visitorsOf = async (
      day: string,
      entry: { visitors: Set<string>; anonymous: Set<string> }
    ) => {
      const visitors = new Set<string>()
      for (const id of entry.visitors) visitors.add(hashKnown(id))
      if (entry.anonymous.size === 0) return visitors
      const salt = await saltOf(day)
      for (const digest of entry.anonymous) visitors.add(hashAnonymous(day, salt, digest))
      return visitors
    }
    const days = new Map<string, DayBatch>()
    const visits: VisitSegment[] = []
    const trails: FunnelTrail[] = []
    for (const [dayKey, day] of taken.days) {
      const out: DayBatch = { views: day.views, visitors: await visitorsOf(dayKey, day) }
      if (day.dimensions && day.dimensions.size > 0) {
        /* keys are checked once per batch here, not per view: unknown dimensions and empty values are left out */
        const dimensions = new Map<string, DimensionCount>()
        /* each key as sent -> its count as stored (null: unknown dimension or empty value) */
        const counts = new Map<string, DimensionCount | null>()
        for (const [list, { views }] of day.dimensions) {
          for (const key of list) {
            let into = counts.get(key)
            if (into === undefined) {
              const parsed = parseDimensionKey(key)
              into = null
              if (parsed !== null) {
                const stored = dimensionKey(parsed[0], parsed[1])
                into = dimensions.get(stored) ?? null
                if (into === null)
                  dimensions.set(stored, (into = { views: 0, visitors: new Set() }))
              }
              counts.set(key, into)
            }
            if (into !== null) into.views += views
          }
        }
        /* each visitor hashed once (the caches above), then added to the pairs of its views */
        const addVisitor = (hash: string, latest: PendingVisit) => {
          for (let visit: PendingVisit | null = latest; visit; visit = visit.earlier) {
            if (visit.lists === null) continue
            for (const list of ownedLists(visit.lists)) {
              for (const key of list) counts.get(key)?.visitors.add(hash)
            }
          }
        }
        await eachHashed(dayKey, day.visits, day.anonymousVisits, addVisitor)
        /* the visitors of events, to the pairs of their events' lists */
        const addOwner = (hash: string, owned: Owned) => {
          for (const list of ownedLists(owned)) {
            for (const key of list) counts.get(key)?.visitors.add(hash)
          }
        }
        await eachHashed(dayKey, day.eventVisitors, day.eventAnonymous, addOwner)
        if (dimensions.size > 0) out.dimensions = dimensions
      }
      if (day.visits?.size || day.anonymousVisits?.size) {
        out.pageVisitors = new Map()
        await this.#visitsOf(dayKey, day, out.pageVisitors, visits, {
          known: hashKnown,
          anonymous: async (digest) => hashAnonymous(dayKey, await saltOf(dayKey), digest),
        })
      }
      if (this.#funnels !== null && (day.trails?.size || day.anonymousTrails?.size)) {
        await this.#trailsOf(dayKey, day, trails, hashKnown, (digest) =>
          saltOf(dayKey).then((salt) => hashAnonymous(dayKey, salt, digest))
        )
      }
      days.set(dayKey, out)
    }
    const minutes = new Map<number, Set<string>>()
    for (const [minute, entry] of taken.minutes) {
      minutes.set(minute, await visitorsOf(entry.day, entry))
    }
    const batch: TrackingBatch = { id: randomUUID(), days, minutes }
    /* the store applies them in order: a visitor's views across midnight, or from two segments */
    if (visits.length > 0) batch.visits = visits.sort((a, b) => a.first - b.first)
    if (trails.length > 0) batch.funnels = { steps: this.#funnels!.stepValues, trails }
    return batch
  }

  /** The previous day's salt hash of an anonymous digest when `first` is within the timeout after midnight */
  async #previousHash(dayKey: string, digest: string, first: number): Promise<string | null> {
    if (first >= this.#dayStart(dayKey) + this.#visitTimeoutMs) return null
    const before = DateTime.fromISO(dayKey, { zone: 'utc' }).minus({ days: 1 }).toISODate()!
    return this.#hasher.anonymous(await this.#store.salt(before), digest)
  }

  /** The funnel trails of a day's visitors as the store receives them (keyed hashes, as their segments) */
  async #trailsOf(
    dayKey: string,
    day: PendingDay,
    into: FunnelTrail[],
    known: (id: string) => string,
    anonymous: (digest: string) => Promise<string>
  ): Promise<void> {
    const plan = this.#funnels!
    for (const [id, held] of day.trails ?? []) {
      into.push({ visitor: known(id), trail: plan.encode(held.trail) })
    }
    for (const [digest, held] of day.anonymousTrails ?? []) {
      const out: FunnelTrail = { visitor: await anonymous(digest), trail: plan.encode(held.trail) }
      const previous = await this.#previousHash(dayKey, digest, held.first)
      if (previous !== null) out.previous = previous
      into.push(out)
    }
  }

  /** Epoch ms of a day's midnight in the timezone (cached) */
  #dayStart(day: string): number {
    let start = this.#dayStarts.get(day)
    if (start === undefined) {
      if (this.#dayStarts.size >= 16) this.#dayStarts.clear()
      start = DateTime.fromISO(day, { zone: this.#timezone }).startOf('day').toMillis()
      this.#dayStarts.set(day, start)
    }
    return start
  }

  /**
   * The segments of a day's visitors as the store receives them (keyed
   * hashes; an anonymous segment that starts within the timeout after
   * midnight also carries its hash under the previous day's salt, so the
   * visit of the evening before goes on), and the (path, visitor) pairs
   */
  async #visitsOf(
    dayKey: string,
    day: PendingDay,
    pages: Map<string, Set<string>>,
    into: VisitSegment[],
    hashes: { known(id: string): string; anonymous(digest: string): Promise<string> }
  ): Promise<void> {
    const addPage = (path: string, hash: string) => {
      let visitors = pages.get(path)
      if (!visitors) pages.set(path, (visitors = new Set()))
      visitors.add(hash)
    }
    const sources = new Map<KeyList, ReturnType<typeof visitSource>>()
    const segment = (hash: string, visit: PendingVisit, previous: string | null): VisitSegment => {
      let source = visit.dimensions ? sources.get(visit.dimensions) : undefined
      if (source === undefined) {
        source = visitSource(visit.dimensions)
        if (visit.dimensions) sources.set(visit.dimensions, source)
      }
      const out: VisitSegment = {
        visitor: hash,
        day: dayKey,
        first: visit.first,
        firstPath: visit.firstPath,
        last: visit.last,
        lastPath: visit.lastPath,
        views: visit.views,
      }
      if (previous !== null) out.previous = previous
      if (source.source !== null) out.source = source.source
      if (source.channel !== null) out.channel = source.channel
      if (typeof visit.paths === 'string') addPage(visit.paths, hash)
      else for (const path of visit.paths) addPage(path, hash)
      return out
    }
    for (const [id, latest] of day.visits ?? []) {
      const hash = hashes.known(id)
      for (let visit: PendingVisit | null = latest; visit; visit = visit.earlier) {
        into.push(segment(hash, visit, null))
      }
    }
    if (!day.anonymousVisits?.size) return
    /* the previous day's salt only when a segment starts within the timeout after midnight */
    for (const [digest, latest] of day.anonymousVisits) {
      const hash = await hashes.anonymous(digest)
      for (let visit: PendingVisit | null = latest; visit; visit = visit.earlier) {
        into.push(segment(hash, visit, await this.#previousHash(dayKey, digest, visit.first)))
      }
    }
  }

  /**
   * Resends the unconfirmed batches, oldest first, then sends what is
   * waiting; false when a write failed (the rest stays for a later try)
   */
  async #writeOut(): Promise<boolean> {
    while (this.#unconfirmed.length > 0) {
      const pending = this.#unconfirmed[0]
      if (Date.now() - pending.builtAt > BATCH_RESEND_MAX_AGE_MS) {
        /* the store may have forgotten its id by now: a resend could count twice */
        this.#forget(pending)
        this.#reportDropped(batchViews(pending.batch), 'did not confirm a batch in time')
        continue
      }
      if (!(await this.#attempt(pending.batch))) return false
      this.#forget(pending)
    }
    const taken = this.#take()
    if (!taken) return true
    let batch: TrackingBatch
    try {
      batch = await this.#withTimeout(this.#toBatch(taken), 'the salts of a batch')
    } catch (error) {
      debug('building a batch failed, keeping its entries: %s', (error as Error).message)
      this.emit('failed', error as Error, null)
      this.#restore(taken)
      return false
    }
    if (await this.#attempt(batch)) return true
    this.#keepUnconfirmed(batch)
    return false
  }

  /**
   * Sends what is buffered now; never throws. One write at a time: while a
   * write waits on the connection (up to storeTimeoutMs), new views stay in
   * the bounded buffer instead of stacking batches in the client's queues.
   */
  #send(): Promise<void> {
    this.#feeder?.()
    if (this.#writing) return this.#writing
    /* nothing is issued while the client is not ready: its offline queue stays empty */
    if (!this.#store.isReady()) {
      if (this.#held > 0 && !this.#closed) this.#retryLater()
      return Promise.resolve()
    }
    if (this.#held === 0) return Promise.resolve()
    let failed = false
    const writing = this.#writeOut()
      .then((ok) => {
        failed = !ok
      })
      .finally(() => {
        this.#writing = undefined
        if (this.#closed || this.#held === 0) return
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
    this.#feeder?.()
    if (this.#timer) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    await this.#settled()
    /* a connection that is still being opened gets a moment before the send */
    for (let i = 0; i < 40 && this.#held > 0 && !this.#store.isReady(); i++) {
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
    this.#feeder?.()
    this.#closed = true
    let timeout: NodeJS.Timeout | undefined
    const deadline = new Promise<'timeout'>((resolve) => {
      timeout = setTimeout(() => resolve('timeout'), CLOSE_TIMEOUT_MS)
    })
    const drained = (async () => {
      const start = Date.now()
      while (this.#held > 0 && !this.#store.isReady() && Date.now() - start < CLOSE_TIMEOUT_MS) {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      await this.drain()
      return 'drained' as const
    })()
    const outcome = await Promise.race([drained, deadline])
    clearTimeout(timeout)
    if (outcome === 'timeout' || this.#held > 0) {
      let views = 0
      for (const day of this.#days.values()) for (const n of day.views.values()) views += n
      for (const { batch } of this.#unconfirmed) views += batchViews(batch)
      if (views > 0) this.#reportDropped(views)
    }
  }
}

/**
 * Removes up to `count` entries from a batch, visit segments first (oldest
 * first), visitors of minutes, then each day's (path, visitor) pairs,
 * visitors, dimension visitors and values, and paths; returns the page
 * views removed
 */
function trimBatch(batch: TrackingBatch, count: number): number {
  let left = count
  let views = 0
  /* funnel trails first: they carry no counts of their own */
  if (batch.funnels && batch.funnels.trails.length > 0) {
    const removed = Math.min(left, batch.funnels.trails.length)
    batch.funnels.trails.splice(0, removed)
    left -= removed
    if (left === 0) return views
  }
  /* a visit segment is what its views add to visits: it goes before them */
  if (batch.visits && batch.visits.length > 0) {
    const removed = Math.min(left, batch.visits.length)
    batch.visits.splice(0, removed)
    left -= removed
    if (left === 0) return views
  }
  for (const [minute, visitors] of batch.minutes) {
    for (const id of visitors) {
      if (left === 0) return views
      visitors.delete(id)
      left--
    }
    batch.minutes.delete(minute)
  }
  for (const [dayKey, day] of batch.days) {
    for (const [path, visitors] of day.pageVisitors ?? []) {
      for (const id of visitors) {
        if (left === 0) return views
        visitors.delete(id)
        left--
      }
      day.pageVisitors!.delete(path)
    }
    for (const id of day.visitors) {
      if (left === 0) return views
      day.visitors.delete(id)
      left--
    }
    if (day.dimensions) {
      for (const pair of day.dimensions.values()) {
        for (const id of pair.visitors) {
          if (left === 0) return views
          pair.visitors.delete(id)
          left--
        }
      }
      for (const key of day.dimensions.keys()) {
        if (left === 0) return views
        day.dimensions.delete(key)
        left--
      }
    }
    for (const [path, n] of day.views) {
      if (left === 0) return views
      day.views.delete(path)
      views += n
      left--
    }
    batch.days.delete(dayKey)
  }
  return views
}
