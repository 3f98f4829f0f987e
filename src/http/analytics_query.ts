import { DateTime } from 'luxon'
import { MAX_RANGE_DAYS, rangeBetween, rangeEnding, readDay } from '../ranges.ts'
import { DEFAULT_PER_PAGE, MAX_PER_PAGE } from '../selector.ts'
import { parseDimensionFilter, type DimensionFilter } from '../read/filter.ts'
import type { AnalyticsRange } from '../widgets/types.ts'

/** The ranges offered by the picker, in days */
export const PRESET_DAYS = [7, 30, 90] as const

/* the selector's bounds: the longest range, rows per page of the table */
export { MAX_RANGE_DAYS, DEFAULT_PER_PAGE, MAX_PER_PAGE }

/** The longest search string kept (longer ones are cut) */
export const MAX_SEARCH_LENGTH = 200

/** What the analytics page and its exports were asked for */
export interface AnalyticsQuery {
  range: AnalyticsRange
  /** 'preset' when the range came from `days` (or the default), 'custom' for from/to */
  mode: 'preset' | 'custom'
  page: number
  perPage: number
  search: string
  /** the one dimension value the figures are narrowed to (`?filter=source:github.com`) */
  filter: DimensionFilter | null
}

/** A parameter that cannot be used, with a message a person can act on */
export interface QueryProblem {
  field: string
  message: string
}

export type ParsedAnalyticsQuery =
  { ok: true; query: AnalyticsQuery } | { ok: false; problems: QueryProblem[] }

function first(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value
}

function text(value: unknown): string | undefined {
  const single = first(value)
  if (single === undefined || single === null) return undefined
  const trimmed = String(single).trim()
  return trimmed === '' ? undefined : trimmed
}

/** A positive integer, clamped into [min, max]; the fallback when it is not a number */
function clampInt(value: unknown, fallback: number, min: number, max: number): number {
  const raw = text(value)
  if (raw === undefined || !/^\d{1,9}$/.test(raw)) return fallback
  return Math.min(max, Math.max(min, Number(raw)))
}

/**
 * Reads `days`, `from`, `to`, `page`, `perPage` (or `per_page`) and `q`
 * from a query string object.
 *
 * The range is `days` (1..366, default `defaultDays`) ending today, or the
 * custom `from`..`to` (either may be left out: `to` defaults to today and
 * `from` to `days` before `to`). A date that is not `YYYY-MM-DD`, `to` before
 * `from` or a range longer than 366 days is a problem the caller answers
 * with 422, and so is a `filter` that is not `<dimension>:<value>` of a
 * known dimension (src/read/filter.ts). Pagination and search never fail:
 * out-of-range values are clamped.
 */
export function parseAnalyticsQuery(
  qs: Record<string, unknown>,
  options: { timezone: string; defaultDays: number; now?: DateTime }
): ParsedAnalyticsQuery {
  const problems: QueryProblem[] = []
  const today = (options.now ?? DateTime.now()).setZone(options.timezone).toISODate()!
  const defaultDays = Math.min(MAX_RANGE_DAYS, Math.max(1, options.defaultDays))

  let days = defaultDays
  const rawDays = text(qs.days)
  if (rawDays !== undefined) {
    if (!/^\d{1,9}$/.test(rawDays) || Number(rawDays) < 1 || Number(rawDays) > MAX_RANGE_DAYS) {
      problems.push({
        field: 'days',
        message: `days must be a whole number of days between 1 and ${MAX_RANGE_DAYS}`,
      })
    } else {
      days = Number(rawDays)
    }
  }

  const rawFrom = text(qs.from)
  const rawTo = text(qs.to)
  const from = rawFrom === undefined ? undefined : readDay(rawFrom)
  const to = rawTo === undefined ? undefined : readDay(rawTo)
  if (from === null) problems.push({ field: 'from', message: 'from must be a date as YYYY-MM-DD' })
  if (to === null) problems.push({ field: 'to', message: 'to must be a date as YYYY-MM-DD' })
  const rawFilter = text(qs.filter)
  const filter = rawFilter === undefined ? null : parseDimensionFilter(rawFilter)
  if (filter && 'problem' in filter) problems.push({ field: 'filter', message: filter.problem })
  if (problems.length > 0) return { ok: false, problems }

  let range: AnalyticsRange
  let mode: AnalyticsQuery['mode'] = 'preset'
  if (from || to) {
    mode = 'custom'
    const end = to?.toISODate() ?? today
    const start = from?.toISODate() ?? rangeEnding(end, days).from
    const between = rangeBetween(start, end)
    if ('problem' in between) {
      const message = between.field === 'to' ? 'to must be on or after from' : between.problem
      return { ok: false, problems: [{ field: between.field, message }] }
    }
    range = between.range
  } else {
    range = rangeEnding(today, days)
  }

  return {
    ok: true,
    query: {
      range,
      mode,
      page: clampInt(qs.page, 1, 1, 1_000_000),
      perPage: clampInt(qs.perPage ?? qs.per_page, DEFAULT_PER_PAGE, 1, MAX_PER_PAGE),
      search: (text(qs.q) ?? '').slice(0, MAX_SEARCH_LENGTH),
      filter: filter as DimensionFilter | null,
    },
  }
}
