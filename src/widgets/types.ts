import type { DimensionName } from '../dimensions/names.ts'

/**
 * Typed, presentation-free widget payloads. The selector builds them; Edge
 * components decide colors, icons and layout.
 */

/** Change against the previous period of the same length; null when the base is 0 */
export interface WidgetTrend {
  /** signed change in percent, rounded (25 for +25%) */
  percent: number
  /** "+25%", "-10%", "0%" */
  label: string
  direction: 'up' | 'down' | 'flat'
  /** the base value it was computed from */
  previous: number
}

interface WidgetBase {
  /** stable key, e.g. "trackingTotalViews" */
  key: string
  title: string
  /** window the figures cover, e.g. "last 7 days" or "today" */
  caption: string
}

/** One figure (KPI) */
export interface MetricWidgetData extends WidgetBase {
  kind: 'metric'
  value: number
  trend: WidgetTrend | null
}

/**
 * The visit duration KPI: `value` is the median visit duration in seconds
 * (its trend compares medians), `mean` the mean in seconds; one-view
 * visits count 0 in both
 */
export interface VisitDurationWidgetData extends MetricWidgetData {
  mean: number
}

/** A time series: one label per point, one or more series of equal length */
export interface ChartWidgetData extends WidgetBase {
  kind: 'chart'
  /** ISO dates (YYYY-MM-DD) of the points */
  labels: string[]
  series: Array<{ key: string; name: string; values: number[] }>
}

/** One item of a ranked list */
export interface ListWidgetItem {
  label: string
  value: number
  /** share of the total, 0..1 */
  share: number
  /** distinct visitors of the item over the range (dimension breakdowns, top pages) */
  visitors?: number
}

/** A ranked list such as top pages or the values of a dimension */
export interface ListWidgetData extends WidgetBase {
  kind: 'list'
  items: ListWidgetItem[]
  /** the dimension a breakdown lists (absent on top pages) */
  dimension?: DimensionName
}

/** Rows of a table, with its columns and pagination */
export interface TableWidgetData extends WidgetBase {
  kind: 'table'
  columns: Array<{ key: string; label: string }>
  rows: Array<Record<string, string | number>>
  page: number
  perPage: number
  /** rows across all pages */
  total: number
}

export type WidgetData = MetricWidgetData | ChartWidgetData | ListWidgetData | TableWidgetData

/** A closed range of calendar days in the tracking timezone */
export interface AnalyticsRange {
  /** first day, YYYY-MM-DD */
  from: string
  /** last day, YYYY-MM-DD (inclusive) */
  to: string
  /** number of days */
  days: number
}

/** What getAnalyticsContext returns: the analytics page and dashboard read it */
export interface AnalyticsContext {
  range: AnalyticsRange
  /** the previous range of equal length, used for the trends */
  previousRange: AnalyticsRange
  trackingTotalViews: MetricWidgetData
  trackingUniqueVisitors: MetricWidgetData
  trackingTrackedPages: MetricWidgetData
  trackingViewsChart: ChartWidgetData
  trackingTopPages: ListWidgetData
  trackingRecentPageViews: TableWidgetData
  /** distinct visitors of the last 5 minutes */
  realtimeVisitors: number
  /**
   * The one dimension value the figures are narrowed to (`?filter=`), or
   * null. It narrows trackingTotalViews, trackingUniqueVisitors and
   * trackingViewsChart (and their trends), and its own dimension's list;
   * not top pages, tracked pages, the table, other lists or realtime.
   */
  filter?: { dimension: DimensionName; value: string } | null
  /* dimension breakdowns: always set by the selector; optional so custom loaders stay valid */
  /** source (registrable domain of the referrer, or utm_source/ref/source) */
  trackingSources?: ListWidgetData
  trackingChannels?: ListWidgetData
  /** utm_campaign */
  trackingCampaigns?: ListWidgetData
  trackingUtmSources?: ListWidgetData
  trackingUtmMediums?: ListWidgetData
  trackingUtmTerms?: ListWidgetData
  trackingUtmContents?: ListWidgetData
  trackingBrowsers?: ListWidgetData
  trackingBrowserVersions?: ListWidgetData
  trackingOperatingSystems?: ListWidgetData
  trackingOsVersions?: ListWidgetData
  trackingDevices?: ListWidgetData
  trackingCountries?: ListWidgetData
  trackingLanguages?: ListWidgetData
  /* visits: always set by the selector; optional so custom loaders stay valid */
  /** visits of the range (each counted on the day it started) */
  trackingVisits?: MetricWidgetData
  /** views per visit (2 decimals) */
  trackingViewsPerVisit?: MetricWidgetData
  /** one-view visits, in percent 0..100 (1 decimal) */
  trackingBounceRate?: MetricWidgetData
  /** median visit duration in seconds, mean in `mean` */
  trackingVisitDuration?: VisitDurationWidgetData
  /** pages visits entered at: `value` = visits, `share` of all visits */
  trackingEntryPages?: ListWidgetData
  /** pages visits left from: `value` = visits, `share` of all visits */
  trackingExitPages?: ListWidgetData
}
