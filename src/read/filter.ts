import { isDimension, MAX_VALUE_LENGTH, type DimensionName } from '../dimensions/names.ts'
import { E_TRACKING_INVALID_FILTER } from '../errors.ts'

/**
 * One dimension value the analytics are narrowed to (`?filter=source:github.com`)
 */
export interface DimensionFilter {
  dimension: DimensionName
  value: string
}

/**
 * Names a filter may use besides the dimension names: the singular forms of
 * the CSV datasets (`campaign` is utm_campaign; the others are dimension names)
 */
export const FILTER_ALIASES: Readonly<Record<string, DimensionName>> = Object.freeze({
  campaign: 'utm_campaign',
})

/**
 * Reads `<dimension>:<value>` (the first colon splits: values may hold
 * colons). The value is trimmed and cut to MAX_VALUE_LENGTH characters, as
 * the recorder stores values. Returns a message a person can act on when
 * the text is not a filter.
 */
export function parseDimensionFilter(text: string): DimensionFilter | { problem: string } {
  const colon = text.indexOf(':')
  const name = (colon < 0 ? text : text.slice(0, colon)).trim().toLowerCase()
  const dimension = FILTER_ALIASES[name] ?? name
  if (!isDimension(dimension)) {
    return {
      problem: `filter must be <dimension>:<value>; "${name.slice(0, 40)}" is not a dimension (source, channel, campaign, utm_source, utm_medium, utm_campaign, utm_term, utm_content, browser, browser_version, os, os_version, device, country, language)`,
    }
  }
  const value =
    colon < 0
      ? ''
      : Array.from(text.slice(colon + 1).trim())
          .slice(0, MAX_VALUE_LENGTH)
          .join('')
  if (value === '') return { problem: `filter must be <dimension>:<value>; the value is missing` }
  return { dimension, value }
}

/** `source:github.com` for a filter (what `?filter=` takes) */
export function filterText(filter: DimensionFilter): string {
  return `${filter.dimension}:${filter.value}`
}

/**
 * One dimension value to narrow to: `{ dimension, value }` or the text of
 * `?filter=` (`source:github.com`, `campaign:launch`); null for none
 */
export type FilterInput = DimensionFilter | string | null

/** Validates a filter given to the selector; throws E_TRACKING_INVALID_FILTER */
export function resolveFilter(input: FilterInput | undefined): DimensionFilter | null {
  if (input === null || input === undefined || input === '') return null
  const text = typeof input === 'string' ? input : `${input.dimension}:${input.value}`
  const parsed = parseDimensionFilter(text)
  if ('problem' in parsed) throw new E_TRACKING_INVALID_FILTER([parsed.problem])
  return parsed
}
