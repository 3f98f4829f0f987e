/**
 * Readers of the formats `node ace tracking:import` knows. Each turns a
 * source into rows of (day, path, views), bad rows with their line number
 * (the header is line 1) and, when the source has them, unique visitors per
 * day. Nothing here writes: src/import/importer.ts does.
 */

import { readdir, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { DateTime } from 'luxon'
import type { QueryClientContract } from '@adonisjs/lucid/types/database'
import { readDay } from '../ranges.ts'
import { sqlPath } from '../tables.ts'
import {
  columnsOf,
  digest,
  ImportSourceError,
  readCount as readViews,
  readCsv,
  readSourceFile,
  requireColumns,
} from './csv_files.ts'
import {
  isPlausibleDimensionFile,
  readPlausibleDimensionFile,
  type DimensionFilePlan,
} from './plausible_dimensions.ts'

export { ImportSourceError }
export type { DimensionFilePlan }

/** The sources of `tracking:import <source>` */
export const IMPORT_SOURCES = ['page-views', 'goatcounter', 'plausible'] as const

/** One of IMPORT_SOURCES */
export type ImportSource = (typeof IMPORT_SOURCES)[number]

/** A good row: views of a path on a day */
export interface ImportRow {
  /** where it is: its line in the file (header = 1), or its row number in a table */
  line: number
  day: string
  path: string
  views: number
}

/** A row that was skipped, and why */
export interface BadRow {
  /** `line 7`, `row 7` or `imported_pages.csv line 7` */
  where: string
  reason: string
}

/** What a source holds, read whole before anything is written */
export interface ImportPlan {
  source: ImportSource
  /** the file, directory or table name, as given */
  name: string
  /** sha256 of the source name and its bytes (or rows): the same file is the same import */
  importId: string
  rows: ImportRow[]
  bad: BadRow[]
  /**
   * Unique visitors per day as the source counted them (daily numbers,
   * not mergeable across days: no sketch comes with them)
   */
  visitors: Map<string, number>
  /** rows that are not page views and were left out on purpose (bots, events) */
  ignored: number
  /**
   * Dimension rows (sources, browsers, ...) of the files that have them
   * (Plausible's), each file an import of its own: a file imported once is
   * not added again, whichever export directory it is read from
   */
  dimensionFiles: DimensionFilePlan[]
  /** what the command should tell about the source as a whole (a file left out) */
  warnings: string[]
}

/** Why a page-views row is bad, or the row */
function pageViewRow(
  path: unknown,
  date: unknown,
  views: unknown,
  line: number
): ImportRow | string {
  const text =
    typeof path === 'string' ? path : path === null || path === undefined ? '' : String(path)
  if (!text.startsWith('/')) return `invalid path "${text}" (expected a path starting with /)`
  const day =
    date instanceof Date ? DateTime.fromJSDate(date).toISODate() : readDay(date)?.toISODate()
  if (!day) return `invalid date "${String(date ?? '')}" (expected YYYY-MM-DD)`
  const count = readViews(views)
  if (count === null) return `invalid views "${String(views ?? '')}" (expected a whole number >= 0)`
  return { line, day, path: sqlPath(text), views: count }
}

/**
 * A CSV of the original module's rows (codex_django.tracking's PageView):
 * a header naming `path`, `date` and `views` in any order (other columns,
 * such as `id`, are ignored)
 */
export async function readPageViewsCsv(file: string): Promise<ImportPlan> {
  const bytes = await readSourceFile(file)
  const records = readCsv(bytes, `"${file}"`)
  const plan = emptyPlan('page-views', file, digest(['page-views', bytes]))
  if (records.length === 0) throw new ImportSourceError(`"${file}" is empty (no header line)`)
  const columns = columnsOf(records[0].cells)
  requireColumns(columns, ['path', 'date', 'views'], `"${file}"`)
  const [path, date, views] = ['path', 'date', 'views'].map((name) => columns.get(name)!)
  for (const { line, cells } of records.slice(1)) {
    const row = pageViewRow(cells[path], cells[date], cells[views], line)
    if (typeof row === 'string') plan.bad.push({ where: `line ${line}`, reason: row })
    else plan.rows.push(row)
  }
  return plan
}

/** Table names Lucid can quote safely: letters, digits, `_`, `.` (schema), `$` */
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/

/**
 * The rows of a table of the app's database shaped like the original
 * module's (columns path, date, views), read in (date, path) order so the
 * same rows are the same import
 */
export async function readPageViewsTable(
  client: QueryClientContract,
  table: string
): Promise<ImportPlan> {
  if (!TABLE_NAME.test(table)) throw new ImportSourceError(`"${table}" is not a table name`)
  if (!(await client.schema.hasTable(table))) {
    throw new ImportSourceError(`the table "${table}" does not exist in the database`)
  }
  const rows = (await client
    .from(table)
    .select('path', 'date', 'views')
    .orderBy('date')
    .orderBy('path')) as Array<{ path: unknown; date: unknown; views: unknown }>
  const lines: string[] = []
  const parsed: Array<ImportRow | string> = []
  rows.forEach((row, index) => {
    const date =
      row.date instanceof Date
        ? `${row.date.getFullYear()}-${String(row.date.getMonth() + 1).padStart(2, '0')}-${String(row.date.getDate()).padStart(2, '0')}`
        : String(row.date ?? '').slice(0, 10)
    const result = pageViewRow(row.path, date, row.views, index + 1)
    parsed.push(result)
    lines.push(JSON.stringify([row.path, date, String(row.views)]))
  })
  const plan = emptyPlan('page-views', table, digest(['page-views-table', table, lines.join('\n')]))
  parsed.forEach((row, index) => {
    if (typeof row === 'string') plan.bad.push({ where: `row ${index + 1}`, reason: row })
    else plan.rows.push(row)
  })
  return plan
}

function emptyPlan(source: ImportSource, name: string, importId: string): ImportPlan {
  return {
    source,
    name,
    importId,
    rows: [],
    bad: [],
    visitors: new Map(),
    ignored: 0,
    dimensionFiles: [],
    warnings: [],
  }
}

/**
 * GoatCounter's CSV export (https://www.goatcounter.com/help/export): one
 * line per pageview, the header's first field prefixed with the format
 * version (`2Path`). Versions 1 and 2 are read by column name. Events
 * (`Event` true) and bots (`Bot` not 0) are left out, as GoatCounter's own
 * counts leave them out; `Date` (RFC 3339) becomes a day in `timezone`.
 * Unique visitors per day are the distinct `Session` values of the day.
 */
export async function readGoatCounterCsv(file: string, timezone: string): Promise<ImportPlan> {
  const bytes = await readSourceFile(file)
  const records = readCsv(bytes, `"${file}"`)
  if (records.length === 0) throw new ImportSourceError(`"${file}" is empty (no header line)`)
  const header = [...records[0].cells]
  /* `2Path` as GoatCounter writes it; `2,Path` as its documentation shows it */
  let version: string | undefined
  let separate = false
  const first = /^\s*(\d+)\s*(path)?\s*$/i.exec(header[0] ?? '')
  if (first) {
    version = first[1]
    if (first[2]) header[0] = 'Path'
    else {
      header.shift()
      separate = true
    }
  }
  if (version !== '1' && version !== '2') {
    throw new ImportSourceError(
      `"${file}" is not a GoatCounter CSV export of version 1 or 2 (its header starts with "${records[0].cells[0] ?? ''}")`
    )
  }
  const columns = columnsOf(header)
  requireColumns(columns, ['Path', 'Event', 'Bot', 'Session', 'Date'], `"${file}"`)
  /* with a separate version cell in the header, a row as long as the header has one too */
  const width = records[0].cells.length
  const at = (cells: string[], name: string) =>
    cells[columns.get(name)! + (separate && cells.length === width ? 1 : 0)]
  const plan = emptyPlan('goatcounter', file, digest(['goatcounter', bytes]))
  const sessions = new Map<string, Set<string>>()
  for (const { line, cells } of records.slice(1)) {
    const path = (at(cells, 'path') ?? '').trim()
    const date = (at(cells, 'date') ?? '').trim()
    const event = (at(cells, 'event') ?? '').trim().toLowerCase()
    const bot = (at(cells, 'bot') ?? '').trim()
    const when = DateTime.fromISO(date, { setZone: true })
    if (path === '') {
      plan.bad.push({ where: `line ${line}`, reason: 'empty Path' })
      continue
    }
    if (!when.isValid) {
      plan.bad.push({ where: `line ${line}`, reason: `invalid Date "${date}" (expected RFC 3339)` })
      continue
    }
    if (event !== 'true' && event !== 'false') {
      plan.bad.push({
        where: `line ${line}`,
        reason: `invalid Event "${event}" (expected true or false)`,
      })
      continue
    }
    if (!/^\d+$/.test(bot)) {
      plan.bad.push({ where: `line ${line}`, reason: `invalid Bot "${bot}" (expected a number)` })
      continue
    }
    if (event === 'true' || bot !== '0') {
      plan.ignored++
      continue
    }
    const day = when.setZone(timezone).toISODate()!
    plan.rows.push({ line, day, path: sqlPath(path), views: 1 })
    const session = (at(cells, 'session') ?? '').trim()
    if (session !== '') {
      let seen = sessions.get(day)
      if (!seen) sessions.set(day, (seen = new Set()))
      seen.add(session)
    }
  }
  for (const [day, seen] of sessions) plan.visitors.set(day, seen.size)
  return plan
}

/**
 * The CSV files of a Plausible export (the unzipped directory, or one of
 * its CSV files): `imported_pages*.csv` (date, page, pageviews) gives the
 * page views; `imported_visitors*.csv` (date, visitors), when present next
 * to it, the unique visitors per day; the dimension files (sources,
 * browsers, operating systems, devices, locations: see
 * src/import/plausible_dimensions.ts) the rows of tracking_dimension_stats.
 * The import id of the pages and visitors is a hash of those files; each
 * dimension file is an import of its own.
 */
export async function readPlausibleExport(target: string): Promise<ImportPlan> {
  let files: string[]
  try {
    const info = await stat(target)
    const names = info.isDirectory() ? await readdir(target) : null
    files = names ? names.sort().map((name) => join(target, name)) : [target]
  } catch (error) {
    throw new ImportSourceError(`cannot read "${target}": ${(error as Error).message}`)
  }
  const pages = files.filter((file) => /^imported_pages.*\.csv$/i.test(basename(file)))
  const visitors = files.filter((file) => /^imported_visitors.*\.csv$/i.test(basename(file)))
  const dimensions = files.filter(isPlausibleDimensionFile)
  if (pages.length === 0 && dimensions.length === 0) {
    throw new ImportSourceError(
      `"${target}" holds no imported_pages*.csv file of a Plausible export (nor its sources, browsers, operating systems, devices or locations)`
    )
  }
  const parts: Array<string | Buffer> = ['plausible']
  const plan = emptyPlan('plausible', target, '')
  for (const file of pages) {
    const bytes = await readSourceFile(file)
    parts.push(basename(file), bytes)
    const records = readCsv(bytes, `"${file}"`)
    if (records.length === 0) continue
    const columns = columnsOf(records[0].cells)
    requireColumns(columns, ['date', 'page', 'pageviews'], `"${file}"`)
    const [date, page, views] = ['date', 'page', 'pageviews'].map((name) => columns.get(name)!)
    for (const { line, cells } of records.slice(1)) {
      const row = pageViewRow(cells[page], cells[date], cells[views], line)
      const where =
        pages.length > 1 || files.length > 1 ? `${basename(file)} line ${line}` : `line ${line}`
      if (typeof row === 'string')
        plan.bad.push({ where, reason: row.replace('views', 'pageviews') })
      else plan.rows.push(row)
    }
  }
  for (const file of visitors) {
    const bytes = await readSourceFile(file)
    parts.push(basename(file), bytes)
    const records = readCsv(bytes, `"${file}"`)
    if (records.length === 0) continue
    const columns = columnsOf(records[0].cells)
    requireColumns(columns, ['date', 'visitors'], `"${file}"`)
    const [date, count] = ['date', 'visitors'].map((name) => columns.get(name)!)
    for (const { line, cells } of records.slice(1)) {
      const day = readDay(cells[date])?.toISODate()
      const number = readViews(cells[count])
      if (!day || number === null) {
        plan.bad.push({
          where: `${basename(file)} line ${line}`,
          reason: !day
            ? `invalid date "${cells[date] ?? ''}" (expected YYYY-MM-DD)`
            : `invalid visitors "${cells[count] ?? ''}" (expected a whole number >= 0)`,
        })
        continue
      }
      plan.visitors.set(day, (plan.visitors.get(day) ?? 0) + number)
    }
  }
  for (const file of dimensions) {
    const where = files.length > 1 ? `${basename(file)} line ` : 'line '
    const read = await readPlausibleDimensionFile(file, (line, reason) =>
      plan.bad.push({ where: `${where}${line}`, reason })
    )
    if (read.skipped !== null) plan.warnings.push(read.skipped)
    else plan.dimensionFiles.push(read)
  }
  plan.importId = digest(parts)
  return plan
}
