import { MAX_EVENT_NAME_LENGTH } from '../dimensions/names.ts'
import { listWidget } from '../widgets/builders.ts'
import type {
  AnalyticsContext,
  EventPropCount,
  EventsWidgetData,
  GoalsWidgetData,
  ListWidgetData,
} from '../widgets/types.ts'

/** The query parameters of the Events panel: the event shown, and its tab */
export const EVENT_PARAM = 'event'
export const EVENT_TAB_PARAM = 'event_tab'
/** The tab of an event's pages; a prop's tab is `prop:<key>` */
export const PAGES_TAB = 'pages'

/** Longest tab value read (`prop:` and a key of 100 characters) */
const MAX_TAB_LENGTH = 120

/** A tab link of the event detail */
interface TabLink {
  label: string
  url: string
  current: boolean
}

/** The Goals and Events panels of the analytics page, ready for @!tracking.list */
export interface EventPanels {
  /** every goal: completions, visitors, conversion rate (the bar) and trend; event goals link to their event */
  goals: { data: GoalsWidgetData; hrefs: string[] } | null
  /** the most counted events; each links to its props */
  events: { data: EventsWidgetData; hrefs: string[] } | null
  /** the props (one tab per key) or pages of the event shown */
  detail: { event: string; title: string; data: ListWidgetData; tabs: TabLink[] } | null
}

/** The event and tab asked for in the query string (`?event=signup&event_tab=prop:plan`) */
export function selectedEvent(qs: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {}
  const read = (name: string, max: number) => {
    const raw = qs[name]
    const value = String(Array.isArray(raw) ? raw[0] : (raw ?? ''))
    if (value !== '' && value.length <= max) out[name] = value
  }
  read(EVENT_PARAM, MAX_EVENT_NAME_LENGTH)
  read(EVENT_TAB_PARAM, MAX_TAB_LENGTH)
  return out
}

/**
 * The Goals and Events panels of a context. `url(params)` makes a link to
 * the page that keeps the current range, search, filter and tabs;
 * `selected` is what selectedEvent() read. The event shown is the one
 * asked for when the context lists it (among its events, or as an event
 * goal), else the most counted event; its first prop is the default tab.
 * Plain links: the page stays script-free.
 */
export function eventPanels(
  context: AnalyticsContext,
  options: { url: (params: Record<string, string>) => string; selected: Record<string, string> }
): EventPanels {
  const goals = context.trackingGoals
  const events = context.trackingEvents
  const link = (event: string) => `${options.url({ [EVENT_PARAM]: event })}#trk-event-detail`
  const out: EventPanels = { goals: null, events: null, detail: null }
  if (goals && goals.items.length > 0) {
    out.goals = {
      data: goals,
      hrefs: goals.items.map((goal) => (goal.kind === 'event' ? link(goal.target) : '')),
    }
  }
  if (!events) return out
  out.events = { data: events, hrefs: events.items.map((item) => link(item.name)) }

  const asked = options.selected[EVENT_PARAM]
  const item =
    events.items.find((one) => one.name === asked) ?? (asked ? undefined : events.items[0])
  const goal = item
    ? undefined
    : goals?.items.find((one) => one.kind === 'event' && one.target === asked)
  const name = item?.name ?? goal?.target
  if (name === undefined) return out
  const props: Record<string, EventPropCount[]> = item?.props ?? goal?.props ?? {}
  const pages = item?.pages ?? []
  const count = item?.count ?? goal?.completions ?? 0
  const keys = Object.keys(props)
  const tabNames = [...keys.map((key) => `prop:${key}`), ...(pages.length > 0 ? [PAGES_TAB] : [])]
  if (tabNames.length === 0) return out
  const askedTab = options.selected[EVENT_TAB_PARAM]
  const tab = askedTab !== undefined && tabNames.includes(askedTab) ? askedTab : tabNames[0]
  const items =
    tab === PAGES_TAB
      ? pages.map((page) => ({ label: page.path, value: page.count }))
      : props[tab.slice('prop:'.length)].map((one) => ({ label: one.value, value: one.count }))
  out.detail = {
    event: name,
    title: `Event: ${name}`,
    data: listWidget({
      key: 'trackingEventDetail',
      title: tab === PAGES_TAB ? `${name}: pages` : `${name}: ${tab.slice('prop:'.length)}`,
      caption: context.trackingEvents?.caption ?? '',
      items,
      total: count,
    }),
    tabs: tabNames.map((one) => ({
      label: one === PAGES_TAB ? 'Pages' : one.slice('prop:'.length),
      url: `${options.url({ [EVENT_PARAM]: name, [EVENT_TAB_PARAM]: one })}#trk-event-detail`,
      current: one === tab,
    })),
  }
  out.detail.data.unit = 'events'
  return out
}
