import type { DimensionName } from '../dimensions/names.ts'
import type { FunnelStepRow } from '../read/funnels.ts'

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
  /**
   * Present (true) only when `value` is a lower bound: unique visitors of a
   * range whose days include daily counts without sketch (imported days)
   * that cannot be combined. `value` is then what is known for sure (the
   * larger of the sketches' union and the largest daily count) and `upTo`
   * the most it can be (their sum)
   */
  atLeast?: true
  upTo?: number
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
  /**
   * Present (true) only when `visitors` is a lower bound, as
   * MetricWidgetData.atLeast: the value's days include daily counts without
   * sketch; `visitorsUpTo` is the most it can be
   */
  visitorsAtLeast?: true
  visitorsUpTo?: number
  /** change of the item against the previous range (goals: their conversions) */
  trend?: WidgetTrend | null
}

/** A ranked list such as top pages or the values of a dimension */
export interface ListWidgetData extends WidgetBase {
  kind: 'list'
  items: ListWidgetItem[]
  /** the dimension a breakdown lists (absent on top pages) */
  dimension?: DimensionName
  /** what an item's `value` counts, for the list's words (default "views") */
  unit?: string
}

/** One value of an event prop and the events that carried it */
export interface EventPropCount {
  value: string
  count: number
}

/** One page an event happened on, with its events */
export interface EventPageCount {
  path: string
  count: number
}

/**
 * One event name of trackingEvents, as a list item (`label` = the name,
 * `value` = its count, `share` of all events, `visitors`)
 */
export interface EventWidgetItem extends ListWidgetItem {
  name: string
  /** events of that name over the range (completions) */
  count: number
  /** distinct visitors who sent it */
  visitors: number
  /** per prop key, its values with their counts (most counted first) */
  props: Record<string, EventPropCount[]>
  /** the pages it happened on (most counted first) */
  pages: EventPageCount[]
}

/** The events of a range (trackingEvents): a list widget whose items carry their props */
export interface EventsWidgetData extends ListWidgetData {
  items: EventWidgetItem[]
  /**
   * Events counted with a prop value beyond the day's cap of distinct
   * (event, key, value) triples (maxValuesPerDimension): their values count
   * as "(other)", which belongs to no event
   */
  otherProps: number
  /** the same for the (event, page) pairs */
  otherPages: number
}

/**
 * One goal of trackingGoals, as a list item: `label` = the name, `value` =
 * completions, `visitors` = the visitors who completed it, `share` = the
 * conversion rate as 0..1, `trend` = conversions against the previous range
 */
export interface GoalWidgetItem extends ListWidgetItem {
  name: string
  /** an event goal or a path goal */
  kind: 'event' | 'path'
  /** the event name, or the path pattern */
  target: string
  /** distinct visitors who completed it over the range */
  visitors: number
  /** events (event goal) or views of matching paths (path goal) over the range */
  completions: number
  /** completing visitors / unique visitors of the range, in percent (one decimal) */
  conversionRate: number
  /** the same figures over the previous range */
  previous: { visitors: number; completions: number; conversionRate: number }
  trend: WidgetTrend | null
  /** event goals: the event's props, per key its values with their counts */
  props?: Record<string, EventPropCount[]>
}

/** The goals of the config over a range (trackingGoals), in config order */
export interface GoalsWidgetData extends ListWidgetData {
  items: GoalWidgetItem[]
}

/**
 * One step of a funnel of trackingFunnels, as a list item: `label` = the
 * goal's name, `value` = the visitors who reached it, `share` = their part
 * of the first step's visitors (0..1, the bar); the step's figures as
 * FunnelStepRow (src/read/funnels.ts)
 */
export interface FunnelStepItem extends ListWidgetItem, Omit<FunnelStepRow, 'visitors'> {
  /** distinct visitors whose visit reached the step over the range */
  visitors: number
}

/**
 * One funnel of the config, as a list widget of its steps in order
 * (`@!tracking.list({ data })` or `@!tracking.funnel({ data })` render it)
 */
export interface FunnelWidgetData extends ListWidgetData {
  items: FunnelStepItem[]
  name: string
  /** visitors who reached the first step */
  visitors: number
  /** percent of them who reached the last step (one decimal) */
  conversionRate: number
}

/** The funnels of the config over a range (trackingFunnels), in config order */
export interface FunnelsWidgetData extends WidgetBase {
  kind: 'funnels'
  funnels: FunnelWidgetData[]
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
  /* events and goals: always set by the selector; optional so custom loaders stay valid */
  /** every goal of the config: visitors who completed it, completions, conversion rate, trend */
  trackingGoals?: GoalsWidgetData
  /** the most counted events: count, visitors, props and pages of each */
  trackingEvents?: EventsWidgetData
  /** every funnel of the config: per step its visitors, visits, drop-off and conversion rate */
  trackingFunnels?: FunnelsWidgetData
  /* visits: always set by the selector; optional so custom loaders stay valid */
  /** visits of the range (each counted on the day it started) */
  trackingVisits?: MetricWidgetData
  /** views per visit (2 decimals) */
  trackingViewsPerVisit?: MetricWidgetData
  /** one-view visits, in percent 0..100 (1 decimal) */
  trackingBounceRate?: MetricWidgetData
  /** median visit duration in seconds, mean in `mean` */
  trackingVisitDuration?: VisitDurationWidgetData
  /** pages visits entered at: `value` = visits, `share` of all visits, `unit` "visits" */
  trackingEntryPages?: ListWidgetData
  /** pages visits left from: `value` = visits, `share` of all visits, `unit` "visits" */
  trackingExitPages?: ListWidgetData
}
