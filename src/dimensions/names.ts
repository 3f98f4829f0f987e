/**
 * The dimensions of a page view (where the visitor came from and what they
 * use), as stored in Redis and in tracking_dimension_stats. Shared by the
 * recorder (which derives them), the write path, the flush and the reads.
 */

/** Every stored dimension; the names are those of `?filter=<dimension>:<value>` */
export const DIMENSIONS = [
  'source',
  'channel',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'browser',
  'browser_version',
  'os',
  'os_version',
  'device',
  'country',
  'language',
] as const

export type DimensionName = (typeof DIMENSIONS)[number]

/**
 * The dimensions of events and goals (src/events.ts, src/goals.ts). They
 * ride the same write path, caps, flush and table as the dimensions of a
 * view, but are not view dimensions: no `?filter=`, no dimension panel.
 * A row's `views` counts completions (events, or views of a goal's paths).
 *
 * - `event`: the event's name
 * - `event_prop`: name, key and value of one prop (eventPropValue())
 * - `event_page`: name and path of the page the event happened on (eventPageValue())
 * - `goal`: the path pattern of a path goal whose pattern the view's path matches
 * - `funnel`: a funnel's step (funnelStepValue() of src/funnels.ts): the
 *   visits that reached it and their visitors, on the visit's start day;
 *   written by the stores when they apply a batch's funnel trails, never
 *   by the recorder (no cap: the config bounds the values)
 */
export const EVENT_DIMENSIONS = ['event', 'event_prop', 'event_page', 'goal', 'funnel'] as const

export type EventDimensionName = (typeof EVENT_DIMENSIONS)[number]

/** Every dimension the stores, the flush and tracking_dimension_stats keep */
export const STORED_DIMENSIONS: readonly StoredDimensionName[] = Object.freeze([
  ...DIMENSIONS,
  ...EVENT_DIMENSIONS,
])

export type StoredDimensionName = DimensionName | EventDimensionName

/**
 * The switches of the `dimensions` config object and the dimensions each
 * one turns on (all on by default; `countries` only when `countryHeader`
 * or `geoipDatabase` is set)
 */
export const DIMENSION_GROUPS = Object.freeze({
  sources: ['source', 'channel'],
  campaigns: ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'],
  browsers: ['browser', 'browser_version'],
  os: ['os', 'os_version'],
  devices: ['device'],
  countries: ['country'],
  languages: ['language'],
} satisfies Record<string, readonly DimensionName[]>)

export type DimensionGroup = keyof typeof DIMENSION_GROUPS

/** The value that counts a day's new values of a dimension beyond `maxValuesPerDimension` */
export const OTHER_VALUE = '(other)'

/** Default of `maxValuesPerDimension`: distinct values per dimension per day */
export const DEFAULT_MAX_VALUES_PER_DIMENSION = 1_000

/** Longest stored value of a view dimension (longer ones are cut) */
export const MAX_VALUE_LENGTH = 100

/**
 * Longest stored value of an event dimension: the width of
 * tracking_dimension_stats.value once the upgrade migration
 * (widen_tracking_dimension_stats_values) ran. The values the event
 * recorder builds stay below it (name 120 + key 100 + value 100 + 2
 * separators = 322; a goal pattern is at most 300).
 */
export const MAX_EVENT_VALUE_LENGTH = 400

/** Longest event name (longer ones are cut) */
export const MAX_EVENT_NAME_LENGTH = 120
/** Longest prop key and prop value of an event (longer ones are cut) */
export const MAX_PROP_LENGTH = 100
/** Props an event keeps (the first ones given; the rest are dropped) */
export const MAX_EVENT_PROPS = 10
/** Longest path an event_page value keeps (the event's path is cut there) */
export const MAX_EVENT_PATH_LENGTH = 200

/**
 * What joins the parts of an event_prop or event_page value. Names, keys,
 * values and paths never hold it (control characters are removed from
 * them), so the parts split back unambiguously.
 */
export const EVENT_PART_SEPARATOR = '\u001f'

/** The event_prop value of one prop: `name<US>key<US>value` */
export function eventPropValue(name: string, key: string, value: string): string {
  return `${name}${EVENT_PART_SEPARATOR}${key}${EVENT_PART_SEPARATOR}${value}`
}

/** The event_page value of an event's path: `name<US>path` */
export function eventPageValue(name: string, path: string): string {
  return `${name}${EVENT_PART_SEPARATOR}${path}`
}

/** Name, key and value of an event_prop value; null for `(other)` or a value cut short */
export function splitEventProp(value: string): [name: string, key: string, value: string] | null {
  const first = value.indexOf(EVENT_PART_SEPARATOR)
  if (first <= 0) return null
  const second = value.indexOf(EVENT_PART_SEPARATOR, first + 1)
  if (second <= first + 1 || second === value.length - 1) return null
  return [value.slice(0, first), value.slice(first + 1, second), value.slice(second + 1)]
}

/** Name and path of an event_page value; null for `(other)` or a value cut short */
export function splitEventPage(value: string): [name: string, path: string] | null {
  const first = value.indexOf(EVENT_PART_SEPARATOR)
  if (first <= 0 || first === value.length - 1) return null
  return [value.slice(0, first), value.slice(first + 1)]
}

/** The longest value a dimension stores */
export function maxValueLength(dimension: StoredDimensionName): number {
  return EVENT_NAMES.has(dimension) ? MAX_EVENT_VALUE_LENGTH : MAX_VALUE_LENGTH
}

/**
 * One (dimension, value) pair as the write path carries it: `source:github.com`.
 * Dimension names hold no colon, so the first colon splits the pair.
 */
export function dimensionKey(dimension: StoredDimensionName, value: string): string {
  return `${dimension}:${value}`
}

/** The dimension and the value of a dimensionKey() */
export function splitDimensionKey(key: string): [dimension: StoredDimensionName, value: string] {
  const colon = key.indexOf(':')
  return [key.slice(0, colon) as StoredDimensionName, key.slice(colon + 1)]
}

const NAMES: ReadonlySet<string> = new Set(DIMENSIONS)
const EVENT_NAMES: ReadonlySet<string> = new Set(EVENT_DIMENSIONS)
const STORED_NAMES: ReadonlySet<string> = new Set(STORED_DIMENSIONS)

/** true for a known view dimension name (the names `?filter=` takes) */
export function isDimension(name: string): name is DimensionName {
  return NAMES.has(name)
}

/** true for a dimension the stores keep: a view dimension or an event dimension */
export function isStoredDimension(name: string): name is StoredDimensionName {
  return STORED_NAMES.has(name)
}
