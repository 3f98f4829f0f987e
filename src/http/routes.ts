import type { HttpContext, Router } from '@adonisjs/core/http'
import type { TrackingSettings } from '../types.ts'
import type {} from '../bindings.ts'
import {
  AnalyticsController,
  type AnalyticsBreakdownsLoader,
  type AnalyticsContextLoader,
  type AnalyticsEventsLoader,
  type AnalyticsFunnelsLoader,
  type AnalyticsGoalsLoader,
  type AnalyticsRouteOptions,
  type AnalyticsRowsLoader,
  type AnalyticsVisitPagesLoader,
} from './analytics_controller.ts'

/**
 * The default data source: the app's `tracking.selector` (a TrackingSelector
 * on the tracking manager and Lucid's database)
 */
const selectorLoader: AnalyticsContextLoader = async (ctx: HttpContext, query) => {
  const selector = await ctx.containerResolver.make('tracking.selector')
  return selector.getAnalyticsContext(query.range, {
    page: query.page,
    perPage: query.perPage,
    search: query.search,
    filter: query.filter,
  })
}

/** The default dimension datasets of the CSV export: one ranked query for their dimensions */
const selectorBreakdowns: AnalyticsBreakdownsLoader = async (ctx, query, dimensions, limit) => {
  const selector = await ctx.containerResolver.make('tracking.selector')
  return selector.breakdowns(dimensions, query.range, { limit, filter: query.filter })
}

/** The default events dataset of the CSV export */
const selectorEvents: AnalyticsEventsLoader = async (ctx, query, limit) => {
  const selector = await ctx.containerResolver.make('tracking.selector')
  return selector.events(query.range, { limit, valueLimit: limit })
}

/** The default goals dataset of the CSV export */
const selectorGoals: AnalyticsGoalsLoader = async (ctx, query, limit) => {
  const selector = await ctx.containerResolver.make('tracking.selector')
  return selector.goals(query.range, { valueLimit: limit })
}

/** The default funnels dataset of the CSV export */
const selectorFunnels: AnalyticsFunnelsLoader = async (ctx, query) => {
  const selector = await ctx.containerResolver.make('tracking.selector')
  return selector.funnels(query.range)
}

/** The default entry and exit datasets of the CSV export: the selector's visits, `limit` paths */
const selectorVisitPages: AnalyticsVisitPagesLoader = async (ctx, query, which, limit) => {
  const selector = await ctx.containerResolver.make('tracking.selector')
  const visits = await selector.visits(query.range, { limit })
  return { pages: which === 'entry' ? visits.entryPages : visits.exitPages, visits: visits.visits }
}

/** The default rows of the CSV export: the selector reads them once */
const selectorRows: AnalyticsRowsLoader = async (ctx: HttpContext, query, limit) => {
  const selector = await ctx.containerResolver.make('tracking.selector')
  return selector.exportPages(query.range, { search: query.search, limit })
}

/** The routes already registered, per router and URL: registering twice is harmless */
const registered = new WeakMap<Router, Map<string, RegisteredRoutes>>()

/** What registerTrackingRoutes returns: the two routes, to chain middleware or a domain */
export interface RegisteredRoutes {
  page: ReturnType<Router['get']>
  csv: ReturnType<Router['get']>
  /** The stats API (`analyticsUrl/api/v1/context`); null when no `apiTokens` are configured */
  api: ReturnType<Router['get']> | null
}

/**
 * Registers the analytics page and its exports:
 *
 * - GET `analyticsUrl` (route `tracking.analytics`): the page, or its data
 *   with `?format=json` / `?format=csv`
 * - GET `analyticsUrl/export.csv` (route `tracking.analytics.export`)
 *
 * - GET `analyticsUrl/api/v1/context` (route `tracking.analytics.api.context`),
 *   only when `apiTokens` are configured: the JSON for a Bearer token
 *
 * The page and the exports answer only when `settings.authorize(ctx)`
 * returns true; the API only to a valid token. Called by
 * the provider when `registerRoutes` is true; an app that turns it off may
 * call it itself. A second call for the same router and URL returns the
 * routes of the first; `name` changes the route names (default
 * `tracking.analytics`) to mount the page twice.
 */
export function registerTrackingRoutes(
  router: Router,
  settings: TrackingSettings,
  options: AnalyticsRouteOptions & { name?: string } = {}
): RegisteredRoutes {
  const known = registered.get(router) ?? new Map<string, RegisteredRoutes>()
  registered.set(router, known)
  const existing = known.get(settings.analyticsUrl)
  if (existing) return existing

  const {
    loadContext,
    loadRows,
    loadBreakdowns,
    loadEvents,
    loadGoals,
    loadFunnels,
    loadVisitPages,
    name = 'tracking.analytics',
    ...rest
  } = options
  /* a custom context loader without a row reader: the export pages through it */
  const rows = loadRows ?? (loadContext ? undefined : selectorRows)
  const lists = loadBreakdowns ?? (loadContext ? undefined : selectorBreakdowns)
  const controller = new AnalyticsController(settings, loadContext ?? selectorLoader, {
    ...rest,
    loadRows: rows,
    loadBreakdowns: lists,
    loadEvents: loadEvents ?? (loadContext ? undefined : selectorEvents),
    loadGoals: loadGoals ?? (loadContext ? undefined : selectorGoals),
    loadFunnels: loadFunnels ?? (loadContext ? undefined : selectorFunnels),
    loadVisitPages: loadVisitPages ?? (loadContext ? undefined : selectorVisitPages),
  })
  const base = settings.analyticsUrl === '/' ? '' : settings.analyticsUrl

  const page = router.get(settings.analyticsUrl, (ctx) => controller.show(ctx)).as(name)
  const csv = router.get(`${base}/export.csv`, (ctx) => controller.export(ctx)).as(`${name}.export`)
  const api =
    settings.apiTokens.size > 0
      ? router
          .get(`${base}/api/v1/context`, (ctx) => controller.apiContext(ctx))
          .as(`${name}.api.context`)
      : null
  const routes = { page, csv, api }
  known.set(settings.analyticsUrl, routes)
  return routes
}
