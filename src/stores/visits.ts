/**
 * Visits: what both stores keep about them and how a batch's segments change
 * it. A visit is a run of one visitor's views with gaps shorter than the
 * visit timeout. Its state (start, last view, views, entry and exit path,
 * start day, source and channel: no IP, no user agent) is kept per visitor
 * hash for the timeout; every figure of a visit is counted on the day it
 * started, incrementally, so the live figures are right at any moment and
 * nothing waits for a visit to end:
 *
 * - visits, views in visits, bounces (a visit's second view takes its
 *   bounce back), duration in seconds (first to last view) and a histogram
 *   of durations (bounded buckets, for the median);
 * - entries and exits per path (an exit moves from the old last path to the
 *   new one), visits per source and channel.
 *
 * The Redis store applies segments in WRITE_BATCH (Lua), the memory store
 * with applyVisitSegment below: the same rules, checked on both by
 * tests/unit/store_contract.spec.ts and tests/unit/visits.spec.ts.
 */

/**
 * One visitor's run of views inside a batch, as the write buffer sends it.
 * A visitor has one segment per day of a batch, more only when a gap inside
 * the batch reaches the timeout (batches piling up while the store is down).
 */

/**
 * Default of `maxOpenVisits`: visits in progress the store remembers at
 * once (about 300 bytes each in Redis: the state and its entry in the set
 * of open visits, so at most ~30 MB)
 */
export const DEFAULT_MAX_OPEN_VISITS = 100_000

export interface VisitSegment {
  /** the visitor as a keyed hash (src/visitor_hash.ts) */
  visitor: string
  /**
   * The same anonymous visitor hashed with the previous day's salt, for
   * segments that start within the timeout after midnight: the salt
   * rotates, and the visit of the evening before continues under it
   */
  previous?: string | null
  /** the day of the segment's views (YYYY-MM-DD) */
  day: string
  /** epoch ms of the first and the last view */
  first: number
  firstPath: string
  last: number
  lastPath: string
  views: number
  /** source and channel of the first view, as stored (null: none) */
  source?: string | null
  channel?: string | null
}

/** A visit's live state, as both stores keep it (in Redis the string `{prefix}:vstate:<hash>`) */
export interface VisitState {
  start: number
  last: number
  views: number
  /** entry and exit path, as admitted on the start day */
  entry: string
  exit: string
  /** the start day: every figure of the visit is counted there */
  day: string
  /** source and channel, as admitted on the start day ('' for none) */
  source: string
  channel: string
  /**
   * The funnel steps the visit reached: one digit per funnel (src/funnels.ts
   * applyTrail; the `f` field of the Redis hash); absent until it reaches one
   */
  funnels?: string
}

/** Visits that ended in one duration bucket, and their summed duration */
export interface DurationBucket {
  visits: number
  seconds: number
}

/**
 * The visit figures of one day (or range), counted incrementally. Live
 * figures may hold negative deltas (a bounce taken back, an exit moved
 * after a flush): SQL adds them (`x = x + n`), so sums stay right.
 */
export interface VisitCounts {
  visits: number
  /** views in those visits */
  views: number
  /** visits of exactly one view */
  bounces: number
  /** summed duration of the visits, whole seconds each */
  duration: number
  /** bucket (its lower bound in seconds, see durationBucket) -> visits and seconds */
  durations: Map<number, DurationBucket>
  /** path -> visits that entered there */
  entries: Map<string, number>
  /** path -> visits that left there */
  exits: Map<string, number>
  /** dimensionKey() (`source:github.com`, `channel:Referral`) -> visits */
  sources: Map<string, number>
}

/** No visits */
export function emptyVisitCounts(): VisitCounts {
  return {
    visits: 0,
    views: 0,
    bounces: 0,
    duration: 0,
    durations: new Map(),
    entries: new Map(),
    exits: new Map(),
    sources: new Map(),
  }
}

/** True when the counts hold nothing to add */
export function isEmptyVisitCounts(counts: VisitCounts): boolean {
  return (
    counts.visits === 0 &&
    counts.views === 0 &&
    counts.bounces === 0 &&
    counts.duration === 0 &&
    counts.durations.size === 0 &&
    counts.entries.size === 0 &&
    counts.exits.size === 0 &&
    counts.sources.size === 0
  )
}

function addTo(map: Map<string, number>, key: string, by: number) {
  if (by !== 0) map.set(key, (map.get(key) ?? 0) + by)
}

/** Adds `from` into `into` (returns `into`) */
export function addVisitCounts(into: VisitCounts, from: VisitCounts): VisitCounts {
  into.visits += from.visits
  into.views += from.views
  into.bounces += from.bounces
  into.duration += from.duration
  for (const [bucket, { visits, seconds }] of from.durations) {
    const held = into.durations.get(bucket)
    if (held) {
      held.visits += visits
      held.seconds += seconds
    } else {
      into.durations.set(bucket, { visits, seconds })
    }
  }
  for (const [path, n] of from.entries) addTo(into.entries, path, n)
  for (const [path, n] of from.exits) addTo(into.exits, path, n)
  for (const [key, n] of from.sources) addTo(into.sources, key, n)
  return into
}

/**
 * The duration bucket of a visit of `seconds` (its lower bound): every
 * second below 1 minute, 10 s below 10 minutes, 1 minute below 1 hour, 5
 * minutes below 4 hours, 30 minutes below a day, then one bucket. At most
 * 60 + 54 + 50 + 36 + 40 + 1 = 241 buckets a day. WRITE_BATCH computes the
 * same in Lua (keep them in step).
 */
export function durationBucket(seconds: number): number {
  if (seconds < 60) return seconds
  if (seconds < 600) return seconds - (seconds % 10)
  if (seconds < 3600) return seconds - (seconds % 60)
  if (seconds < 14_400) return seconds - (seconds % 300)
  if (seconds < 86_400) return seconds - (seconds % 1800)
  return 86_400
}

/** Whole seconds from `first` to `last` (epoch ms), never negative */
export function visitSeconds(first: number, last: number): number {
  return last > first ? Math.floor((last - first) / 1000) : 0
}

/**
 * The median duration of the visits of a histogram, in whole seconds. The
 * visit at the median rank is taken as the mean of its bucket (exact when
 * the bucket's visits last equally long, within the bucket otherwise); an
 * even count averages the two middle ranks. 0 without visits.
 */
export function medianDuration(durations: Map<number, DurationBucket>): number {
  const buckets = [...durations]
    .filter(([, bucket]) => bucket.visits > 0)
    .sort((a, b) => a[0] - b[0])
  let total = 0
  for (const [, bucket] of buckets) total += bucket.visits
  if (total === 0) return 0
  const at = (rank: number): number => {
    let below = 0
    for (const [lower, bucket] of buckets) {
      if (rank <= below + bucket.visits) {
        const mean = bucket.seconds / bucket.visits
        /* a bucket holds durations >= its lower bound: a mean outside it is a count in flight */
        return Number.isFinite(mean) && mean >= lower ? mean : lower
      }
      below += bucket.visits
    }
    return buckets[buckets.length - 1][0]
  }
  const middle = total % 2 === 1 ? at((total + 1) / 2) : (at(total / 2) + at(total / 2 + 1)) / 2
  return Math.round(middle)
}

/**
 * What applyVisitSegment needs from a store: visit states by visitor hash,
 * the day's admissions (the same caps as the page views and dimensions)
 * and the live counts of a start day
 */
export interface VisitLedger {
  readonly timeoutMs: number
  getState(visitor: string): VisitState | undefined
  setState(visitor: string, state: VisitState): void
  /** moves a state to another key (the previous day's salt hash to today's) */
  renameState(from: string, to: string): void
  /** the path counted for `path` on `day`: itself once admitted, OTHER_PATH beyond the cap */
  admitPath(day: string, path: string): string
  /** the value counted for a source or channel on `day`: itself, or OTHER_VALUE beyond the cap */
  admitValue(day: string, dimension: 'source' | 'channel', value: string): string
  /** the live counts of a start day (created on first use) */
  counts(day: string): VisitCounts
}

function moveDuration(counts: VisitCounts, from: number | null, to: number) {
  const shift = (seconds: number, sign: number) => {
    const bucket = durationBucket(seconds)
    const held = counts.durations.get(bucket)
    if (held) {
      held.visits += sign
      held.seconds += sign * seconds
    } else {
      /* `+ 0`: no -0 seconds for a bucket of 0 s */
      counts.durations.set(bucket, { visits: sign, seconds: sign * seconds + 0 })
    }
  }
  if (from !== null) shift(from, -1)
  shift(to, 1)
}

/** Counts a new visit from a segment; returns its state (not stored) */
function openVisit(ledger: VisitLedger, segment: VisitSegment): VisitState {
  const day = segment.day
  const counts = ledger.counts(day)
  const entry = ledger.admitPath(day, segment.firstPath)
  const exit = ledger.admitPath(day, segment.lastPath)
  const seconds = visitSeconds(segment.first, segment.last)
  counts.visits++
  counts.views += segment.views
  if (segment.views === 1) counts.bounces++
  counts.duration += seconds
  moveDuration(counts, null, seconds)
  addTo(counts.entries, entry, 1)
  addTo(counts.exits, exit, 1)
  const source = segment.source ? ledger.admitValue(day, 'source', segment.source) : ''
  const channel = segment.channel ? ledger.admitValue(day, 'channel', segment.channel) : ''
  if (source) addTo(counts.sources, `source:${source}`, 1)
  if (channel) addTo(counts.sources, `channel:${channel}`, 1)
  return {
    start: segment.first,
    last: Math.max(segment.first, segment.last),
    views: segment.views,
    entry,
    exit,
    day,
    source,
    channel,
  }
}

/** Adds a segment to the visit in progress; every figure goes to the visit's start day */
function continueVisit(ledger: VisitLedger, state: VisitState, segment: VisitSegment): VisitState {
  const day = state.day
  const counts = ledger.counts(day)
  counts.views += segment.views
  if (state.views === 1) counts.bounces--
  const next: VisitState = { ...state, views: state.views + segment.views }
  /* an earlier view of the start day (another process's batch came later): the visit starts there */
  if (segment.first < state.start && segment.day === day) {
    next.start = segment.first
    next.entry = ledger.admitPath(day, segment.firstPath)
    if (next.entry !== state.entry) {
      addTo(counts.entries, state.entry, -1)
      addTo(counts.entries, next.entry, 1)
    }
    next.source = segment.source ? ledger.admitValue(day, 'source', segment.source) : ''
    next.channel = segment.channel ? ledger.admitValue(day, 'channel', segment.channel) : ''
    for (const [dimension, before, after] of [
      ['source', state.source, next.source],
      ['channel', state.channel, next.channel],
    ] as const) {
      if (before === after) continue
      if (before) addTo(counts.sources, `${dimension}:${before}`, -1)
      if (after) addTo(counts.sources, `${dimension}:${after}`, 1)
    }
  }
  /* out of order or equal times: the last view is the latest one, never earlier */
  if (segment.last >= state.last) {
    next.last = segment.last
    next.exit = ledger.admitPath(day, segment.lastPath)
    if (next.exit !== state.exit) {
      addTo(counts.exits, state.exit, -1)
      addTo(counts.exits, next.exit, 1)
    }
  }
  const before = visitSeconds(state.start, state.last)
  const after = visitSeconds(next.start, next.last)
  if (after !== before) {
    counts.duration += after - before
    moveDuration(counts, before, after)
  }
  return next
}

/**
 * Applies one segment (segments of a batch in the order of their first
 * view): it continues the visitor's visit in progress when it starts less
 * than the timeout after its last view (or overlaps it), else it opens a
 * new visit. A segment that ended a timeout or more before the visit in
 * progress began (a late batch of another process) is a visit of its own
 * and leaves that visit alone. Durations never go negative.
 */
export function applyVisitSegment(ledger: VisitLedger, segment: VisitSegment): void {
  let state = ledger.getState(segment.visitor)
  if (state === undefined && segment.previous) {
    state = ledger.getState(segment.previous)
    if (state !== undefined) ledger.renameState(segment.previous, segment.visitor)
  }
  const timeout = ledger.timeoutMs
  if (state !== undefined && state.start - segment.last >= timeout) {
    openVisit(ledger, segment)
    return
  }
  if (state !== undefined && segment.first - state.last < timeout) {
    ledger.setState(segment.visitor, continueVisit(ledger, state, segment))
    return
  }
  ledger.setState(segment.visitor, openVisit(ledger, segment))
}
