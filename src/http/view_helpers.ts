import type { ChartWidgetData, TableWidgetData, WidgetData } from '../widgets/types.ts'

/** One labelled tick of an axis, in SVG user units */
export interface ChartTick {
  position: number
  label: string
}

/** One series of a chart, ready to draw */
export interface ChartSeriesGeometry {
  key: string
  name: string
  /** index of the series, used for the CSS color class */
  index: number
  /** SVG path of the line */
  line: string
  /** SVG path of the area under the line (closed on the x axis) */
  area: string
  points: Array<{ x: number; y: number; value: number; label: string }>
  total: number
}

/** What the chart component draws: every coordinate precomputed */
export interface ChartGeometry {
  width: number
  height: number
  plot: { left: number; right: number; top: number; bottom: number }
  xTicks: ChartTick[]
  yTicks: ChartTick[]
  series: ChartSeriesGeometry[]
  /** true when every value is 0 or there is no point at all */
  empty: boolean
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/**
 * "1,234" for any finite number; what is not a number is shown as is
 */
function formatNumber(value: unknown): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return String(value ?? '')
  return value.toLocaleString('en-US', { maximumFractionDigits: 1 })
}

/**
 * A compact axis label: 950, 1.2k, 3.4M
 */
function compactNumber(value: number): string {
  if (Math.abs(value) >= 1_000_000) return `${Number((value / 1_000_000).toFixed(1))}M`
  if (Math.abs(value) >= 10_000) return `${Math.round(value / 1000)}k`
  if (Math.abs(value) >= 1000) return `${Number((value / 1000).toFixed(1))}k`
  return String(Number(value.toFixed(1)))
}

/**
 * "Mar 5" for "2026-03-05" (ISO dates are parsed without a timezone shift);
 * with `year`, "Mar 5, 2026"
 */
function formatDay(iso: unknown, year = false): string {
  const match = typeof iso === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso) : null
  if (!match) return String(iso ?? '')
  const label = `${MONTHS[Number(match[2]) - 1] ?? match[2]} ${Number(match[3])}`
  return year ? `${label}, ${match[1]}` : label
}

/**
 * "Mar 1 – Mar 14, 2026", or "Mar 1, 2025 – Jan 3, 2026" across years
 */
function formatRange(range: { from: string; to: string } | null | undefined): string {
  if (!range) return ''
  if (range.from === range.to) return formatDay(range.from, true)
  const sameYear = range.from.slice(0, 4) === range.to.slice(0, 4)
  return `${formatDay(range.from, !sameYear)} – ${formatDay(range.to, true)}`
}

/** "42%" for a share of 0.42 */
function formatShare(share: unknown): string {
  if (typeof share !== 'number' || !Number.isFinite(share)) return ''
  const percent = share * 100
  return `${percent > 0 && percent < 1 ? '<1' : Math.round(percent)}%`
}

/** "60%" for a percentage of 60 (one decimal at most: "33.3%") */
function formatPercent(value: unknown): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return String(value ?? '')
  return `${formatNumber(value)}%`
}

/**
 * A duration in seconds as people read it: "45s", "2m 0s", "1h 5m"
 * (whole seconds; what is not a number is shown as is)
 */
function formatDuration(seconds: unknown): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return String(seconds ?? '')
  const total = Math.max(0, Math.round(seconds))
  if (total < 60) return `${total}s`
  if (total < 3600) return `${Math.floor(total / 60)}m ${total % 60}s`
  return `${Math.floor(total / 3600).toLocaleString('en-US')}h ${Math.floor((total % 3600) / 60)}m`
}

/** How a KPI's figures read: a count, a percentage or a duration */
export type MetricFormat = 'number' | 'percent' | 'duration'

/** The format of the package's own KPIs that are not counts, by key */
const METRIC_FORMATS: Readonly<Record<string, MetricFormat>> = Object.freeze({
  trackingBounceRate: 'percent',
  trackingVisitDuration: 'duration',
})

/**
 * A KPI figure (its value, or the previous value of its trend) in the
 * format `format` names, else the one its key implies (bounce rate in
 * percent, visit duration as a duration), else a number
 */
function formatMetric(
  data: { key?: unknown } | null | undefined,
  value: unknown,
  format?: MetricFormat | null
): string {
  const chosen = format ?? METRIC_FORMATS[String(data?.key ?? '')] ?? 'number'
  if (chosen === 'percent') return formatPercent(value)
  if (chosen === 'duration') return formatDuration(value)
  return formatNumber(value)
}

/** CSS width of a share bar: "42%", kept within 0..100 */
function barWidth(share: unknown): string {
  const value = typeof share === 'number' && Number.isFinite(share) ? share : 0
  return `${Math.round(Math.min(1, Math.max(0, value)) * 1000) / 10}%`
}

/**
 * The smallest "nice" number (1, 2, 2.5, 5 times a power of ten) at least
 * `value`: the axis maximum stays readable
 */
function niceCeil(value: number): number {
  if (value <= 0) return 1
  const exponent = Math.floor(Math.log10(value))
  const base = 10 ** exponent
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (value <= step * base) return step * base
  }
  return 10 * base
}

function round(value: number): number {
  return Math.round(value * 10) / 10
}

/**
 * Turns a chart payload into SVG coordinates: a plot area with y ticks at
 * round numbers, at most `maxXTicks` date labels, and one line and area
 * path per series. Pure arithmetic, so the chart needs no JavaScript in the
 * browser.
 */
function chartGeometry(
  data: ChartWidgetData,
  options: { width?: number; height?: number; maxXTicks?: number } = {}
): ChartGeometry {
  const width = options.width ?? 720
  const height = options.height ?? 240
  const plot = { left: 44, right: width - 12, top: 12, bottom: height - 28 }
  const labels = Array.isArray(data?.labels) ? data.labels : []
  const allSeries = Array.isArray(data?.series) ? data.series : []
  const count = labels.length

  let max = 0
  for (const series of allSeries) {
    for (const value of series.values ?? []) if (Number.isFinite(value) && value > max) max = value
  }
  /* integer counts: ticks are whole numbers, 4 steps */
  const yMax = max <= 4 ? 4 : niceCeil(max / 4) * 4
  const yTicks: ChartTick[] = []
  for (let step = 0; step <= 4; step++) {
    const value = (yMax / 4) * step
    yTicks.push({
      position: round(plot.bottom - ((plot.bottom - plot.top) * value) / yMax),
      label: compactNumber(value),
    })
  }

  const xAt = (index: number) =>
    count <= 1
      ? (plot.left + plot.right) / 2
      : plot.left + ((plot.right - plot.left) * index) / (count - 1)
  const yAt = (value: number) =>
    plot.bottom - ((plot.bottom - plot.top) * Math.max(0, value || 0)) / yMax

  const maxXTicks = Math.max(2, options.maxXTicks ?? 7)
  const every = Math.max(1, Math.ceil(count / maxXTicks))
  const xTicks: ChartTick[] = []
  for (let index = 0; index < count; index += every) {
    xTicks.push({ position: round(xAt(index)), label: formatDay(labels[index]) })
  }
  /* the last day is always labelled, unless it would collide with the previous label */
  if (count > 1 && (count - 1) % every !== 0) {
    const last = xTicks[xTicks.length - 1]
    const position = round(xAt(count - 1))
    if (last && position - last.position < (plot.right - plot.left) / (maxXTicks * 1.5))
      xTicks.pop()
    xTicks.push({ position, label: formatDay(labels[count - 1]) })
  }

  const series = allSeries.map((entry, index): ChartSeriesGeometry => {
    const points = labels.map((label, position) => {
      const value = Number(entry.values?.[position] ?? 0) || 0
      return { x: round(xAt(position)), y: round(yAt(value)), value, label }
    })
    const line = points
      .map((point, position) => `${position === 0 ? 'M' : 'L'}${point.x} ${point.y}`)
      .join(' ')
    const area =
      points.length > 0
        ? `${line} L${points[points.length - 1].x} ${plot.bottom} L${points[0].x} ${plot.bottom} Z`
        : ''
    return {
      key: String(entry.key),
      name: String(entry.name),
      index,
      line,
      area,
      points,
      total: points.reduce((sum, point) => sum + point.value, 0),
    }
  })

  return { width, height, plot, xTicks, yTicks, series, empty: count === 0 || max === 0 }
}

/** Page count and neighbours of a paginated table */
function pagination(data: Pick<TableWidgetData, 'page' | 'perPage' | 'total'>) {
  const perPage = Math.max(1, Number(data?.perPage) || 1)
  const total = Math.max(0, Number(data?.total) || 0)
  const pages = Math.max(1, Math.ceil(total / perPage))
  const page = Math.min(Math.max(1, Number(data?.page) || 1), pages)
  return {
    page,
    pages,
    total,
    first: total === 0 ? 0 : (page - 1) * perPage + 1,
    last: Math.min(total, page * perPage),
    previous: page > 1 ? page - 1 : null,
    next: page < pages ? page + 1 : null,
  }
}

/**
 * Splits the declared widgets into rows, keeping their order: consecutive
 * metrics share a row, every other widget has its own. Unknown kinds and
 * empty entries are skipped.
 */
function widgetGroups(
  widgets: unknown
): Array<{ kind: WidgetData['kind']; widgets: WidgetData[] }> {
  const groups: Array<{ kind: WidgetData['kind']; widgets: WidgetData[] }> = []
  const list = Array.isArray(widgets) ? (widgets as Array<WidgetData | null | undefined>) : []
  for (const widget of list) {
    if (!widget || !['metric', 'chart', 'list', 'table'].includes(widget.kind)) continue
    const last = groups[groups.length - 1]
    if (widget.kind === 'metric' && last?.kind === 'metric') last.widgets.push(widget)
    else groups.push({ kind: widget.kind, widgets: [widget] })
  }
  return groups
}

/**
 * The helpers the `tracking` Edge components call, registered as the Edge
 * global `trackingUi`. Formatting lives here, not in the selector, so the
 * widget payloads stay presentation-free.
 */
export const trackingUi = Object.freeze({
  number: formatNumber,
  compact: compactNumber,
  day: formatDay,
  range: formatRange,
  share: formatShare,
  percent: formatPercent,
  duration: formatDuration,
  metric: formatMetric,
  bar: barWidth,
  chart: chartGeometry,
  pagination,
  groups: widgetGroups,
})

export type TrackingUi = typeof trackingUi
