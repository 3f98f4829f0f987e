import type { HttpContext } from '@adonisjs/core/http'
import { skipTracking } from '../skip.ts'
import debug from '../debug.ts'
import type { TrackingSettings } from '../types.ts'
import type { DimensionName } from '../dimensions/names.ts'
import type { DimensionBreakdown } from '../read/dimensions.ts'
import type { PageCount } from '../read/types.ts'
import { MAX_EXPORT_ROWS } from '../selector.ts'
import { PAGE_COLUMNS } from '../widgets/analytics_context.ts'
import { DIMENSION_WIDGETS } from '../widgets/dimensions.ts'
import type {
  AnalyticsContext,
  EventsWidgetData,
  FunnelsWidgetData,
  GoalsWidgetData,
} from '../widgets/types.ts'
import {
  MAX_PER_PAGE,
  MAX_RANGE_DAYS,
  PRESET_DAYS,
  parseAnalyticsQuery,
  type AnalyticsQuery,
  type QueryProblem,
} from './analytics_query.ts'
import {
  chartToCsv,
  csvStream,
  CSV_DATASETS,
  DIMENSION_COLUMNS,
  DIMENSION_DATASETS,
  EVENT_COLUMNS,
  FUNNEL_COLUMNS,
  GOAL_COLUMNS,
  VISIT_PAGE_COLUMNS,
  type CsvDataset,
  type DimensionDataset,
} from './csv.ts'
import { analyticsPanels, DIMENSION_LABELS, selectedTabs } from './panels.ts'
import { eventPanels, selectedEvent } from './event_panels.ts'
import { filterText } from '../read/filter.ts'
import { trackingUi } from './view_helpers.ts'
import { ApiRateLimiter } from './api_limiter.ts'

/**
 * Computes the analytics of one request (the selector, in production)
 */
export type AnalyticsContextLoader = (
  ctx: HttpContext,
  query: AnalyticsQuery
) => Promise<AnalyticsContext>

/**
 * Reads the rows of the CSV export of one request, ranked as the table
 * ranks them, at most `limit` (the selector's exportPages, in production).
 * The rows are read when the promise settles; iterating only walks them.
 */
export type AnalyticsRowsLoader = (
  ctx: HttpContext,
  query: AnalyticsQuery,
  limit: number
) => Promise<Iterable<PageCount>>

/**
 * Reads the top values of some dimensions over the range of one request,
 * at most `limit` each (the selector's breakdowns, in production)
 */
export type AnalyticsBreakdownsLoader = (
  ctx: HttpContext,
  query: AnalyticsQuery,
  dimensions: readonly DimensionName[],
  limit: number
) => Promise<Map<DimensionName, DimensionBreakdown>>

/**
 * Reads the events of the range of one request, at most `limit` names and
 * `limit` values per prop key (the selector's events, in production)
 */
export type AnalyticsEventsLoader = (
  ctx: HttpContext,
  query: AnalyticsQuery,
  limit: number
) => Promise<EventsWidgetData>

/** Reads the goals over the range of one request (the selector's goals, in production) */
export type AnalyticsGoalsLoader = (
  ctx: HttpContext,
  query: AnalyticsQuery,
  limit: number
) => Promise<GoalsWidgetData>

/** Reads the funnels over the range of one request (the selector's funnels, in production) */
export type AnalyticsFunnelsLoader = (
  ctx: HttpContext,
  query: AnalyticsQuery
) => Promise<FunnelsWidgetData>

/**
 * The entry or exit pages of visits over the range of one request, at
 * most `limit` paths (visits desc, then path asc), with the visits of the
 * range (the base of their shares): the selector's visits, in production
 */
export type AnalyticsVisitPagesLoader = (
  ctx: HttpContext,
  query: AnalyticsQuery,
  which: 'entry' | 'exit',
  limit: number
) => Promise<{ pages: Array<{ path: string; visits: number }>; visits: number }>

/**
 * How the analytics routes behave beyond the tracking settings
 */
export interface AnalyticsRouteOptions {
  /**
   * An Edge component of the host app used as the page layout (for example
   * 'components/layout' or 'layouts/main'); the analytics page is passed as
   * its main slot, with `title` as a prop. null or left out: the package's
   * own self-contained layout. Defaults to the `analyticsLayout` setting.
   */
  layout?: string | null
  /**
   * Where anonymous visitors of the HTML page are sent (with `?next=`)
   * instead of a 403. Defaults to the `loginUrl` setting; JSON and CSV
   * always answer 403.
   */
  loginUrl?: string | null
  /** Replaces the selector (tests, custom data sources) */
  loadContext?: AnalyticsContextLoader
  /**
   * Replaces the selector for the rows of the CSV export; with a custom
   * `loadContext` and no `loadRows`, the export pages through `loadContext`
   */
  loadRows?: AnalyticsRowsLoader
  /**
   * Replaces the selector for the dimension datasets of the CSV export;
   * with a custom `loadContext` and no `loadBreakdowns`, they are the
   * context's lists
   */
  loadBreakdowns?: AnalyticsBreakdownsLoader
  /**
   * Replaces the selector for the events dataset of the CSV export; with a
   * custom `loadContext` and no `loadEvents`, it is the context's list
   */
  loadEvents?: AnalyticsEventsLoader
  /** The same for the goals dataset */
  loadGoals?: AnalyticsGoalsLoader
  /** The same for the funnels dataset */
  loadFunnels?: AnalyticsFunnelsLoader
  /**
   * Replaces the selector for the entry and exit datasets; with a custom
   * `loadContext` and no `loadVisitPages`, they are the context's lists
   */
  loadVisitPages?: AnalyticsVisitPagesLoader
}

type Format = 'html' | 'json' | 'csv'

/** The CSV export stops after this many rows */
export const EXPORT_MAX_ROWS = MAX_EXPORT_ROWS

/** Values per dimension of a dimension dataset of the CSV export (the top ones) */
export const EXPORT_MAX_VALUES = 1000

/** The dimension lists of a custom context loader (it has no breakdown reader of its own) */
function breakdownsFromContext(loadContext: AnalyticsContextLoader): AnalyticsBreakdownsLoader {
  return async (ctx, query, dimensions) => {
    const context = await loadContext(ctx, { ...query, page: 1 })
    const out = new Map<DimensionName, DimensionBreakdown>()
    for (const dimension of dimensions) {
      const items = context[DIMENSION_WIDGETS[dimension].key]?.items ?? []
      const shared = items.find((item) => item.share > 0)
      out.set(dimension, {
        dimension,
        rows: items.map((item) => ({
          value: item.label,
          views: item.value,
          visitors: item.visitors ?? 0,
        })),
        total: shared ? Math.round(shared.value / shared.share) : 0,
      })
    }
    return out
  }
}

/** The events of a custom context loader (it has no event reader of its own) */
function eventsFromContext(loadContext: AnalyticsContextLoader): AnalyticsEventsLoader {
  return async (ctx, query) => {
    const context = await loadContext(ctx, { ...query, page: 1 })
    return (
      context.trackingEvents ?? {
        kind: 'list',
        key: 'trackingEvents',
        title: 'Events',
        caption: '',
        items: [],
        otherProps: 0,
        otherPages: 0,
      }
    )
  }
}

/** The goals of a custom context loader */
function goalsFromContext(loadContext: AnalyticsContextLoader): AnalyticsGoalsLoader {
  return async (ctx, query) => {
    const context = await loadContext(ctx, { ...query, page: 1 })
    return (
      context.trackingGoals ?? {
        kind: 'list',
        key: 'trackingGoals',
        title: 'Goals',
        caption: '',
        items: [],
      }
    )
  }
}

/** The funnels of a custom context loader */
function funnelsFromContext(loadContext: AnalyticsContextLoader): AnalyticsFunnelsLoader {
  return async (ctx, query) => {
    const context = await loadContext(ctx, { ...query, page: 1 })
    return (
      context.trackingFunnels ?? {
        kind: 'funnels',
        key: 'trackingFunnels',
        title: 'Funnels',
        caption: '',
        funnels: [],
      }
    )
  }
}

/** The entry and exit pages of a custom context loader: its trackingEntryPages / trackingExitPages */
function visitPagesFromContext(loadContext: AnalyticsContextLoader): AnalyticsVisitPagesLoader {
  return async (ctx, query, which) => {
    const context = await loadContext(ctx, { ...query, page: 1 })
    const items =
      (which === 'entry' ? context.trackingEntryPages : context.trackingExitPages)?.items ?? []
    /* the base of the shares: the context's visits, else what an item's share implies */
    const shared = items.find((item) => item.share > 0)
    return {
      pages: items.map((item) => ({ path: item.label, visits: item.value })),
      visits:
        context.trackingVisits?.value ?? (shared ? Math.round(shared.value / shared.share) : 0),
    }
  }
}

/** Entry or exit pages as CSV records (VISIT_PAGE_COLUMNS): share of the range's visits */
function* visitPageRecords(read: Awaited<ReturnType<AnalyticsVisitPagesLoader>>) {
  for (const page of read.pages) {
    const share = read.visits > 0 ? Math.round((page.visits / read.visits) * 10_000) / 10_000 : 0
    yield [page.path, page.visits, share]
  }
}

/** Goal rows as CSV records (GOAL_COLUMNS) */
function* goalRecords(goals: GoalsWidgetData) {
  for (const goal of goals.items) {
    yield [goal.name, goal.kind, goal.target, goal.visitors, goal.completions, goal.conversionRate]
  }
}

/** Funnel steps as CSV records (FUNNEL_COLUMNS): one per (funnel, step), the first step's drop-off empty */
function* funnelRecords(funnels: FunnelsWidgetData) {
  for (const funnel of funnels.funnels) {
    for (const step of funnel.items) {
      yield [
        funnel.name,
        step.step,
        step.name,
        step.visitors,
        step.visits,
        step.dropOff ?? '',
        step.conversionRate,
      ]
    }
  }
}

/** Event rows as CSV records (EVENT_COLUMNS): the event, its prop values, its pages */
function* eventRecords(events: EventsWidgetData) {
  for (const event of events.items) {
    yield [event.name, 'event', '', '', event.count, event.visitors]
    for (const [key, values] of Object.entries(event.props)) {
      for (const one of values) yield [event.name, 'prop', key, one.value, one.count, '']
    }
    for (const page of event.pages) yield [event.name, 'page', '', page.path, page.count, '']
  }
}

/** Dimension rows as CSV records (DIMENSION_COLUMNS) */
function* dimensionRecords(lists: Map<DimensionName, DimensionBreakdown>) {
  for (const list of lists.values()) {
    for (const row of list.rows) {
      const share = list.total > 0 ? Math.round((row.views / list.total) * 10_000) / 10_000 : 0
      yield [list.dimension, row.value, row.views, row.visitors, share]
    }
  }
}

/**
 * The rows of a custom context loader, read page by page (a custom data
 * source has no row reader of its own)
 */
function rowsFromContexts(loadContext: AnalyticsContextLoader): AnalyticsRowsLoader {
  return async (ctx, query, limit) => {
    const rows: PageCount[] = []
    for (let page = 1; rows.length < limit; page++) {
      const context = await loadContext(ctx, { ...query, page, perPage: MAX_PER_PAGE })
      const table = context.trackingRecentPageViews
      for (const row of table.rows) rows.push({ path: String(row.path), views: Number(row.views) })
      if (table.rows.length === 0 || rows.length >= table.total) break
    }
    return rows.slice(0, limit)
  }
}

/** What the request's view renderer looks like (Edge, when the app uses it) */
interface ViewRenderer {
  render(template: string, state?: Record<string, unknown>): Promise<string>
}

/** Export rows as CSV records */
function* records(rows: Iterable<PageCount>) {
  for (const row of rows) yield [row.path, row.views]
}

/**
 * Content Security Policy of the self-contained page: no script, no request
 * to another origin, inline styles only
 */
const STANDALONE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"

/**
 * Serves the analytics page at `analyticsUrl`, its JSON (`?format=json`)
 * and its CSV export (`/export.csv` or `?format=csv`). Every answer first
 * asks `settings.authorize(ctx)`; nothing is computed for a refused request.
 */
export class AnalyticsController {
  readonly #settings: TrackingSettings
  readonly #layout: string | null
  readonly #loginUrl: string | null
  readonly #loadContext: AnalyticsContextLoader
  readonly #loadRows: AnalyticsRowsLoader
  readonly #loadBreakdowns: AnalyticsBreakdownsLoader
  readonly #loadEvents: AnalyticsEventsLoader
  readonly #loadGoals: AnalyticsGoalsLoader
  readonly #loadFunnels: AnalyticsFunnelsLoader
  readonly #loadVisitPages: AnalyticsVisitPagesLoader
  readonly #apiLimiter: ApiRateLimiter | null

  constructor(
    settings: TrackingSettings,
    loadContext: AnalyticsContextLoader,
    options: Omit<AnalyticsRouteOptions, 'loadContext'> = {}
  ) {
    this.#settings = settings
    this.#loadContext = loadContext
    this.#loadRows = options.loadRows ?? rowsFromContexts(loadContext)
    this.#loadBreakdowns = options.loadBreakdowns ?? breakdownsFromContext(loadContext)
    this.#loadEvents = options.loadEvents ?? eventsFromContext(loadContext)
    this.#loadGoals = options.loadGoals ?? goalsFromContext(loadContext)
    this.#loadFunnels = options.loadFunnels ?? funnelsFromContext(loadContext)
    this.#loadVisitPages = options.loadVisitPages ?? visitPagesFromContext(loadContext)
    this.#layout = options.layout ?? this.#settings.analyticsLayout
    this.#loginUrl = options.loginUrl ?? this.#settings.loginUrl
    this.#apiLimiter = settings.apiRateLimit ? new ApiRateLimiter(settings.apiRateLimit) : null
  }

  /**
   * GET analyticsUrl/api/v1/context: the JSON of `?format=json` for a
   * machine holding one of `apiTokens` (`Authorization: Bearer <token>`).
   * The token is the only credential: `authorize` is not asked, so a staff
   * session without a token gets 401 too, and a token opens nothing else.
   */
  async apiContext(ctx: HttpContext) {
    skipTracking(ctx)
    ctx.response.header('Cache-Control', 'private, no-store')
    ctx.response.header('X-Robots-Tag', 'noindex, nofollow')

    const header = ctx.request.header('authorization')
    const bearer = typeof header === 'string' ? /^Bearer +(\S+) *$/i.exec(header) : null
    const key = this.#settings.apiTokens.verify(bearer?.[1])
    if (!key) {
      debug('stats API refused for %s (%s)', ctx.request.url(), header ? 'bad token' : 'no token')
      ctx.response.status(401)
      /* RFC 6750: an error code only when a bearer token was sent */
      ctx.response.header(
        'WWW-Authenticate',
        bearer ? 'Bearer realm="tracking", error="invalid_token"' : 'Bearer realm="tracking"'
      )
      return ctx.response.json({ errors: [{ message: 'Unauthorized' }] })
    }

    if (this.#apiLimiter) {
      const limit = await this.#apiLimiter.hit(ctx, key)
      ctx.response.header('X-RateLimit-Limit', String(limit.limit))
      ctx.response.header('X-RateLimit-Remaining', String(limit.remaining))
      if (!limit.allowed) {
        ctx.response.status(429)
        ctx.response.header('Retry-After', String(limit.retryAfter))
        return ctx.response.json({ errors: [{ message: 'Too many requests' }] })
      }
    }

    const parsed = parseAnalyticsQuery(ctx.request.qs(), {
      timezone: this.#settings.timezone,
      defaultDays: this.#settings.analyticsDays,
    })
    if (!parsed.ok) return this.#problems(ctx, 'json', parsed.problems)
    return ctx.response.json(await this.#loadContext(ctx, parsed.query))
  }

  /** GET analyticsUrl */
  async show(ctx: HttpContext) {
    /* reading the analytics is not a page view of the site */
    skipTracking(ctx)
    const format = String(ctx.request.qs().format ?? 'html').toLowerCase()
    if (format !== 'html' && format !== 'json' && format !== 'csv') {
      if (!(await this.#allowed(ctx))) return this.#deny(ctx, 'json')
      return this.#problems(ctx, 'json', [
        { field: 'format', message: 'format must be html, json or csv' },
      ])
    }
    return this.#answer(ctx, format)
  }

  /** GET analyticsUrl/export.csv */
  async export(ctx: HttpContext) {
    skipTracking(ctx)
    return this.#answer(ctx, 'csv')
  }

  async #answer(ctx: HttpContext, format: Format) {
    ctx.response.header('Cache-Control', 'private, no-store')
    ctx.response.header('X-Robots-Tag', 'noindex, nofollow')
    if (!(await this.#allowed(ctx))) return this.#deny(ctx, format)

    const parsed = parseAnalyticsQuery(ctx.request.qs(), {
      timezone: this.#settings.timezone,
      defaultDays: this.#settings.analyticsDays,
    })
    if (!parsed.ok) return this.#problems(ctx, format, parsed.problems)
    const query = parsed.query

    if (format === 'csv') return this.#csv(ctx, query)
    const context = await this.#loadContext(ctx, query)
    if (format === 'json') return ctx.response.json(context)
    return this.#html(ctx, query, context, [])
  }

  async #allowed(ctx: HttpContext): Promise<boolean> {
    return (await this.#settings.authorize(ctx)) === true
  }

  #deny(ctx: HttpContext, format: Format) {
    const auth = (ctx as unknown as { auth?: { user?: unknown } }).auth
    if (format === 'html' && this.#loginUrl && !auth?.user) {
      const next = encodeURIComponent(ctx.request.url(true))
      const separator = this.#loginUrl.includes('?') ? '&' : '?'
      return ctx.response.redirect().toPath(`${this.#loginUrl}${separator}next=${next}`)
    }
    debug('analytics refused for %s', ctx.request.url())
    ctx.response.status(403)
    if (format === 'json') return ctx.response.json({ errors: [{ message: 'Forbidden' }] })
    ctx.response.header('Content-Type', 'text/plain; charset=utf-8')
    return ctx.response.send('Forbidden')
  }

  async #problems(ctx: HttpContext, format: Format, problems: QueryProblem[]) {
    ctx.response.status(422)
    if (format === 'json') return ctx.response.json({ errors: problems })
    if (format === 'csv') {
      ctx.response.header('Content-Type', 'text/plain; charset=utf-8')
      return ctx.response.send(problems.map((problem) => problem.message).join('\n'))
    }
    return this.#html(ctx, null, null, problems)
  }

  async #csv(ctx: HttpContext, query: AnalyticsQuery) {
    const dataset = String(ctx.request.qs().dataset ?? 'pages') as CsvDataset
    if (!CSV_DATASETS.includes(dataset)) {
      return this.#problems(ctx, 'csv', [
        { field: 'dataset', message: `dataset must be one of ${CSV_DATASETS.join(', ')}` },
      ])
    }

    const { from, to } = query.range
    const headers = () => {
      ctx.response.header('Content-Type', 'text/csv; charset=utf-8')
      ctx.response.header(
        'Content-Disposition',
        `attachment; filename="tracking-${dataset}-${from}-${to}.csv"`
      )
    }
    if (dataset === 'daily') {
      const context = await this.#loadContext(ctx, { ...query, page: 1 })
      headers()
      return ctx.response.send(chartToCsv(context.trackingViewsChart))
    }
    if (dataset === 'goals') {
      const goals = await this.#loadGoals(ctx, query, EXPORT_MAX_VALUES)
      headers()
      return ctx.response.stream(csvStream([...GOAL_COLUMNS], goalRecords(goals)))
    }
    if (dataset === 'funnels') {
      const funnels = await this.#loadFunnels(ctx, query)
      headers()
      return ctx.response.stream(csvStream([...FUNNEL_COLUMNS], funnelRecords(funnels)))
    }
    if (dataset === 'entry' || dataset === 'exit') {
      const read = await this.#loadVisitPages(ctx, query, dataset, EXPORT_MAX_ROWS)
      headers()
      return ctx.response.stream(csvStream([...VISIT_PAGE_COLUMNS], visitPageRecords(read)))
    }
    if (dataset === 'events') {
      const events = await this.#loadEvents(ctx, query, EXPORT_MAX_VALUES)
      headers()
      return ctx.response.stream(csvStream([...EVENT_COLUMNS], eventRecords(events)))
    }
    if (dataset in DIMENSION_DATASETS) {
      const dimensions = DIMENSION_DATASETS[dataset as DimensionDataset]
      const lists = await this.#loadBreakdowns(ctx, query, dimensions, EXPORT_MAX_VALUES)
      headers()
      return ctx.response.stream(csvStream([...DIMENSION_COLUMNS], dimensionRecords(lists)))
    }
    /* the rows are read at once (one query), then written to the response as they are turned into CSV */
    const rows = await this.#loadRows(ctx, query, EXPORT_MAX_ROWS)
    headers()
    ctx.response.stream(
      csvStream(
        PAGE_COLUMNS.map((column) => column.label),
        records(rows)
      )
    )
  }

  async #html(
    ctx: HttpContext,
    query: AnalyticsQuery | null,
    context: AnalyticsContext | null,
    problems: QueryProblem[]
  ) {
    const view = (ctx as unknown as { view?: ViewRenderer }).view
    if (!view) {
      ctx.response.status(problems.length > 0 ? 422 : 406)
      ctx.response.header('Content-Type', 'text/plain; charset=utf-8')
      return ctx.response.send(
        'The analytics page needs Edge (edge.js and its provider); use ?format=json or the CSV export.'
      )
    }
    if (!this.#layout) ctx.response.header('Content-Security-Policy', STANDALONE_CSP)
    const html = await view.render('tracking::analytics/page', {
      title: 'Analytics',
      layout: this.#layout,
      context,
      problems,
      page: this.#pageState(ctx, query, context),
    })
    ctx.response.header('Content-Type', 'text/html; charset=utf-8')
    return ctx.response.send(html)
  }

  /**
   * Links and form values of the page: the range picker, the pagination,
   * the exports. They keep the current range, search and page size.
   */
  #pageState(ctx: HttpContext, query: AnalyticsQuery | null, context: AnalyticsContext | null) {
    const base = this.#settings.analyticsUrl
    const qs = ctx.request.qs()
    const rangeParams: Record<string, string> = {}
    if (query?.mode === 'custom') {
      rangeParams.from = query.range.from
      rangeParams.to = query.range.to
    } else if (query && query.range.days !== this.#settings.analyticsDays) {
      rangeParams.days = String(query.range.days)
    }
    const listParams: Record<string, string> = {}
    if (query?.search) listParams.q = query.search
    if (query && query.perPage !== 25) listParams.perPage = String(query.perPage)

    const url = (path: string, params: Record<string, string>) => {
      const search = new URLSearchParams(params).toString()
      return search ? `${path}?${search}` : path
    }
    const table = context?.trackingRecentPageViews
    const pages = table ? trackingUi.pagination(table) : null
    /* the range params without the filter: what the filter's links start from */
    const range = { ...rangeParams }
    const filter = query?.filter ?? null
    if (filter) rangeParams.filter = filterText(filter)
    /* the event shown in the Events panel is kept like a panel's tab */
    const event = selectedEvent(qs)
    const panelTabs = selectedTabs(qs)
    const tabs = { ...panelTabs, ...event }
    const panels = context
      ? analyticsPanels(context, {
          url: (params) => url(base, { ...range, ...listParams, ...params }),
          tabs,
          filter,
        })
      : []
    const events = context
      ? eventPanels(context, {
          url: (params) => url(base, { ...rangeParams, ...listParams, ...panelTabs, ...params }),
          selected: event,
        })
      : null

    return {
      baseUrl: base,
      exportUrl: `${base}/export.csv`,
      presets: [...new Set([this.#settings.analyticsDays, ...PRESET_DAYS])]
        .filter((days) => days <= MAX_RANGE_DAYS)
        .sort((a, b) => a - b)
        .map((days) => ({
          days,
          label: `${days} days`,
          url: url(base, {
            days: String(days),
            ...(filter ? { filter: filterText(filter) } : {}),
            ...listParams,
          }),
          current: query?.mode === 'preset' && query.range.days === days,
        })),
      custom: query?.mode === 'custom',
      from: query?.range.from ?? String(qs.from ?? ''),
      to: query?.range.to ?? String(qs.to ?? ''),
      search: query?.search ?? '',
      perPage: query?.perPage ?? 25,
      rangeParams,
      csvUrl: url(`${base}/export.csv`, {
        ...rangeParams,
        ...(query?.search ? { q: query.search } : {}),
      }),
      dailyCsvUrl: url(`${base}/export.csv`, { ...rangeParams, dataset: 'daily' }),
      dimensionCsv: Object.keys(DIMENSION_DATASETS).map((dataset) => ({
        label: dataset,
        url: url(`${base}/export.csv`, { ...rangeParams, dataset }),
      })),
      filter: filter && {
        ...filter,
        label: DIMENSION_LABELS[filter.dimension],
        clearUrl: url(base, { ...range, ...listParams, ...tabs }),
      },
      panels,
      events,
      visitsCsv:
        context?.trackingEntryPages || context?.trackingExitPages
          ? ['entry', 'exit'].map((dataset) => ({
              label: dataset,
              url: url(`${base}/export.csv`, { ...rangeParams, dataset }),
            }))
          : [],
      eventsCsv: [
        'goals',
        'events',
        ...((context?.trackingFunnels?.funnels.length ?? 0) > 0 ? ['funnels'] : []),
      ].map((dataset) => ({
        label: dataset,
        url: url(`${base}/export.csv`, { ...rangeParams, dataset }),
      })),
      clearSearchUrl: url(base, {
        ...rangeParams,
        ...(listParams.perPage ? { perPage: listParams.perPage } : {}),
      }),
      jsonUrl: url(base, { ...rangeParams, ...listParams, format: 'json' }),
      previousUrl: pages?.previous
        ? url(base, { ...rangeParams, ...listParams, page: String(pages.previous) })
        : null,
      nextUrl: pages?.next
        ? url(base, { ...rangeParams, ...listParams, page: String(pages.next) })
        : null,
    }
  }
}
