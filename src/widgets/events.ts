import type { EventsRead, GoalRow } from '../read/events.ts'
import type { EventsWidgetData, GoalsWidgetData } from './types.ts'

/**
 * The events of a range as a list widget (trackingEvents): `label` = the
 * name, `value` = its count, `share` = of every event's count, `visitors`;
 * each item also carries `name`, `count`, `props` and `pages`
 */
export function eventsWidget(read: EventsRead, caption: string): EventsWidgetData {
  const { total } = read
  return {
    kind: 'list',
    key: 'trackingEvents',
    title: 'Events',
    caption,
    unit: 'events',
    items: read.rows.map((row) => ({
      label: row.name,
      value: row.count,
      share: total > 0 ? Math.round((row.count / total) * 10_000) / 10_000 : 0,
      visitors: row.visitors,
      name: row.name,
      count: row.count,
      props: row.props,
      pages: row.pages,
    })),
    otherProps: read.otherProps,
    otherPages: read.otherPages,
  }
}

/**
 * The goals of the config as a list widget (trackingGoals), in config
 * order: `label` = the name, `value` = completions, `visitors` = the
 * visitors who completed it, `share` = the conversion rate as 0..1 (the
 * bar of the list), `trend` = conversions against the previous range;
 * event goals carry their event's props
 */
export function goalsWidget(
  goals: GoalRow[],
  props: EventsRead['props'] | null,
  caption: string
): GoalsWidgetData {
  return {
    kind: 'list',
    key: 'trackingGoals',
    title: 'Goals',
    caption,
    unit: 'completions',
    items: goals.map((goal) => ({
      label: goal.name,
      value: goal.completions,
      share: Math.round(goal.conversionRate * 10) / 1000,
      visitors: goal.visitors,
      trend: goal.trend,
      name: goal.name,
      kind: goal.kind,
      target: goal.target,
      completions: goal.completions,
      conversionRate: goal.conversionRate,
      previous: goal.previous,
      ...(goal.kind === 'event' ? { props: { ...(props?.get(goal.target) ?? {}) } } : {}),
    })),
  }
}
