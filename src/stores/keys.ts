/** The five keys of a day's visit figures (see TrackingKeys.visitFigures) */
export interface VisitKeys {
  stats: string
  durations: string
  entries: string
  exits: string
  sources: string
}

/** The visit figure keys in the order the scripts take them */
export function visitKeyList(keys: VisitKeys): string[] {
  return [keys.stats, keys.durations, keys.entries, keys.exits, keys.sources]
}

/**
 * Redis key layout. Every key carries the same hash tag `{prefix}`, so
 * multi-key commands (RENAME, PFCOUNT over days, MULTI) work on Redis Cluster:
 * all tracking keys live in one slot.
 */
export class TrackingKeys {
  readonly tag: string

  constructor(prefix: string) {
    this.tag = `{${prefix}}`
  }

  /** hash path -> views of a day, not yet flushed */
  views(day: string) {
    return `${this.tag}:views:${day}`
  }

  /** integer: views of a day, not yet flushed */
  total(day: string) {
    return `${this.tag}:total:${day}`
  }

  /**
   * set of the paths a day has admitted (at most maxPathsPerDay); unlike the
   * views hash, flushes never rename it away, so the cap holds all day
   */
  paths(day: string) {
    return `${this.tag}:paths:${day}`
  }

  /** marker of a batch already applied: a resend of the same id is a no-op */
  batch(id: string) {
    return `${this.tag}:batch:${id}`
  }

  /** HyperLogLog of a day's visitors (kept until TTL, flushes copy it) */
  visitors(day: string) {
    return `${this.tag}:uv:${day}`
  }

  /** HyperLogLog of the visitors of one minute (epoch minutes) */
  minute(epochMinute: number) {
    return `${this.tag}:rt:${epochMinute}`
  }

  /** random salt of a day for anonymous visitor hashes */
  salt(day: string) {
    return `${this.tag}:salt:${day}`
  }

  /** set of days that have live counts waiting for a flush */
  days() {
    return `${this.tag}:days`
  }

  /** hash flushId -> day of the counts taken aside and not yet confirmed */
  flushes() {
    return `${this.tag}:flushes`
  }

  /** the views hash taken aside by a flush */
  takenViews(flushId: string) {
    return `${this.tag}:flush:${flushId}:views`
  }

  /** the total taken aside by a flush */
  takenTotal(flushId: string) {
    return `${this.tag}:flush:${flushId}:total`
  }

  /** hash value -> views of one dimension on a day, not yet flushed */
  dimension(day: string, dimension: string) {
    return `${this.tag}:dim:${day}:${dimension}`
  }

  /**
   * set of the values a dimension has admitted on a day (at most
   * maxValuesPerDimension); flushes never rename it away, so the cap holds all day
   */
  dimensionValues(day: string, dimension: string) {
    return `${this.tag}:dimvals:${day}:${dimension}`
  }

  /**
   * HyperLogLog of the visitors of one dimension value on a day, not yet
   * flushed. TAKE_ASIDE builds these names in Lua: keep the layout in step
   * with dimensionVisitorsPrefix().
   */
  dimensionVisitors(day: string, dimension: string, value: string) {
    return `${this.dimensionVisitorsPrefix(day, dimension)}${value}`
  }

  /** the name of a dimension value's visitors key without the value */
  dimensionVisitorsPrefix(day: string, dimension: string) {
    return `${this.tag}:dimuv:${day}:${dimension}:`
  }

  /** a dimension's views hash taken aside by a flush */
  takenDimension(flushId: string, dimension: string) {
    return `${this.tag}:flush:${flushId}:dim:${dimension}`
  }

  /** the name of a taken-aside value's visitors key without the value */
  takenDimensionVisitorsPrefix(flushId: string, dimension: string) {
    return `${this.tag}:flush:${flushId}:dimuv:${dimension}:`
  }

  /**
   * string: the state of a visitor's visit in progress (start, last view,
   * views, entry and exit path, start day, source, channel, the minute of
   * its last write, funnel progress; packed with cmsgpack), TTL = the visit
   * timeout. WRITE_BATCH builds these names in Lua from the tag.
   */
  visit(visitorHash: string) {
    return `${this.tag}:vstate:${visitorHash}`
  }

  /**
   * The live visit figures of a start day, not yet flushed (WRITE_BATCH
   * builds these names in Lua: keep them in step): `vis` hash visits,
   * views, bounces, duration; `visdur` hash `c:<bucket>` visits and
   * `s:<bucket>` seconds; `visent` and `visexit` hash path -> visits;
   * `vissrc` hash dimensionKey -> visits
   */
  visitFigures(day: string): VisitKeys {
    return {
      stats: `${this.tag}:vis:${day}`,
      durations: `${this.tag}:visdur:${day}`,
      entries: `${this.tag}:visent:${day}`,
      exits: `${this.tag}:visexit:${day}`,
      sources: `${this.tag}:vissrc:${day}`,
    }
  }

  /** the visit figures taken aside by a flush */
  takenVisitFigures(flushId: string): VisitKeys {
    const base = `${this.tag}:flush:${flushId}`
    return {
      stats: `${base}:vis`,
      durations: `${base}:visdur`,
      entries: `${base}:visent`,
      exits: `${base}:visexit`,
      sources: `${base}:vissrc`,
    }
  }

  /**
   * HyperLogLog of the visitors of one path on a day (unique visitors per
   * page), kept until TTL like the day's visitors; flushes union it into
   * SQL. WRITE_BATCH builds these names in Lua.
   */
  pageVisitors(day: string, path: string) {
    return `${this.tag}:pguv:${day}:${path}`
  }

  /** scratch key for HyperLogLog unions */
  scratch(id: string) {
    return `${this.tag}:tmp:${id}`
  }

  /** lock held by the in-process auto flush */
  lock(name: string) {
    return `${this.tag}:lock:${name}`
  }
}
