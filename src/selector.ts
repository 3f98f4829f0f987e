import { DateTime } from 'luxon'
import type { QueryClientContract } from '@adonisjs/lucid/types/database'
import { DIMENSIONS, isDimension, type DimensionName } from './dimensions/names.ts'
import { E_TRACKING_INVALID_FILTER } from './errors.ts'
import { daysOf, parseDay, previousRange, resolveRange } from './ranges.ts'
import {
  breakdowns,
  filteredFigures,
  liveDimensions,
  type DimensionBreakdown,
} from './read/dimensions.ts'
import { EVENT_READ_DIMENSIONS, readEvents, readGoals } from './read/events.ts'
import { FUNNEL_READ_DIMENSIONS, readFunnels } from './read/funnels.ts'
import { resolveFilter, type FilterInput } from './read/filter.ts'
import { exportRows } from './read/export.ts'
import { liveDays, liveIndex } from './read/live.ts'
import { figuresOf, loadRange, viewsPerDay } from './read/load.ts'
import { rank } from './read/rank.ts'
import { rangeRows, storedDays } from './read/sql.ts'
import { matchingPaths } from './read/tracked_pages.ts'
import type {
  PageCount,
  RangeComparison,
  RangeFigures,
  RankedPage,
  ReadScope,
} from './read/types.ts'
import { unionVisitors, visitorsPerDay, type VisitorBounds } from './read/visitors.ts'
import {
  pageVisitors,
  rangeVisitCounts,
  rangeVisits,
  visitFigures,
  type RangeVisits,
} from './read/visits.ts'
import type { TrackingStore } from './stores/types.ts'
import type { TrackingSettings } from './types.ts'
import { buildAnalyticsContext } from './widgets/analytics_context.ts'
import { buildTrend, rangeCaption } from './widgets/builders.ts'
import { breakdownWidget } from './widgets/dimensions.ts'
import { eventsWidget, goalsWidget } from './widgets/events.ts'
import { funnelsWidget } from './widgets/funnels.ts'
import type {
  AnalyticsContext,
  AnalyticsRange,
  EventsWidgetData,
  FunnelsWidgetData,
  GoalsWidgetData,
  ListWidgetData,
} from './widgets/types.ts'

export { MAX_RANGE_DAYS, daysOf, previousRange } from './ranges.ts'
export { comparePaths } from './tables.ts'
export type { PageCount, RangeComparison, RangeFigures, RankedPage } from './read/types.ts'
export type { DimensionBreakdown, DimensionRow } from './read/dimensions.ts'
export type { DimensionFilter, FilterInput } from './read/filter.ts'
export type { VisitorBounds } from './read/visitors.ts'
export type { EventRow, EventsRead, GoalRow } from './read/events.ts'
export type { FunnelRow, FunnelStepRow } from './read/funnels.ts'
export type { RangeVisits, VisitFigures, VisitPage, VisitSource } from './read/visits.ts'

/** Rows of the page-views table: default and largest page size */
export const DEFAULT_PER_PAGE = 25
export const MAX_PER_PAGE = 100

/** Rows of exportPages unless a limit is given (the CSV export's cap) */
export const MAX_EXPORT_ROWS = 50_000

/** Top pages shown by the analytics context */
export const DEFAULT_TOP_LIMIT = 10

/** Values of each dimension list in the analytics context (and of breakdown) */
export const DEFAULT_BREAKDOWN_LIMIT = 10

/** What the selector reads from the manager (the TrackingManager satisfies it) */
export interface SelectorSource {
  readonly settings: TrackingSettings
  readonly store: TrackingStore
  readonly recorder?: { dayOf(epochMs: number): string }
}

/** What the selector needs from Lucid: the `db` service (or any Database) */
export interface SelectorDatabase {
  connection(name?: string): QueryClientContract
}

export interface SelectorOptions {
  /** Lucid connection name (default: the app's default connection) */
  connection?: string
  /** Clock, in epoch ms (tests) */
  now?: () => number
}

/**
 * A range as callers give it: a number of days ending today, or the first
 * and last day (inclusive, YYYY-MM-DD). `days`, when given, is recomputed.
 */
export type RangeInput = number | { from: string; to: string; days?: number }

/** Options of the page-views table */
export interface TableOptions {
  /** 1-based page (default 1) */
  page?: number
  /** rows per page (default 25, at most 100) */
  perPage?: number
  /** case-insensitive part of the path */
  search?: string
}

/** Options of getAnalyticsContext */
export interface ContextOptions extends TableOptions {
  /** top pages listed (default 10) */
  topLimit?: number
  /** values of each dimension list (default 10) */
  breakdownLimit?: number
  /** narrows the views, visitors, chart and trends (see AnalyticsContext.filter) */
  filter?: FilterInput
}

/** Events listed by the analytics context, and values of each of their prop keys */
export const DEFAULT_EVENT_LIMIT = 10

/** Options of events */
export interface EventOptions {
  /** event names listed, the most counted first (default 10) */
  limit?: number
  /** values listed per prop key, and pages per event (default 10) */
  valueLimit?: number
}

/** Options of breakdown and breakdowns */
export interface BreakdownOptions {
  /** values listed (default 10) */
  limit?: number
  /** on the listed dimension: only that value; on another one: no effect (no cross-tabs) */
  filter?: FilterInput
}

/** Options of visits */
export interface VisitOptions {
  /** entry pages, exit pages, sources and channels listed (default 10) */
  limit?: number
}

/** Options of exportPages */
export interface ExportOptions {
  /** case-insensitive part of the path */
  search?: string
  /** rows at most (default 50,000, MAX_EXPORT_ROWS) */
  limit?: number
}

/**
 * The read side of the package: merges the page views flushed to SQL with
 * the live counts of the store and turns them into widget payloads.
 *
 * - A path's views on a day = its SQL row + the live counts not yet
 *   flushed + the counts a running flush has taken aside and not committed.
 * - Paths under the current `skipPrefixes` are hidden from every read (SQL
 *   rows and live counts, lists and totals), even when they were recorded
 *   before the prefix was added.
 * - Ranked reads order by views desc, then path asc (code point order).
 * - Unique visitors of a range are the HyperLogLog union of the stored
 *   sketches and the live visitors, never a sum of days.
 * - Tracked pages (distinct paths) of a range are the union of the days'
 *   path sketches and the live paths: exact up to 2,048 paths, an estimate
 *   about 1% off beyond (src/stores/path_sketch.ts). Views, totals and
 *   ranked pages are always exact; a table page near the end of an
 *   estimated count gets the exact count.
 *
 * The work is done by src/read/* (SQL pieces, live counts, ranking,
 * tracked pages, visitors) and src/widgets/analytics_context.ts.
 * Bound to the container as `tracking.selector` (see src/bindings.ts).
 */
export class TrackingSelector {
  readonly #source: SelectorSource
  readonly #db: SelectorDatabase
  readonly #options: SelectorOptions

  constructor(source: SelectorSource, db: SelectorDatabase, options: SelectorOptions = {}) {
    this.#source = source
    this.#db = db
    this.#options = options
  }

  /** The settings are read on every call: a swapped manager is seen at once */
  get settings(): TrackingSettings {
    return this.#source.settings
  }

  /** One read's connection, settings and store */
  #scope(): ReadScope {
    return {
      client: this.#db.connection(this.#options.connection),
      settings: this.settings,
      store: this.#source.store,
    }
  }

  /** Today in the tracking timezone (the recorder's day) */
  today(): string {
    const now = this.#options.now?.() ?? Date.now()
    if (this.#source.recorder) return this.#source.recorder.dayOf(now)
    return DateTime.fromMillis(now, { zone: this.settings.timezone }).toISODate()!
  }

  /**
   * Validates a range: real days, from <= to, at most 366 days. A number
   * is that many days ending today; nothing is `analyticsDays` ending today.
   */
  resolveRange(input?: RangeInput): AnalyticsRange {
    return resolveRange(input ?? this.settings.analyticsDays, this.today())
  }

  /* -------------------------------------------------------------------------
   | Public reads
   */

  /** Views of every path of a day: SQL rows + live counts, skipped paths hidden */
  async dailyCounts(day: string): Promise<Map<string, number>> {
    const range = this.resolveRange({ from: day, to: day })
    const scope = this.#scope()
    const [rows, live] = await Promise.all([
      rangeRows(scope, range).select('path', 'views') as Promise<
        Array<{ path: string; views: unknown }>
      >,
      liveIndex(scope).then((index) => liveDays(scope, range, index)),
    ])
    const out = new Map<string, number>()
    for (const row of rows) out.set(row.path, Number(row.views ?? 0))
    for (const [path, views] of live.get(range.from) ?? [])
      out.set(path, (out.get(path) ?? 0) + views)
    return out
  }

  /** The most viewed paths of a day */
  async topPages(day: string, limit = DEFAULT_TOP_LIMIT): Promise<PageCount[]> {
    return this.topPagesForRange({ from: day, to: day }, limit)
  }

  /** The most viewed paths of a range (views summed over its days) */
  async topPagesForRange(input: RangeInput, limit = DEFAULT_TOP_LIMIT): Promise<PageCount[]> {
    const ranked = await this.pagesForRange(input, { page: 1, perPage: limit })
    return ranked.rows
  }

  /**
   * One page of the paths of a range ranked by views, with the number of
   * matching paths (see the class about estimates). `perPage` is not capped
   * here (the table caps it).
   */
  async pagesForRange(input: RangeInput, options: TableOptions = {}): Promise<RankedPage> {
    const range = this.resolveRange(input)
    const page = Math.max(1, Math.floor(options.page ?? 1))
    const perPage = Math.max(0, Math.floor(options.perPage ?? DEFAULT_PER_PAGE))
    const search = (options.search ?? '').trim()
    const scope = this.#scope()
    const loaded = await loadRange(scope, range, await liveIndex(scope), search === '')
    const [rows, total] = await Promise.all([
      rank(scope, loaded, { offset: (page - 1) * perPage, limit: perPage, search }),
      matchingPaths(scope, loaded, search, page * perPage),
    ])
    return { rows, total }
  }

  /**
   * Every path of a range ranked by views (the order and views of
   * pagesForRange), search applied, up to `limit` rows: what the CSV
   * export writes. The rows are read once (see src/read/export.ts); the
   * returned iterable only walks them.
   */
  async exportPages(input: RangeInput, options: ExportOptions = {}): Promise<Iterable<PageCount>> {
    const range = this.resolveRange(input)
    const search = (options.search ?? '').trim()
    const limit = Math.min(2 ** 31 - 1, Math.max(0, Math.floor(options.limit ?? MAX_EXPORT_ROWS)))
    const scope = this.#scope()
    return exportRows(scope, range, await liveIndex(scope), search, limit)
  }

  /** Distinct visitors of a day (stored sketch and live visitors) */
  async uniqueVisitors(day: string): Promise<number> {
    return this.uniqueVisitorsForRange({ from: day, to: day })
  }

  /**
   * Distinct visitors of a range: the union of its days, not a sum. Days
   * with a daily count only (imported) cannot be combined: then it is the
   * least the range has (see uniqueVisitorBounds)
   */
  async uniqueVisitorsForRange(input: RangeInput): Promise<number> {
    const bounds = await this.uniqueVisitorBounds(input)
    return bounds.value
  }

  /**
   * Distinct visitors of a range, with `upTo` (the most it can be) when
   * days with daily counts only make `value` a lower bound; `upTo` is null
   * when `value` is exact
   */
  async uniqueVisitorBounds(input: RangeInput): Promise<VisitorBounds> {
    const range = this.resolveRange(input)
    const scope = this.#scope()
    return unionVisitors(scope.store, range, await storedDays(scope.client, range))
  }

  /** Views of a day, skipped paths excluded */
  async totalViews(day: string): Promise<number> {
    return this.totalViewsForRange({ from: day, to: day })
  }

  /** Views of a range, skipped paths excluded */
  async totalViewsForRange(input: RangeInput): Promise<number> {
    const totals = await this.#dayTotals(this.resolveRange(input))
    return totals.reduce((sum, views) => sum + views, 0)
  }

  /** Views of several days (any order, duplicates kept once): day -> views */
  async multiDayTotals(days: string[]): Promise<Map<string, number>> {
    const asked = days.map((day) => parseDay(day, 'day'))
    const unique = [...new Set(asked)].sort()
    if (unique.length === 0) return new Map()
    const span = this.resolveRange({ from: unique[0], to: unique[unique.length - 1] })
    const totals = await this.#dayTotals(span)
    const out = new Map(daysOf(span).map((day, i) => [day, totals[i]]))
    return new Map(days.map((day, i) => [day, out.get(asked[i]) ?? 0]))
  }

  async #dayTotals(range: AnalyticsRange): Promise<number[]> {
    const scope = this.#scope()
    return viewsPerDay(await loadRange(scope, range, await liveIndex(scope), false))
  }

  /** Distinct paths with views in a range (an estimate beyond 2,048 paths, see the class) */
  async trackedPagesForRange(input: RangeInput): Promise<number> {
    const ranked = await this.pagesForRange(input, { perPage: 0 })
    return ranked.total
  }

  /**
   * The top values of a dimension over a range (views summed over its
   * days, SQL + live, exact), as the list widget of the analytics page:
   * `label` = value, `value` = views, `share` of the dimension's views,
   * `visitors` = distinct visitors of the value over the range
   */
  async breakdown(
    dimension: DimensionName,
    input?: RangeInput,
    options: BreakdownOptions = {}
  ): Promise<ListWidgetData> {
    const range = this.resolveRange(input)
    const lists = await this.breakdowns([dimension], range, options)
    return breakdownWidget(lists.get(dimension)!, rangeCaption(range, this.today()))
  }

  /** The top values of several dimensions over a range (one SQL query; what the CSV writes) */
  async breakdowns(
    dimensions: readonly DimensionName[],
    input?: RangeInput,
    options: BreakdownOptions = {}
  ): Promise<Map<DimensionName, DimensionBreakdown>> {
    for (const name of dimensions) {
      if (!isDimension(name)) throw new E_TRACKING_INVALID_FILTER([`unknown dimension "${name}"`])
    }
    const range = this.resolveRange(input)
    const scope = this.#scope()
    const limit = Math.max(0, Math.floor(options.limit ?? DEFAULT_BREAKDOWN_LIMIT))
    const filter = resolveFilter(options.filter)
    return breakdowns(scope, range, await liveIndex(scope), dimensions, { limit, filter })
  }

  /**
   * The events sent from server code over a range (`tracking.event()`),
   * SQL + live: the most counted names with their count (completions),
   * distinct visitors, props (per key, its values with their counts) and
   * pages, as the trackingEvents list of the analytics context
   */
  async events(input?: RangeInput, options: EventOptions = {}): Promise<EventsWidgetData> {
    const range = this.resolveRange(input)
    const scope = this.#scope()
    const read = await readEvents(scope, range, await liveIndex(scope), {
      limit: Math.max(0, Math.floor(options.limit ?? DEFAULT_EVENT_LIMIT)),
      valueLimit: Math.max(0, Math.floor(options.valueLimit ?? DEFAULT_EVENT_LIMIT)),
    })
    return eventsWidget(read, rangeCaption(range, this.today()))
  }

  /**
   * Every goal of the config over a range, in config order: distinct
   * visitors who completed it, completions, conversion rate (completing
   * visitors / unique visitors of the range, in percent) and the trend of
   * its conversions against the previous range; event goals with their
   * event's props. The trackingGoals list of the analytics context.
   */
  async goals(
    input?: RangeInput,
    options: Pick<EventOptions, 'valueLimit'> = {}
  ): Promise<GoalsWidgetData> {
    const range = this.resolveRange(input)
    const before = previousRange(range)
    const scope = this.#scope()
    const index = await liveIndex(scope)
    const goals = this.settings.goals ?? []
    /* the least that is known where imported days have daily counts only */
    const visitorsOf = async (one: AnalyticsRange) => {
      const bounds = await unionVisitors(scope.store, one, await storedDays(scope.client, one))
      return bounds.value
    }
    const [uniqueVisitors, previousVisitors, read] = await Promise.all([
      visitorsOf(range),
      visitorsOf(before),
      goals.some((goal) => goal.event !== null)
        ? readEvents(scope, range, index, {
            limit: 0,
            valueLimit: Math.max(0, Math.floor(options.valueLimit ?? DEFAULT_EVENT_LIMIT)),
          })
        : null,
    ])
    const rows = await readGoals(
      scope,
      index,
      goals,
      { range, uniqueVisitors },
      { range: before, uniqueVisitors: previousVisitors }
    )
    return goalsWidget(rows, read?.props ?? null, rangeCaption(range, this.today()))
  }

  /**
   * Every funnel of the config over a range, in config order (SQL + live):
   * per step (a goal) the distinct visitors whose visit reached it in
   * order (the union of the days' sketches, never a sum), the visits that
   * did, the drop-off from the previous step and the conversion rate from
   * the first one, in percent. A visit counts on the day it started. The
   * trackingFunnels widgets of the analytics context.
   */
  async funnels(input?: RangeInput): Promise<FunnelsWidgetData> {
    const range = this.resolveRange(input)
    const scope = this.#scope()
    const rows = await readFunnels(
      scope,
      range,
      await liveIndex(scope),
      this.settings.funnels ?? []
    )
    return funnelsWidget(rows, rangeCaption(range, this.today()))
  }

  /**
   * The visits of a range (SQL + live, like the page views): visits, views
   * per visit, bounce rate (percent), median and mean visit duration
   * (seconds, one-view visits count 0), the top entry and exit pages and
   * the top sources and channels of visits (value = visits). Every figure
   * of a visit counts on the day it started; visits still in progress
   * are counted with what they have so far.
   */
  async visits(input?: RangeInput, options: VisitOptions = {}): Promise<RangeVisits> {
    const range = this.resolveRange(input)
    const scope = this.#scope()
    const limit = Math.max(0, Math.floor(options.limit ?? DEFAULT_TOP_LIMIT))
    return rangeVisits(scope, range, await liveIndex(scope), { limit })
  }

  /**
   * Distinct visitors of some paths over a range (who viewed each path at
   * least once; a HyperLogLog union of its days, SQL + live): path ->
   * visitors, at most 500 paths
   */
  async pageVisitors(input: RangeInput, paths: readonly string[]): Promise<Map<string, number>> {
    const range = this.resolveRange(input)
    const scope = this.#scope()
    const loaded = await loadRange(scope, range, await liveIndex(scope), false)
    return pageVisitors(scope, range, paths, loaded.live)
  }

  /** Distinct visitors of the last `minutes` minutes */
  async realtimeVisitors(minutes = 5): Promise<number> {
    return this.#source.store.realtimeVisitors(minutes)
  }

  /** The figures of a range and of the previous range of equal length */
  async compare(input?: RangeInput): Promise<RangeComparison> {
    const range = this.resolveRange(input)
    const scope = this.#scope()
    const index = await liveIndex(scope)
    const [current, previous] = await Promise.all(
      [range, previousRange(range)].map(async (one) =>
        figuresOf(scope, await loadRange(scope, one, index))
      )
    )
    const strip = ({ viewsPerDay: _, ...figures }: RangeFigures & { viewsPerDay: number[] }) =>
      figures as RangeFigures
    return {
      current: strip(current),
      previous: strip(previous),
      trends: {
        totalViews: buildTrend(current.totalViews, previous.totalViews),
        uniqueVisitors: buildTrend(current.uniqueVisitors, previous.uniqueVisitors),
        trackedPages: buildTrend(current.trackedPages, previous.trackedPages),
      },
    }
  }

  /**
   * Every widget of the analytics page and dashboard for a range (default:
   * `analyticsDays` ending today), compared with the previous range of the
   * same length. The page-views table is paginated and searchable.
   */
  async getAnalyticsContext(
    input?: RangeInput,
    options: ContextOptions = {}
  ): Promise<AnalyticsContext> {
    const range = this.resolveRange(input)
    const page = Math.max(1, Math.floor(Number(options.page) || 1))
    const perPage = Math.min(
      MAX_PER_PAGE,
      Math.max(1, Math.floor(Number(options.perPage) || DEFAULT_PER_PAGE))
    )
    const search = String(options.search ?? '').trim()
    const topLimit = Math.max(1, Math.floor(options.topLimit ?? DEFAULT_TOP_LIMIT))
    const limit = Math.max(1, Math.floor(options.breakdownLimit ?? DEFAULT_BREAKDOWN_LIMIT))
    const filter = resolveFilter(options.filter)
    const scope = this.#scope()

    const index = await liveIndex(scope)
    const before = previousRange(range)
    const funnels = this.settings.funnels ?? []
    const [loaded, loadedPrevious, eventsLive, eventsLivePrevious] = await Promise.all([
      loadRange(scope, range, index),
      loadRange(scope, before, index),
      /* the funnels' steps are read with the events of the range, when there are funnels */
      liveDimensions(
        scope,
        range,
        index,
        funnels.length > 0
          ? [...EVENT_READ_DIMENSIONS, ...FUNNEL_READ_DIMENSIONS]
          : EVENT_READ_DIMENSIONS
      ),
      liveDimensions(scope, before, index, EVENT_READ_DIMENSIONS),
    ])
    /* without a search, one ranking serves the top pages and the table page */
    const firstRows = search === '' ? Math.max(topLimit, page * perPage) : topLimit
    const figures = Promise.all([figuresOf(scope, loaded), figuresOf(scope, loadedPrevious)])
    /* the conversion rates are of the range's unique visitors, never narrowed by a filter */
    const goals = figures.then(([now, earlier]) =>
      readGoals(
        scope,
        index,
        this.settings.goals ?? [],
        { range, uniqueVisitors: now.uniqueVisitors, live: eventsLive },
        { range: before, uniqueVisitors: earlier.uniqueVisitors, live: eventsLivePrevious }
      )
    )
    const [
      [current, previous],
      perDay,
      ranked,
      realtime,
      lists,
      narrowed,
      narrowedPrevious,
      events,
      goalRows,
      funnelRows,
      visits,
      visitsPrevious,
    ] = await Promise.all([
      figures,
      filter ? [] : visitorsPerDay(scope.store, range, loaded.stored, index),
      rank(scope, loaded, { offset: 0, limit: firstRows, search: '' }),
      scope.store.realtimeVisitors(5),
      breakdowns(scope, range, index, DIMENSIONS, { limit, filter }),
      filter && filteredFigures(scope, range, index, filter),
      filter && filteredFigures(scope, before, index, filter, false),
      readEvents(scope, range, index, {
        limit: DEFAULT_EVENT_LIMIT,
        valueLimit: DEFAULT_EVENT_LIMIT,
        live: eventsLive,
      }),
      goals,
      readFunnels(scope, range, index, funnels, eventsLive),
      rangeVisits(scope, range, index, { limit: topLimit }),
      rangeVisitCounts(scope, before, index),
    ])

    const offset = (page - 1) * perPage
    const top = ranked.slice(0, topLimit)
    const [rows, total, topVisitors] = await Promise.all([
      search === ''
        ? ranked.slice(offset, offset + perPage)
        : rank(scope, loaded, { offset, limit: perPage, search }),
      matchingPaths(scope, loaded, search, search === '' ? page * perPage : 0),
      pageVisitors(
        scope,
        range,
        top.map((row) => row.path),
        loaded.live
      ),
    ])
    return buildAnalyticsContext({
      today: this.today(),
      current,
      previous,
      visitorsPerDay: perDay,
      top: top.map((row) => ({ ...row, visitors: topVisitors.get(row.path) ?? 0 })),
      table: { rows, total, page, perPage },
      realtimeVisitors: realtime,
      breakdowns: lists,
      filter: filter && { ...filter, current: narrowed!, previous: narrowedPrevious! },
      events,
      goals: goalRows,
      funnels: funnelRows,
      visits: { current: visits, previous: visitFigures(visitsPrevious.counts) },
    })
  }
}
