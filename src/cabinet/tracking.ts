import type { TrackingSettings } from '../types.ts'
import type { AnalyticsContext, AnalyticsRange, WidgetData } from '../widgets/types.ts'
import { DEFAULT_DASHBOARD_TTL_MS } from './dashboard.ts'
import type { Cabinet } from './registry.ts'

/** The module name of the tracking declaration and its dashboard provider */
export const TRACKING_MODULE = 'tracking'

/** Cache key prefix of the tracking dashboard results */
export const TRACKING_DASHBOARD_CACHE_KEY = 'tracking.dashboard'

/**
 * The analytics widgets the tracking module puts on the dashboard, in order;
 * the visit KPIs only where the database has the visit tables (a widget
 * without data is left out)
 */
export const TRACKING_DASHBOARD_WIDGETS = [
  'trackingTotalViews',
  'trackingUniqueVisitors',
  'trackingTrackedPages',
  'trackingVisits',
  'trackingBounceRate',
  'trackingViewsChart',
  'trackingTopPages',
] as const satisfies ReadonlyArray<keyof AnalyticsContext>

/** What the declaration reads, when the cabinet is rendered (never at import) */
export interface TrackingCabinetSource {
  settings(): TrackingSettings
  /** the selector (or anything with its two methods) */
  selector(): Promise<TrackingDashboardSelector> | TrackingDashboardSelector
}

/** The part of TrackingSelector the dashboard provider uses */
export interface TrackingDashboardSelector {
  resolveRange(input?: number): AnalyticsRange
  getAnalyticsContext(
    range: AnalyticsRange,
    options?: { perPage?: number }
  ): Promise<AnalyticsContext>
}

/**
 * Declares the tracking module in a cabinet: an Analytics topbar entry, a
 * sidebar item and, unless `trackDashboardWidgets` is false, its dashboard
 * widgets, computed by the `tracking` dashboard provider (cached 60 s per
 * range). All of them are for staff: `audience: 'user'` gets none.
 */
export function declareTrackingCabinet(cabinet: Cabinet, source: TrackingCabinetSource): Cabinet {
  cabinet.dashboard.register({
    key: TRACKING_MODULE,
    cacheKey: TRACKING_DASHBOARD_CACHE_KEY,
    ttlMs: DEFAULT_DASHBOARD_TTL_MS,
    defaultRange: async () => {
      const selector = await source.selector()
      return selector.resolveRange(source.settings().analyticsDays)
    },
    load: async (range) => {
      const selector = await source.selector()
      const context = await selector.getAnalyticsContext(range, { perPage: 10 })
      const widgets: Record<string, WidgetData> = {}
      for (const key of TRACKING_DASHBOARD_WIDGETS) {
        const widget = context[key]
        if (widget) widgets[key] = widget
      }
      return widgets
    },
  })

  return cabinet.declare({
    module: TRACKING_MODULE,
    space: 'staff',
    topbar: () => [
      {
        key: 'tracking.analytics',
        label: 'Analytics',
        url: source.settings().analyticsUrl,
        audience: 'staff',
      },
    ],
    sidebar: () => [
      {
        key: 'tracking.analytics',
        label: 'Analytics',
        url: source.settings().analyticsUrl,
        audience: 'staff',
      },
    ],
    dashboardWidgets: () =>
      source.settings().trackDashboardWidgets
        ? TRACKING_DASHBOARD_WIDGETS.map((widget) => ({
            provider: TRACKING_MODULE,
            widget,
            audience: 'staff' as const,
          }))
        : [],
  })
}
