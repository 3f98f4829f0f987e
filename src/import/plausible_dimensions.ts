/**
 * The dimension files of a Plausible CSV export (imported_sources,
 * imported_browsers, imported_operating_systems, imported_devices,
 * imported_locations), read as the rows of tracking_dimension_stats: views
 * and daily visitors per (day, dimension, value), the values spelled as the
 * recorder spells what it derives. Nothing here writes: src/import/importer.ts does.
 *
 * Plausible's columns (its CSV importer's input structures): sources `date,
 * source, referrer, utm_source, utm_medium, utm_campaign, utm_content,
 * utm_term, pageviews, visitors, ...`; browsers `date, browser,
 * browser_version, visitors, ..., pageviews`; operating systems `date,
 * operating_system, operating_system_version, visitors, ..., pageviews`;
 * devices `date, device, visitors, ..., pageviews`; locations `date,
 * country, region, city, visitors, ..., pageviews`.
 */

import type { IncomingHttpHeaders } from 'node:http'
import { basename } from 'node:path'
import { BROWSER_NAMES, OS_NAMES } from '../dimensions/agent.ts'
import { countryCode, DimensionDeriver, UNKNOWN_VALUE } from '../dimensions/derive.ts'
import { splitDimensionKey, type DimensionName } from '../dimensions/names.ts'
import { cleanValue } from '../dimensions/values.ts'
import { readDay } from '../ranges.ts'
import { comparePaths } from '../tables.ts'
import {
  columnsOf,
  digest,
  readCount,
  readCsv,
  readSourceFile,
  requireColumns,
} from './csv_files.ts'

/** Views and daily visitors of one value of a dimension on a day */
export interface DimensionImportRow {
  day: string
  dimension: DimensionName
  value: string
  views: number
  /** the file's unique visitors of the value that day: a daily number, no sketch */
  visitors: number
}

/** What one dimension file holds: an import of its own (import id = its name and bytes) */
export interface DimensionFilePlan {
  /** the file's name (without its directory) */
  file: string
  importId: string
  /** one row per (day, dimension, value), by day, dimension, views desc, value */
  rows: DimensionImportRow[]
  /** the dimensions the file gives */
  dimensions: DimensionName[]
  /**
   * Why the whole file was left out, or null: exports made before
   * Plausible added `pageviews` to its dimension tables hold visitors
   * only, and this package counts page views
   */
  skipped: string | null
}

/** A row of the file that was skipped: its line and why */
export type BadLine = (line: number, reason: string) => void

/** Values Plausible writes for "nothing known" */
const NOT_SET: ReadonlySet<string> = new Set(['', '(not set)', '(none)', 'unknown'])

/** Plausible's names (UAInspector's) that differ from this package's (ua-parser-js') */
const PLAUSIBLE_BROWSERS: Readonly<Record<string, string>> = {
  ...BROWSER_NAMES,
  'Microsoft Edge': 'Edge',
}
const PLAUSIBLE_OS: Readonly<Record<string, string>> = {
  ...OS_NAMES,
  'Mac': 'macOS',
  'GNU/Linux': 'Linux',
}

/** Plausible's screen sizes as this package's device classes (a laptop is a desktop) */
const DEVICES: Readonly<Record<string, string>> = {
  desktop: 'desktop',
  laptop: 'desktop',
  mobile: 'mobile',
  tablet: 'tablet',
}

const UTM_COLUMNS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content']

/** A cleaned value, or null when it says nothing */
function known(raw: string | undefined): string | null {
  const value = cleanValue(raw ?? '')
  return NOT_SET.has(value.toLowerCase()) ? null : value
}

/**
 * How one kind of file turns a row into (dimension, value) pairs, given the
 * positions of its columns
 */
interface FileKind {
  /** the file name, as Plausible's export writes it (with `_<from>_<to>.csv`) */
  pattern: RegExp
  /** the column that names the value, required with date and pageviews */
  column: string
  dimensions(columns: Map<string, number>): DimensionName[]
  reader(columns: Map<string, number>): (cells: string[]) => Array<[DimensionName, string]>
}

/**
 * The source, channel and utm values of a sources row, derived by the
 * recorder's own code (src/dimensions/derive.ts) from the referrer and tags
 * the row gives, so they are the values a recorded view would have had: the
 * referrer's registrable domain (Plausible keeps the referrer as host and
 * path, without scheme), or `utm_source` when tagged; without either,
 * Plausible's source name as a `ref` parameter would give it; nothing at
 * all is `Direct / None`.
 */
function sourceReader(columns: Map<string, number>) {
  const deriver = new DimensionDeriver({
    groups: {
      sources: true,
      campaigns: true,
      browsers: false,
      os: false,
      devices: false,
      countries: false,
      languages: false,
    },
  })
  const at = (cells: string[], name: string) => {
    const index = columns.get(name)
    return index === undefined ? undefined : cells[index]
  }
  return (cells: string[]): Array<[DimensionName, string]> => {
    const headers: IncomingHttpHeaders = {}
    const referrer = known(at(cells, 'referrer'))
    if (referrer !== null) {
      headers.referer = referrer.includes('://') ? referrer : `https://${referrer}`
    }
    const params = new URLSearchParams()
    for (const name of UTM_COLUMNS) {
      const value = known(at(cells, name))
      if (value !== null) params.set(name, value)
    }
    const source = known(at(cells, 'source'))
    if (
      referrer === null &&
      !params.has('utm_source') &&
      source !== null &&
      source.toLowerCase() !== 'direct / none'
    ) {
      params.set('ref', source)
    }
    const query = params.toString()
    const keys = deriver.derive(headers, query === '' ? '/' : `/?${query}`) ?? []
    /* the deriver makes the recorder's dimensions only */
    return keys.map((key) => splitDimensionKey(key) as [DimensionName, string])
  }
}

const KINDS: readonly FileKind[] = [
  {
    pattern: /^imported_sources.*\.csv$/i,
    column: 'source',
    dimensions: (columns) => [
      'source',
      'channel',
      ...(UTM_COLUMNS.filter((name) => columns.has(name)) as DimensionName[]),
    ],
    reader: sourceReader,
  },
  {
    pattern: /^imported_browsers.*\.csv$/i,
    column: 'browser',
    dimensions: (columns) =>
      columns.has('browser_version') ? ['browser', 'browser_version'] : ['browser'],
    reader: (columns) => {
      const name = columns.get('browser')!
      const version = columns.get('browser_version')
      return (cells) => {
        const raw = known(cells[name])
        const browser = raw === null ? UNKNOWN_VALUE : (PLAUSIBLE_BROWSERS[raw] ?? raw)
        const out: Array<[DimensionName, string]> = [['browser', browser]]
        if (version !== undefined) {
          /* as the recorder keeps it: the name and the major version */
          const major = known(cells[version])?.split('.')[0].trim() ?? ''
          const value =
            browser === UNKNOWN_VALUE || major === '' ? browser : cleanValue(`${browser} ${major}`)
          out.push(['browser_version', value])
        }
        return out
      }
    },
  },
  {
    pattern: /^imported_operating_systems.*\.csv$/i,
    column: 'operating_system',
    dimensions: (columns) =>
      columns.has('operating_system_version') ? ['os', 'os_version'] : ['os'],
    reader: (columns) => {
      const name = columns.get('operating_system')!
      const version = columns.get('operating_system_version')
      return (cells) => {
        const raw = known(cells[name])
        const os = raw === null ? UNKNOWN_VALUE : (PLAUSIBLE_OS[raw] ?? raw)
        const out: Array<[DimensionName, string]> = [['os', os]]
        if (version !== undefined) {
          const number = known(cells[version])
          const value = os === UNKNOWN_VALUE || number === null ? os : cleanValue(`${os} ${number}`)
          out.push(['os_version', value])
        }
        return out
      }
    },
  },
  {
    pattern: /^imported_devices.*\.csv$/i,
    column: 'device',
    dimensions: () => ['device'],
    reader: (columns) => {
      const name = columns.get('device')!
      return (cells) => [['device', DEVICES[(cells[name] ?? '').trim().toLowerCase()] ?? 'other']]
    },
  },
  {
    pattern: /^imported_locations.*\.csv$/i,
    column: 'country',
    dimensions: () => ['country'],
    reader: (columns) => {
      const name = columns.get('country')!
      return (cells) => [['country', countryCode(cells[name]) ?? UNKNOWN_VALUE]]
    },
  },
]

/** true for the file names of the dimension files of a Plausible export */
export function isPlausibleDimensionFile(file: string): boolean {
  const name = basename(file)
  return KINDS.some((kind) => kind.pattern.test(name))
}

/**
 * One dimension file of a Plausible export: its rows summed per (day,
 * dimension, value) (a locations file has a row per city, a sources file
 * one per referrer and tags), `pageviews` as views and `visitors` as the
 * value's daily visitors. A row with a bad date or count goes to `bad`
 * with its line and is skipped; values are cleaned as recorded ones are.
 */
export async function readPlausibleDimensionFile(
  file: string,
  bad: BadLine
): Promise<DimensionFilePlan> {
  const name = basename(file)
  const kind = KINDS.find((one) => one.pattern.test(name))
  if (!kind) throw new Error(`not a Plausible dimension file: ${name}`)
  const bytes = await readSourceFile(file)
  const plan: DimensionFilePlan = {
    file: name,
    importId: digest(['plausible-dimensions', name, bytes]),
    rows: [],
    dimensions: [],
    skipped: null,
  }
  const records = readCsv(bytes, `"${file}"`)
  if (records.length === 0) return plan
  const columns = columnsOf(records[0].cells)
  requireColumns(columns, ['date', kind.column], `"${file}"`)
  if (!columns.has('pageviews')) {
    plan.skipped = `${name} has no "pageviews" column (an export from before Plausible counted page views per ${kind.column}): left out`
    return plan
  }
  plan.dimensions = kind.dimensions(columns)
  const read = kind.reader(columns)
  const [date, pageviews] = ['date', 'pageviews'].map((column) => columns.get(column)!)
  const visitorsAt = columns.get('visitors')
  const sums = new Map<string, DimensionImportRow>()
  for (const { line, cells } of records.slice(1)) {
    const day = readDay(cells[date])?.toISODate()
    if (!day) {
      bad(line, `invalid date "${cells[date] ?? ''}" (expected YYYY-MM-DD)`)
      continue
    }
    const views = readCount(cells[pageviews])
    if (views === null) {
      bad(line, `invalid pageviews "${cells[pageviews] ?? ''}" (expected a whole number >= 0)`)
      continue
    }
    const visitors = visitorsAt === undefined ? 0 : readCount(cells[visitorsAt])
    if (visitors === null) {
      bad(line, `invalid visitors "${cells[visitorsAt!] ?? ''}" (expected a whole number >= 0)`)
      continue
    }
    for (const [dimension, value] of read(cells)) {
      if (value === '') continue
      const key = `${day}\u0000${dimension}\u0000${value}`
      const row = sums.get(key)
      if (row) {
        row.views += views
        row.visitors += visitors
      } else {
        sums.set(key, { day, dimension, value, views, visitors })
      }
    }
  }
  /* a value without views is not one this package counts (sessions of events only) */
  plan.rows = [...sums.values()]
    .filter((row) => row.views > 0)
    .sort(
      (a, b) =>
        (a.day < b.day ? -1 : a.day > b.day ? 1 : 0) ||
        (a.dimension < b.dimension ? -1 : a.dimension > b.dimension ? 1 : 0) ||
        b.views - a.views ||
        comparePaths(a.value, b.value)
    )
  return plan
}
