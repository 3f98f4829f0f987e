import { DateTime } from 'luxon'
import type {
  AnalyticsRange,
  ChartWidgetData,
  ListWidgetData,
  MetricWidgetData,
  TableWidgetData,
  WidgetTrend,
} from './types.ts'

/**
 * Pure functions that turn figures into widget payloads. They carry words
 * that describe the data (titles, the window a figure covers, trend
 * labels), never colors, icons or CSS classes.
 */

/**
 * Change from `previous` to `current` in whole percent; null when the base
 * is 0 (a change from nothing has no meaningful percentage)
 */
export function buildTrend(current: number, previous: number): WidgetTrend | null {
  if (!Number.isFinite(previous) || previous === 0) return null
  /* `+ 0` turns a rounded -0 into 0 */
  const percent = Math.round(((current - previous) / previous) * 100) + 0
  return {
    percent,
    label: percent > 0 ? `+${percent}%` : `${percent}%`,
    direction: percent > 0 ? 'up' : percent < 0 ? 'down' : 'flat',
    previous,
  }
}

/**
 * Words for the window a range covers, relative to `today`: "today",
 * "yesterday", "last 7 days" (ranges ending today), else the dates
 * ("2026-03-05", "2026-03-01 to 2026-03-07").
 */
export function rangeCaption(
  range: Pick<AnalyticsRange, 'from' | 'to' | 'days'>,
  today: string
): string {
  if (range.to === today) {
    return range.days === 1 ? 'today' : `last ${range.days} days`
  }
  if (range.days === 1) {
    const yesterday = DateTime.fromISO(today, { zone: 'utc' }).minus({ days: 1 }).toISODate()
    return range.from === yesterday ? 'yesterday' : range.from
  }
  return `${range.from} to ${range.to}`
}

/**
 * Words for the previous range a trend compares with: "yesterday",
 * "previous 7 days", or its dates
 */
export function previousCaption(previous: AnalyticsRange, today: string): string {
  const yesterday = DateTime.fromISO(today, { zone: 'utc' }).minus({ days: 1 }).toISODate()
  if (previous.days === 1) return previous.from === yesterday ? 'yesterday' : previous.from
  return `${previous.from} to ${previous.to}`
}

/** A KPI with its trend against the previous period */
export function metricWidget(options: {
  key: string
  title: string
  caption: string
  value: number
  previous: number | null
  /** the most the value can be, when it is only a lower bound ("at least") */
  upTo?: number | null
}): MetricWidgetData {
  const bounded =
    options.upTo !== undefined && options.upTo !== null && options.upTo > options.value
  return {
    kind: 'metric',
    key: options.key,
    title: options.title,
    caption: options.caption,
    value: options.value,
    trend: options.previous === null ? null : buildTrend(options.value, options.previous),
    ...(bounded ? { atLeast: true as const, upTo: options.upTo! } : {}),
  }
}

/** A daily series: one label per day, series of equal length */
export function chartWidget(options: {
  key: string
  title: string
  caption: string
  labels: string[]
  series: ChartWidgetData['series']
}): ChartWidgetData {
  for (const serie of options.series) {
    if (serie.values.length !== options.labels.length) {
      throw new Error(
        `Series "${serie.key}" has ${serie.values.length} values for ${options.labels.length} labels`
      )
    }
  }
  return { kind: 'chart', ...options }
}

/** A ranked list; `share` is each value over `total` (0 when the total is 0) */
export function listWidget(options: {
  key: string
  title: string
  caption: string
  items: Array<{ label: string; value: number; visitors?: number; visitorsUpTo?: number }>
  total: number
  dimension?: ListWidgetData['dimension']
  /** what a value counts (default "views" in the list tag) */
  unit?: string
}): ListWidgetData {
  const { items, total, ...base } = options
  return {
    kind: 'list',
    ...base,
    items: items.map((item) => ({
      label: item.label,
      value: item.value,
      share: total > 0 ? Math.round((item.value / total) * 10_000) / 10_000 : 0,
      ...(item.visitors === undefined ? {} : { visitors: item.visitors }),
      ...(item.visitors !== undefined &&
      item.visitorsUpTo !== undefined &&
      item.visitorsUpTo > item.visitors
        ? { visitorsAtLeast: true as const, visitorsUpTo: item.visitorsUpTo }
        : {}),
    })),
  }
}

/** One page of a table */
export function tableWidget(options: Omit<TableWidgetData, 'kind'>): TableWidgetData {
  return { kind: 'table', ...options }
}
