import { DateTime } from 'luxon'
import { DEFAULT_PER_PAGE, MAX_PER_PAGE, MAX_RANGE_DAYS } from '../selector.ts'
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
}

/** A parameter that cannot be used, with a message a person can act on */
export interface QueryProblem {
  field: string
  message: string
}

export type ParsedAnalyticsQuery =
  { ok: true; query: AnalyticsQuery } | { ok: false; problems: QueryProblem[] }

const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/

function first(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value
}

function text(value: unknown): string | undefined {
  const single = first(value)
  if (single === undefined || single === null) return undefined
  const trimmed = String(single).trim()
  return trimmed === '' ? undefined : trimmed
}

function day(value: string, zone: string): DateTime | null {
  if (!ISO_DAY.test(value)) return null
  const parsed = DateTime.fromFormat(value, 'yyyy-MM-dd', { zone })
  return parsed.isValid ? parsed.startOf('day') : null
}

/** A positive integer, clamped into [min, max]; the fallback when it is not a number */
function clampInt(value: unknown, fallback: number, min: number, max: number): number {
  const raw = text(value)
  if (raw === undefined || !/^\d{1,9}$/.test(raw)) return fallback
  return Math.min(max, Math.max(min, Number(raw)))
}

/**
 * Builds the range `[to - days + 1, to]`
 */
export function rangeEnding(to: DateTime, days: number): AnalyticsRange {
  return {
    from: to.minus({ days: days - 1 }).toISODate()!,
    to: to.toISODate()!,
    days,
  }
}

/**
 * Reads `days`, `from`, `to`, `page`, `perPage` (or `per_page`) and `q`
 * from a query string object.
 *
 * The range is `days` (1..366, default `defaultDays`) ending today, or the
 * custom `from`..`to` (either may be left out: `to` defaults to today and
 * `from` to `days` before `to`). A date that is not `YYYY-MM-DD`, `to` before
 * `from` or a range longer than 366 days is a problem the caller answers
 * with 422. Pagination and search never fail: out-of-range values are
 * clamped.
 */
export function parseAnalyticsQuery(
  qs: Record<string, unknown>,
  options: { timezone: string; defaultDays: number; now?: DateTime }
): ParsedAnalyticsQuery {
  const problems: QueryProblem[] = []
  const zone = options.timezone
  const today = (options.now ?? DateTime.now()).setZone(zone).startOf('day')
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
  const from = rawFrom === undefined ? undefined : day(rawFrom, zone)
  const to = rawTo === undefined ? undefined : day(rawTo, zone)
  if (from === null) problems.push({ field: 'from', message: 'from must be a date as YYYY-MM-DD' })
  if (to === null) problems.push({ field: 'to', message: 'to must be a date as YYYY-MM-DD' })
  if (problems.length > 0) return { ok: false, problems }

  let range: AnalyticsRange
  let mode: AnalyticsQuery['mode'] = 'preset'
  if (from || to) {
    mode = 'custom'
    const end = to ?? today
    const start = from ?? end.minus({ days: days - 1 })
    if (end < start) {
      return { ok: false, problems: [{ field: 'to', message: 'to must be on or after from' }] }
    }
    const length = Math.round(end.diff(start, 'days').days) + 1
    if (length > MAX_RANGE_DAYS) {
      return {
        ok: false,
        problems: [
          {
            field: 'from',
            message: `the range covers ${length} days; at most ${MAX_RANGE_DAYS} are allowed`,
          },
        ],
      }
    }
    range = rangeEnding(end, length)
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
    },
  }
}
