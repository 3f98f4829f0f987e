import type { QueryClientContract } from '@adonisjs/lucid/types/database'
import type { TakenFlush, TrackingStore } from '../stores/types.ts'
import type { TrackingSettings } from '../types.ts'
import type { AnalyticsRange, WidgetTrend } from '../widgets/types.ts'

/** A path and its views */
export interface PageCount {
  path: string
  views: number
}

/** The headline figures of a range */
export interface RangeFigures {
  range: AnalyticsRange
  totalViews: number
  /** distinct visitors; "at least" this many when uniqueVisitorsUpTo is set */
  uniqueVisitors: number
  /**
   * Set only when days of the range have daily visitor counts without a
   * sketch (imported days) that cannot be combined: the most the range can
   * have (see src/read/visitors.ts, VisitorBounds)
   */
  uniqueVisitorsUpTo?: number
  trackedPages: number
}

/** A range, the previous range of equal length, and the trends between them */
export interface RangeComparison {
  current: RangeFigures
  previous: RangeFigures
  trends: {
    totalViews: WidgetTrend | null
    uniqueVisitors: WidgetTrend | null
    trackedPages: WidgetTrend | null
  }
}

/** A page of ranked paths and the number of paths across all pages */
export interface RankedPage {
  rows: PageCount[]
  total: number
}

/** What one read works with: a connection, the current settings and the store */
export interface ReadScope {
  client: QueryClientContract
  settings: Pick<TrackingSettings, 'skipPrefixes'>
  store: TrackingStore
}

/** A stored day (tracking_daily_stats) */
export interface StoredDay {
  views: number
  uniqueVisitors: number
  sketch: Buffer | null
  /** the day's path sketch, when it was asked for and stored */
  paths: Buffer | null
}

/**
 * Where the live counts are: days with counts waiting for a flush and the
 * counts a running (or crashed) flush took aside but SQL has not committed
 */
export interface LiveIndex {
  pendingDays: Set<string>
  uncommitted: TakenFlush[]
}

/** Live counts of the days of a range: day -> path -> views (skipped paths removed) */
export type LiveDays = Map<string, Map<string, number>>

/** Distinct paths of a range and whether the count is exact (not a HyperLogLog estimate) */
export interface TrackedPages {
  total: number
  exact: boolean
}

/** What one read loads for a range before it ranks or counts */
export interface LoadedRange {
  range: AnalyticsRange
  stored: Map<string, StoredDay>
  skipped: Map<string, number>
  live: LiveDays
  /** distinct paths (no search), counted once */
  trackedPages?: Promise<TrackedPages>
}
