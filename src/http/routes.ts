import type { HttpContext, Router } from '@adonisjs/core/http'
import type { TrackingSettings } from '../types.ts'
import type { AnalyticsContext } from '../widgets/types.ts'
import type { AnalyticsQuery } from './analytics_query.ts'
import {
  AnalyticsController,
  type AnalyticsContextLoader,
  type AnalyticsRouteOptions,
} from './analytics_controller.ts'

/** The selector's surface the analytics routes use */
interface AnalyticsSelector {
  getAnalyticsContext(
    range: AnalyticsQuery['range'],
    options: { page: number; perPage: number; search: string }
  ): Promise<AnalyticsContext>
}

/**
 * The default data source: a TrackingSelector on the app's tracking
 * manager and Lucid database, made per request (both are singletons)
 */
const selectorLoader: AnalyticsContextLoader = async (ctx: HttpContext, query) => {
  const resolver = ctx.containerResolver
  const [manager, db, { TrackingSelector }] = await Promise.all([
    resolver.make('tracking.manager'),
    resolver.make('lucid.db' as any),
    import('../selector.ts' as string) as Promise<{
      TrackingSelector: new (manager: unknown, db: unknown) => AnalyticsSelector
    }>,
  ])
  const selector = new TrackingSelector(manager, db)
  return selector.getAnalyticsContext(query.range, {
    page: query.page,
    perPage: query.perPage,
    search: query.search,
  })
}

/**
 * Registers the analytics page and its exports:
 *
 * - GET `analyticsUrl` (route `tracking.analytics`): the page, or its data
 *   with `?format=json` / `?format=csv`
 * - GET `analyticsUrl/export.csv` (route `tracking.analytics.export`)
 *
 * Both answer only when `settings.authorize(ctx)` returns true. Called by
 * the provider when `registerRoutes` is true; an app that turns it off may
 * call it itself, inside its own route group.
 */
export function registerTrackingRoutes(
  router: Router,
  settings: TrackingSettings,
  options: AnalyticsRouteOptions = {}
) {
  const { loadContext = selectorLoader, ...rest } = options
  const controller = new AnalyticsController(settings, loadContext, rest)
  const base = settings.analyticsUrl === '/' ? '' : settings.analyticsUrl

  const page = router
    .get(settings.analyticsUrl, (ctx) => controller.show(ctx))
    .as('tracking.analytics')
  const csv = router
    .get(`${base}/export.csv`, (ctx) => controller.export(ctx))
    .as('tracking.analytics.export')
  return { page, csv }
}
