/**
 * Reading the files of `node ace tracking:import`: bytes, CSV records with
 * the line each ends on, header columns, counts. Shared by the readers of
 * src/import/sources.ts and src/import/plausible_dimensions.ts.
 */

import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { parse } from 'csv-parse/sync'

/** A problem with the whole source (missing file, wrong header): nothing is imported */
export class ImportSourceError extends Error {}

/** sha256 of the parts, each ended by a NUL: the import id of a source */
export function digest(parts: Array<string | Buffer>): string {
  const hash = createHash('sha256')
  for (const part of parts) hash.update(part).update('\u0000')
  return hash.digest('hex')
}

/** The records of a CSV text with the line each ends on (the header is line 1) */
export function readCsv(text: Buffer, what: string): Array<{ line: number; cells: string[] }> {
  let records: Array<{ record: string[]; info: { lines: number } }>
  try {
    records = parse(text, {
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>
  } catch (error) {
    throw new ImportSourceError(`${what} is not a readable CSV file: ${(error as Error).message}`)
  }
  return records.map(({ record, info }) => ({ line: info.lines, cells: record }))
}

/** Column positions by lowercased header name */
export function columnsOf(header: string[]): Map<string, number> {
  const out = new Map<string, number>()
  header.forEach((name, index) => {
    const key = name.trim().toLowerCase()
    if (!out.has(key)) out.set(key, index)
  })
  return out
}

/** Throws naming the columns the header lacks */
export function requireColumns(columns: Map<string, number>, names: string[], what: string) {
  const missing = names.filter((name) => !columns.has(name.toLowerCase()))
  if (missing.length > 0) {
    throw new ImportSourceError(
      `${what}: the header (line 1) has no ${missing.map((name) => `"${name}"`).join(', ')} column`
    )
  }
}

/** A whole non-negative number (views, visitors), or null */
export function readCount(value: unknown): number | null {
  const text = String(value ?? '').trim()
  if (!/^\d+$/.test(text)) return null
  const count = Number(text)
  return Number.isSafeInteger(count) ? count : null
}

/** The bytes of a file, or an ImportSourceError naming it */
export async function readSourceFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file)
  } catch (error) {
    throw new ImportSourceError(`cannot read "${file}": ${(error as Error).message}`)
  }
}
