import type { HttpContext } from '@adonisjs/core/http'
import { skipTracking } from '../skip.ts'
import debug from '../debug.ts'
import type { TrackingSettings } from '../types.ts'
import type { AnalyticsContext, TableWidgetData } from '../widgets/types.ts'
import {
  MAX_PER_PAGE,
  PRESET_DAYS,
  parseAnalyticsQuery,
  type AnalyticsQuery,
  type QueryProblem,
} from './analytics_query.ts'
import { chartToCsv, tableToCsv, type CsvDataset } from './csv.ts'
import { trackingUi } from './view_helpers.ts'

/**
 * Computes the analytics of one request (the selector, in production)
 */
export type AnalyticsContextLoader = (
  ctx: HttpContext,
  query: AnalyticsQuery
) => Promise<AnalyticsContext>

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
}

type Format = 'html' | 'json' | 'csv'

/** Rows read per selector call while building the CSV export */
const EXPORT_PAGE_SIZE = MAX_PER_PAGE
/** The CSV export stops after this many rows */
export const EXPORT_MAX_ROWS = 50_000

/** What the request's view renderer looks like (Edge, when the app uses it) */
interface ViewRenderer {
  render(template: string, state?: Record<string, unknown>): Promise<string>
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

  constructor(
    settings: TrackingSettings,
    loadContext: AnalyticsContextLoader,
    options: Omit<AnalyticsRouteOptions, 'loadContext'> = {}
  ) {
    this.#settings = settings
    this.#loadContext = loadContext
    this.#layout = options.layout ?? this.#settings.analyticsLayout
    this.#loginUrl = options.loginUrl ?? this.#settings.loginUrl
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
    if (dataset !== 'pages' && dataset !== 'daily') {
      return this.#problems(ctx, 'csv', [
        { field: 'dataset', message: 'dataset must be pages or daily' },
      ])
    }

    let body: string
    if (dataset === 'daily') {
      const context = await this.#loadContext(ctx, { ...query, page: 1 })
      body = chartToCsv(context.trackingViewsChart)
    } else {
      body = tableToCsv(await this.#allRows(ctx, query))
    }

    const { from, to } = query.range
    ctx.response.header('Content-Type', 'text/csv; charset=utf-8')
    ctx.response.header(
      'Content-Disposition',
      `attachment; filename="tracking-${dataset}-${from}-${to}.csv"`
    )
    return ctx.response.send(body)
  }

  /**
   * Every row of the page-views table for the query (search included),
   * read page by page up to EXPORT_MAX_ROWS
   */
  async #allRows(ctx: HttpContext, query: AnalyticsQuery): Promise<TableWidgetData> {
    let page = 1
    const firstContext = await this.#loadContext(ctx, { ...query, page, perPage: EXPORT_PAGE_SIZE })
    const first = firstContext.trackingRecentPageViews
    const rows = [...first.rows]
    const total = Math.min(first.total, EXPORT_MAX_ROWS)
    while (rows.length < total) {
      page++
      const nextContext = await this.#loadContext(ctx, {
        ...query,
        page,
        perPage: EXPORT_PAGE_SIZE,
      })
      const next = nextContext.trackingRecentPageViews
      if (next.rows.length === 0) break
      rows.push(...next.rows)
    }
    return { ...first, rows: rows.slice(0, EXPORT_MAX_ROWS), page: 1, perPage: rows.length }
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

    return {
      baseUrl: base,
      exportUrl: `${base}/export.csv`,
      presets: [...new Set([this.#settings.analyticsDays, ...PRESET_DAYS])]
        .filter((days) => days <= 366)
        .sort((a, b) => a - b)
        .map((days) => ({
          days,
          label: `${days} days`,
          url: url(base, { days: String(days), ...listParams }),
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
