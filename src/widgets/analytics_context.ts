import debug from '../debug.ts'
import { daysOf } from '../ranges.ts'
import type { PageCount, RangeFigures } from '../read/types.ts'
import {
  chartWidget,
  listWidget,
  metricWidget,
  previousCaption,
  rangeCaption,
  tableWidget,
} from './builders.ts'
import type { DimensionName } from '../dimensions/names.ts'
import type { DimensionBreakdown, FilteredFigures } from '../read/dimensions.ts'
import type { DimensionFilter } from '../read/filter.ts'
import type { EventsRead, GoalRow } from '../read/events.ts'
import type { FunnelRow } from '../read/funnels.ts'
import type { RangeVisits, VisitFigures } from '../read/visits.ts'
import { breakdownWidget, DIMENSION_WIDGETS } from './dimensions.ts'
import { eventsWidget, goalsWidget } from './events.ts'
import { funnelsWidget } from './funnels.ts'
import type { AnalyticsContext, AnalyticsRange, ListWidgetData } from './types.ts'

/** The columns of the page-views table and of its CSV export */
export const PAGE_COLUMNS = Object.freeze([
  Object.freeze({ key: 'path', label: 'Path' }),
  Object.freeze({ key: 'views', label: 'Views' }),
])

/** The figures the analytics page and dashboard show, as the selector computed them */
export interface AnalyticsFigures {
  /** today in the tracking timezone (for the captions) */
  today: string
  current: RangeFigures & { viewsPerDay: number[] }
  /** the previous range of equal length */
  previous: RangeFigures
  visitorsPerDay: number[]
  /** top pages, with their distinct visitors over the range when known */
  top: Array<PageCount & { visitors?: number }>
  table: { rows: PageCount[]; total: number; page: number; perPage: number }
  realtimeVisitors: number
  /** the top values of every dimension */
  breakdowns?: Map<DimensionName, DimensionBreakdown>
  /**
   * A filter and its figures: they replace the views, visitors and chart of
   * both ranges (the stored data has no cross-tabs: the rest is not narrowed)
   */
  filter?: (DimensionFilter & { current: FilteredFigures; previous: FilteredFigures }) | null
  /** the events of the range (not narrowed by a filter) */
  events?: EventsRead
  /** the goals of the config over the range and the previous one (not narrowed) */
  goals?: GoalRow[]
  /** the funnels of the config over the range (not narrowed) */
  funnels?: FunnelRow[]
  /** the visits of the range and the figures of the previous range (never narrowed by a filter) */
  visits?: { current: RangeVisits; previous: VisitFigures }
}

/** The widget payloads of the analytics page and dashboard (AnalyticsContext) */
export function buildAnalyticsContext(figures: AnalyticsFigures): AnalyticsContext {
  const { today, table, filter } = figures
  /* the pages' figures: top pages, tracked pages and their shares are not narrowed */
  const pages = figures.current
  const current = filter ? { ...pages, ...filter.current.figures } : pages
  const previous = filter ? { ...figures.previous, ...filter.previous.figures } : figures.previous
  const visitorsPerDay = filter ? filter.current.visitorsPerDay : figures.visitorsPerDay
  const range: AnalyticsRange = current.range
  const caption = rangeCaption(range, today)
  const compared = previousCaption(previous.range, today)
  debug('analytics context %s..%s (vs %s)', range.from, range.to, compared)
  const metric = (
    key: string,
    title: string,
    field: 'totalViews' | 'uniqueVisitors' | 'trackedPages',
    upTo?: number
  ) => metricWidget({ key, title, caption, value: current[field], previous: previous[field], upTo })
  /* the narrowed figures carry their own bound (or none): never the pages' one */
  const visitorsUpTo = filter ? filter.current.figures.uniqueVisitorsUpTo : pages.uniqueVisitorsUpTo
  return {
    range,
    previousRange: previous.range,
    trackingTotalViews: metric('trackingTotalViews', 'Page views', 'totalViews'),
    trackingUniqueVisitors: metric(
      'trackingUniqueVisitors',
      'Unique visitors',
      'uniqueVisitors',
      visitorsUpTo
    ),
    trackingTrackedPages: metric('trackingTrackedPages', 'Tracked pages', 'trackedPages'),
    trackingViewsChart: chartWidget({
      key: 'trackingViewsChart',
      title: 'Views per day',
      caption,
      labels: daysOf(range),
      series: [
        { key: 'views', name: 'Views', values: current.viewsPerDay },
        { key: 'visitors', name: 'Unique visitors', values: visitorsPerDay },
      ],
    }),
    trackingTopPages: listWidget({
      key: 'trackingTopPages',
      title: 'Top pages',
      caption,
      items: figures.top.map((row) => ({
        label: row.path,
        value: row.views,
        visitors: row.visitors,
      })),
      total: pages.totalViews,
    }),
    trackingRecentPageViews: tableWidget({
      key: 'trackingRecentPageViews',
      title: 'Page views',
      caption,
      columns: PAGE_COLUMNS.map((column) => ({ ...column })),
      rows: table.rows.map((row) => ({ path: row.path, views: row.views })),
      page: table.page,
      perPage: table.perPage,
      total: table.total,
    }),
    realtimeVisitors: figures.realtimeVisitors,
    filter: filter ? { dimension: filter.dimension, value: filter.value } : null,
    ...dimensionWidgets(figures.breakdowns, caption),
    ...(figures.goals
      ? { trackingGoals: goalsWidget(figures.goals, figures.events?.props ?? null, caption) }
      : {}),
    ...(figures.events ? { trackingEvents: eventsWidget(figures.events, caption) } : {}),
    ...(figures.funnels ? { trackingFunnels: funnelsWidget(figures.funnels, caption) } : {}),
    ...(figures.visits ? visitWidgets(figures.visits, caption) : {}),
  }
}

/** The visit KPIs (trends against the previous range) and the entry and exit pages */
function visitWidgets(
  visits: NonNullable<AnalyticsFigures['visits']>,
  caption: string
): Pick<
  AnalyticsContext,
  | 'trackingVisits'
  | 'trackingViewsPerVisit'
  | 'trackingBounceRate'
  | 'trackingVisitDuration'
  | 'trackingEntryPages'
  | 'trackingExitPages'
> {
  const { current, previous } = visits
  const metric = (key: string, title: string, field: keyof VisitFigures) =>
    metricWidget({ key, title, caption, value: current[field], previous: previous[field] })
  const pages = (key: string, title: string, rows: RangeVisits['entryPages']) =>
    listWidget({
      key,
      title,
      caption,
      items: rows.map((row) => ({ label: row.path, value: row.visits })),
      total: current.visits,
      unit: 'visits',
    })
  return {
    trackingVisits: metric('trackingVisits', 'Visits', 'visits'),
    trackingViewsPerVisit: metric('trackingViewsPerVisit', 'Views per visit', 'viewsPerVisit'),
    trackingBounceRate: metric('trackingBounceRate', 'Bounce rate', 'bounceRate'),
    trackingVisitDuration: {
      ...metric('trackingVisitDuration', 'Visit duration', 'durationMedian'),
      mean: current.durationMean,
    },
    trackingEntryPages: pages('trackingEntryPages', 'Entry pages', current.entryPages),
    trackingExitPages: pages('trackingExitPages', 'Exit pages', current.exitPages),
  }
}

/** The dimension lists of the context, by context key */
function dimensionWidgets(
  breakdowns: Map<DimensionName, DimensionBreakdown> | undefined,
  caption: string
): Partial<Record<string, ListWidgetData>> {
  const out: Partial<Record<string, ListWidgetData>> = {}
  for (const [dimension, breakdown] of breakdowns ?? []) {
    out[DIMENSION_WIDGETS[dimension].key] = breakdownWidget(breakdown, caption)
  }
  return out
}
