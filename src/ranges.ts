import { DateTime } from 'luxon'
import { E_TRACKING_INVALID_DATE, E_TRACKING_INVALID_RANGE } from './errors.ts'
import type { AnalyticsRange } from './widgets/types.ts'

/**
 * The longest range read at once (one year, leap day included): the
 * selector, the analytics query string and `analyticsDays` all stop here
 */
export const MAX_RANGE_DAYS = 366

const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/

/**
 * The one YYYY-MM-DD parser: the UTC midnight of a real calendar day
 * written exactly so (surrounding spaces ignored), null otherwise
 */
export function readDay(value: unknown): DateTime | null {
  const text = String(value ?? '').trim()
  if (!ISO_DAY.test(text)) return null
  const parsed = DateTime.fromFormat(text, 'yyyy-MM-dd', { zone: 'utc' })
  return parsed.isValid && parsed.toISODate() === text ? parsed : null
}

/**
 * Returns the day when `value` is a real calendar day written YYYY-MM-DD,
 * throws E_TRACKING_INVALID_DATE naming the flag otherwise.
 */
export function parseDay(value: string, flag: string): string {
  const parsed = readDay(value)
  if (!parsed) throw new E_TRACKING_INVALID_DATE([flag, String(value)])
  return parsed.toISODate()!
}

/** Why `days` cannot be a range length, or null when it can */
export function daysProblem(days: unknown): string | null {
  if (typeof days === 'number' && Number.isInteger(days) && days >= 1 && days <= MAX_RANGE_DAYS) {
    return null
  }
  return `days must be a whole number between 1 and ${MAX_RANGE_DAYS}, got ${String(days)}`
}

/** The range of `days` days ending on `to` (YYYY-MM-DD), `days` unchecked */
export function rangeEnding(to: string, days: number): AnalyticsRange {
  const end = DateTime.fromISO(to, { zone: 'utc' })
  return { from: end.minus({ days: days - 1 }).toISODate()!, to: end.toISODate()!, days }
}

/**
 * The range from..to (real YYYY-MM-DD days), or why it is not one:
 * `to` before `from`, or longer than MAX_RANGE_DAYS
 */
export function rangeBetween(
  from: string,
  to: string
): { range: AnalyticsRange } | { field: 'from' | 'to'; problem: string } {
  const start = DateTime.fromISO(from, { zone: 'utc' })
  const end = DateTime.fromISO(to, { zone: 'utc' })
  if (end < start) return { field: 'to', problem: `from "${from}" is after to "${to}"` }
  const days = Math.round(end.diff(start, 'days').days) + 1
  if (days > MAX_RANGE_DAYS) {
    return {
      field: 'from',
      problem: `the range covers ${days} days; at most ${MAX_RANGE_DAYS} are allowed`,
    }
  }
  return { range: { from: start.toISODate()!, to: end.toISODate()!, days } }
}

/**
 * Validates a range: a number of days ending `today`, or real days
 * from..to (from <= to, at most MAX_RANGE_DAYS). Throws
 * E_TRACKING_INVALID_DATE or E_TRACKING_INVALID_RANGE.
 */
export function resolveRange(
  input: number | { from: string; to: string },
  today: string
): AnalyticsRange {
  if (typeof input === 'number') {
    const problem = daysProblem(input)
    if (problem) throw new E_TRACKING_INVALID_RANGE([problem])
    return rangeEnding(today, input)
  }
  const result = rangeBetween(parseDay(input.from, 'from'), parseDay(input.to, 'to'))
  if ('problem' in result) throw new E_TRACKING_INVALID_RANGE([result.problem])
  return result.range
}

/** Every day of a range, oldest first */
export function daysOf(range: Pick<AnalyticsRange, 'from' | 'days'>): string[] {
  const start = DateTime.fromISO(range.from, { zone: 'utc' })
  const out: string[] = []
  for (let i = 0; i < range.days; i++) out.push(start.plus({ days: i }).toISODate()!)
  return out
}

/** The range of equal length that ends the day before `range` starts */
export function previousRange(range: AnalyticsRange): AnalyticsRange {
  const start = DateTime.fromISO(range.from, { zone: 'utc' })
  return rangeEnding(start.minus({ days: 1 }).toISODate()!, range.days)
}

/** A flush's choice of days: one day, a range (either end open) or every pending day */
export interface DaySelection {
  date?: string
  from?: string
  to?: string
}

/**
 * Validates the day selection of a flush: one day, a range (either end may
 * be open) or nothing (every pending day). Flags are named as the caller
 * spells them (`date` or `--date`).
 */
export function resolveDaySelection(options: DaySelection, flagPrefix = ''): DaySelection {
  const date = options.date ? parseDay(options.date, `${flagPrefix}date`) : undefined
  const from = options.from ? parseDay(options.from, `${flagPrefix}from`) : undefined
  const to = options.to ? parseDay(options.to, `${flagPrefix}to`) : undefined
  if (date && (from || to)) {
    const error = new E_TRACKING_INVALID_DATE([`${flagPrefix}date`, date])
    error.message = `Invalid date for "${flagPrefix}date": cannot be combined with ${flagPrefix}from/${flagPrefix}to`
    throw error
  }
  if (from && to && from > to) {
    const error = new E_TRACKING_INVALID_DATE([`${flagPrefix}from`, from])
    error.message = `Invalid date for "${flagPrefix}from": "${from}" is after ${flagPrefix}to "${to}"`
    throw error
  }
  return { date, from, to }
}
