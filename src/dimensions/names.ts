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

/** Longest stored value (longer ones are cut) */
export const MAX_VALUE_LENGTH = 100

/**
 * One (dimension, value) pair as the write path carries it: `source:github.com`.
 * Dimension names hold no colon, so the first colon splits the pair.
 */
export function dimensionKey(dimension: DimensionName, value: string): string {
  return `${dimension}:${value}`
}

/** The dimension and the value of a dimensionKey() */
export function splitDimensionKey(key: string): [dimension: DimensionName, value: string] {
  const colon = key.indexOf(':')
  return [key.slice(0, colon) as DimensionName, key.slice(colon + 1)]
}

const NAMES: ReadonlySet<string> = new Set(DIMENSIONS)

/** true for a known dimension name */
export function isDimension(name: string): name is DimensionName {
  return NAMES.has(name)
}
