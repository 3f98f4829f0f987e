import { stringify } from 'csv-stringify/sync'
import type { ChartWidgetData, TableWidgetData } from '../widgets/types.ts'

/** The tables the CSV export can produce */
export type CsvDataset = 'pages' | 'daily'

/**
 * Writes rows as RFC 4180 CSV. Every text cell that a spreadsheet would run
 * as a formula (starting with = + - @, tab or carriage return, or their
 * full-width twins) gets a leading apostrophe, so a tracked path such as
 * `=cmd()` stays text. Numbers are left alone: -3 is a number, not a formula.
 */
export function toCsv(header: string[], rows: Array<Array<string | number>>): string {
  return stringify([header, ...rows], {
    escape_formulas: true,
    record_delimiter: '\r\n',
    quoted_match: /[\r\n]/,
  })
}

/**
 * The page-views table as CSV, with the table's own columns
 */
export function tableToCsv(table: TableWidgetData): string {
  const columns = table.columns
  return toCsv(
    columns.map((column) => column.label),
    table.rows.map((row) => columns.map((column) => row[column.key] ?? ''))
  )
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
