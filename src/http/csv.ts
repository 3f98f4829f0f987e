import { Readable } from 'node:stream'
import { stringify as stringifyStream, type Options } from 'csv-stringify'
import { stringify } from 'csv-stringify/sync'
import type { DimensionName } from '../dimensions/names.ts'
import type { ChartWidgetData } from '../widgets/types.ts'

/**
 * The dimension datasets of the CSV export (`?dataset=`, a contract) and
 * the dimensions each one lists, one row per value
 */
export const DIMENSION_DATASETS = Object.freeze({
  sources: ['source'],
  channels: ['channel'],
  campaigns: ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'],
  browsers: ['browser', 'browser_version'],
  os: ['os', 'os_version'],
  devices: ['device'],
  countries: ['country'],
  languages: ['language'],
} satisfies Record<string, readonly DimensionName[]>)

export type DimensionDataset = keyof typeof DIMENSION_DATASETS

/** The datasets of events, goals and funnels (`?dataset=goals`, `events`, `funnels`) */
export type EventDataset = 'goals' | 'events' | 'funnels'

/** The datasets of visits' entry and exit pages (`?dataset=entry`, `?dataset=exit`) */
export type VisitDataset = 'entry' | 'exit'

/** The tables the CSV export can produce */
export type CsvDataset = 'pages' | 'daily' | DimensionDataset | EventDataset | VisitDataset

/** Every dataset name, for the message of an unknown one */
export const CSV_DATASETS: readonly CsvDataset[] = Object.freeze([
  'pages',
  'daily',
  ...(Object.keys(DIMENSION_DATASETS) as DimensionDataset[]),
  'goals',
  'events',
  'funnels',
  'entry',
  'exit',
])

/** Columns of a dimension dataset: share is of the dimension's views over the range */
export const DIMENSION_COLUMNS = Object.freeze(['dimension', 'value', 'views', 'visitors', 'share'])

/**
 * Columns of the goals dataset, one row per goal in config order: kind is
 * `event` or `path`, target the event name or the path pattern,
 * conversion_rate in percent of the range's unique visitors
 */
export const GOAL_COLUMNS = Object.freeze([
  'goal',
  'kind',
  'target',
  'visitors',
  'completions',
  'conversion_rate',
])

/**
 * Columns of the events dataset: per event a row of kind `event` (its
 * count and visitors), then a row of kind `prop` per prop value (key,
 * value, count) and of kind `page` per page (value = the path, count)
 */
export const EVENT_COLUMNS = Object.freeze(['event', 'kind', 'key', 'value', 'count', 'visitors'])

/**
 * Columns of the funnels dataset, one row per (funnel, step) in config
 * order: step from 1, goal the step's goal name, visitors and visits that
 * reached it, drop_off (percent of the previous step's visitors who did
 * not reach it; empty for the first step) and conversion_rate (percent of
 * the first step's visitors who reached it)
 */
export const FUNNEL_COLUMNS = Object.freeze([
  'funnel',
  'step',
  'goal',
  'visitors',
  'visits',
  'drop_off',
  'conversion_rate',
])

/**
 * Columns of the entry and exit datasets, one row per path: the visits
 * that entered (or left) there over the range, and their share of all
 * visits of the range (0..1)
 */
export const VISIT_PAGE_COLUMNS = Object.freeze(['path', 'visits', 'share'])

/** A CSV record: text and number cells */
export type CsvRecord = Array<string | number>

/**
 * RFC 4180 CSV. Every text cell that a spreadsheet would run as a formula
 * (starting with = + - @, tab or carriage return, or their full-width
 * twins) gets a leading apostrophe, so a tracked path such as `=cmd()`
 * stays text. Numbers are left alone: -3 is a number, not a formula.
 */
const CSV_OPTIONS: Options = {
  escape_formulas: true,
  record_delimiter: '\r\n',
  quoted_match: /[\r\n]/,
}

/** Writes rows as CSV (see CSV_OPTIONS) */
export function toCsv(header: string[], rows: CsvRecord[]): string {
  return stringify([header, ...rows], CSV_OPTIONS)
}

/**
 * The same CSV as toCsv, written as the records are read: a stream for
 * `ctx.response.stream`, never the whole file in memory
 */
export function csvStream(header: string[], rows: Iterable<CsvRecord>): Readable {
  function* records() {
    yield header
    yield* rows
  }
  const out = stringifyStream(CSV_OPTIONS)
  Readable.from(records())
    .on('error', (error) => out.destroy(error))
    .pipe(out)
  return out
}

/**
 * The day-by-day series as CSV: one row per day, one column per series
 */
export function chartToCsv(chart: ChartWidgetData): string {
  return toCsv(
    ['date', ...chart.series.map((series) => series.key)],
    chart.labels.map((label, index) => [
      label,
      ...chart.series.map((series) => series.values[index] ?? 0),
    ])
  )
}
