import {
  OTHER_VALUE,
  splitEventPage,
  splitEventProp,
  type EventDimensionName,
} from '../dimensions/names.ts'
import type { TrackingGoalSettings } from '../types.ts'
import { buildTrend } from '../widgets/builders.ts'
import type {
  AnalyticsRange,
  EventPageCount,
  EventPropCount,
  WidgetTrend,
} from '../widgets/types.ts'
import {
  breakdowns,
  liveDimensions,
  valueFigures,
  valueVisitors,
  type LiveDimensions,
} from './dimensions.ts'
import type { LiveIndex, ReadScope } from './types.ts'

/** The dimensions of events and goals, read together */
export const EVENT_READ_DIMENSIONS: readonly EventDimensionName[] = Object.freeze([
  'event',
  'event_prop',
  'event_page',
  'goal',
])

/**
 * (event, key, value) triples and (event, page) pairs read per range, the
 * most counted first: the props and pages of the events are grouped from
 * them (a triple beyond them is not listed, its event's count is exact)
 */
export const EVENT_DETAIL_ROWS = 1000

/** One event name over a range */
export interface EventRow {
  name: string
  count: number
  visitors: number
  props: Record<string, EventPropCount[]>
  pages: EventPageCount[]
}

/** The events of a range */
export interface EventsRead {
  /** the most counted names (count desc, name asc), at most `limit` */
  rows: EventRow[]
  /** events of every name */
  total: number
  /** per name (every name of the detail rows): its props */
  props: Map<string, Record<string, EventPropCount[]>>
  /** counts of the props and pages that went to "(other)" (beyond the day's cap) */
  otherProps: number
  otherPages: number
}

/**
 * The events of a range, SQL + live: the top `limit` names with their
 * distinct visitors (the union of their sketches), and the props and pages
 * of every name among the EVENT_DETAIL_ROWS most counted triples and
 * pairs, at most `valueLimit` values per key and pages per name. One ranked
 * SQL query for the three dimensions.
 */
export async function readEvents(
  scope: ReadScope,
  range: AnalyticsRange,
  index: LiveIndex,
  options: { limit: number; valueLimit: number; live?: LiveDimensions }
): Promise<EventsRead> {
  const live = options.live ?? (await liveDimensions(scope, range, index, EVENT_READ_DIMENSIONS))
  const lists = await breakdowns(scope, range, index, ['event', 'event_prop', 'event_page'], {
    limit: Math.max(options.limit, EVENT_DETAIL_ROWS),
    live,
    visitors: false,
  })
  const names = lists.get('event')!
  const top = names.rows.slice(0, Math.max(0, options.limit))
  const visitors = await valueVisitors(
    scope,
    range,
    live,
    'event',
    top.map((row) => row.value)
  )

  const valueLimit = Math.max(0, options.valueLimit)
  const props = new Map<string, Record<string, EventPropCount[]>>()
  let otherProps = 0
  for (const row of lists.get('event_prop')!.rows) {
    const parts = row.value === OTHER_VALUE ? null : splitEventProp(row.value)
    if (parts === null) {
      otherProps += row.views
      continue
    }
    const [name, key, value] = parts
    let byKey = props.get(name)
    if (!byKey) props.set(name, (byKey = Object.create(null) as Record<string, EventPropCount[]>))
    const values = (byKey[key] ??= [])
    if (values.length < valueLimit) values.push({ value, count: row.views })
  }
  const pages = new Map<string, EventPageCount[]>()
  let otherPages = 0
  for (const row of lists.get('event_page')!.rows) {
    const parts = row.value === OTHER_VALUE ? null : splitEventPage(row.value)
    if (parts === null) {
      otherPages += row.views
      continue
    }
    const [name, path] = parts
    let list = pages.get(name)
    if (!list) pages.set(name, (list = []))
    if (list.length < valueLimit) list.push({ path, count: row.views })
  }
  return {
    rows: top.map((row) => ({
      name: row.value,
      count: row.views,
      visitors: visitors.get(row.value)?.value ?? 0,
      props: { ...(props.get(row.value) ?? {}) },
      pages: pages.get(row.value) ?? [],
    })),
    total: names.total,
    props,
    otherProps,
    otherPages,
  }
}

/** A goal's figures over one range */
export interface GoalFigures {
  visitors: number
  completions: number
  /** percent of the range's unique visitors, one decimal, at most 100 */
  conversionRate: number
}

/** One goal over a range and the previous one */
export interface GoalRow extends GoalFigures {
  name: string
  kind: 'event' | 'path'
  target: string
  previous: GoalFigures
  /** conversions (completing visitors) against the previous range */
  trend: WidgetTrend | null
}

/** Completing visitors as a percentage of all visitors (0 without visitors) */
export function conversionRate(visitors: number, uniqueVisitors: number): number {
  if (!(uniqueVisitors > 0)) return 0
  return Math.min(100, Math.round((visitors / uniqueVisitors) * 1000) / 10)
}

/** One range of readGoals: the range, its unique visitors and (optionally) its live counts */
export interface GoalRange {
  range: AnalyticsRange
  uniqueVisitors: number
  live?: LiveDimensions
}

/**
 * The figures of every goal over a range and the previous one. An event
 * goal reads its event's own rows (`event:<name>`: so a goal added later
 * shows the event's history too), a path goal the `goal:<pattern>` rows
 * the recorder counted for views of matching paths (from the day the goal
 * was configured). Visitors are unions of sketches, never sums.
 */
export async function readGoals(
  scope: ReadScope,
  index: LiveIndex,
  goals: readonly TrackingGoalSettings[],
  current: GoalRange,
  previous: GoalRange
): Promise<GoalRow[]> {
  if (goals.length === 0) return []
  const events = goals.flatMap((goal) => (goal.event === null ? [] : [goal.event]))
  const paths = goals.flatMap((goal) => (goal.path === null ? [] : [goal.path]))
  const figures = async (one: GoalRange) => {
    const live = one.live ?? (await liveDimensions(scope, one.range, index, EVENT_READ_DIMENSIONS))
    const [byEvent, byPath] = await Promise.all([
      valueFigures(scope, one.range, live, 'event', events),
      valueFigures(scope, one.range, live, 'goal', paths),
    ])
    return (goal: TrackingGoalSettings): GoalFigures => {
      const found = goal.event === null ? byPath.get(goal.path!) : byEvent.get(goal.event)
      const visitors = found?.visitors ?? 0
      return {
        visitors,
        completions: found?.views ?? 0,
        conversionRate: conversionRate(visitors, one.uniqueVisitors),
      }
    }
  }
  const [now, before] = await Promise.all([figures(current), figures(previous)])
  return goals.map((goal) => {
    const figure = now(goal)
    const earlier = before(goal)
    return {
      name: goal.name,
      kind: goal.event === null ? 'path' : 'event',
      target: goal.event ?? goal.path!,
      ...figure,
      previous: earlier,
      trend: buildTrend(figure.visitors, earlier.visitors),
    }
  })
}
