import { DateTime } from 'luxon'
import type { FlushDatabase } from './flush.ts'
import { TRACKING_TABLES, VISIT_TABLES } from './tables.ts'

/**
 * Options of prunePageViews
 */
export interface PruneOptions {
  /** Rows of days strictly older than this many days ago go */
  olderThanDays: number
  /** Timezone "today" is taken in (the settings' timezone) */
  timezone?: string
  /** Count what would go without deleting it */
  dryRun?: boolean
  /** Lucid connection name */
  connection?: string
  /** "Today" (tests) */
  now?: DateTime
}

/**
 * What a prune deleted (or would delete, on a dry run)
 */
export interface PruneSummary {
  /** first day that is kept (YYYY-MM-DD) */
  cutoff: string
  pageViews: number
  dailyStats: number
  flushes: number
  /** rows of tracking_dimension_stats (sources, browsers, ..., events, goals, funnels) */
  dimensionStats: number
  /** rows of the five visit tables together */
  visitRows: number
  dryRun: boolean
}

/** The tables pruned by day besides page views, daily stats and flushes, present or not (upgrade path) */
const OPTIONAL_TABLES = [TRACKING_TABLES.dimensionStats, ...VISIT_TABLES]

/**
 * Parses `400d`, `400` or `52w` into days; null when it is not a positive duration
 */
export function parseRetention(value: string | number): number | null {
  const match = /^\s*(\d+)\s*([dw]?)\s*$/i.exec(String(value))
  if (!match) return null
  const days = Number(match[1]) * (match[2].toLowerCase() === 'w' ? 7 : 1)
  return days >= 1 && Number.isSafeInteger(days) ? days : null
}

/**
 * Deletes the rows of the days older than the retention: page views, daily
 * stats, applied-flush records, dimension rows and visit figures (tables an
 * app has not migrated yet are skipped)
 */
export async function prunePageViews(
  db: FlushDatabase,
  options: PruneOptions
): Promise<PruneSummary> {
  const today = (options.now ?? DateTime.now()).setZone(options.timezone ?? 'UTC')
  const cutoff = today.startOf('day').minus({ days: options.olderThanDays }).toISODate()!
  const client = db.connection(options.connection)
  const dryRun = options.dryRun ?? false

  const count = async (table: string, column: string) => {
    const row = await client.from(table).where(column, '<', cutoff).count('* as total').first()
    return Number(row?.total ?? 0)
  }

  const present = await Promise.all(OPTIONAL_TABLES.map((table) => client.schema.hasTable(table)))
  const optional = OPTIONAL_TABLES.filter((_, i) => present[i])
  const optionalRows = async (each: (table: string) => Promise<number>) => {
    let dimensionStats = 0
    let visitRows = 0
    for (const table of optional) {
      const rows = await each(table)
      if (table === TRACKING_TABLES.dimensionStats) dimensionStats = rows
      else visitRows += rows
    }
    return { dimensionStats, visitRows }
  }

  if (dryRun) {
    return {
      cutoff,
      dryRun,
      pageViews: await count(TRACKING_TABLES.pageViews, 'date'),
      dailyStats: await count(TRACKING_TABLES.dailyStats, 'date'),
      flushes: await count(TRACKING_TABLES.flushes, 'day'),
      ...(await optionalRows((table) => count(table, 'date'))),
    }
  }

  return client.transaction(async (trx) => {
    const remove = async (table: string, column: string) => {
      const deleted = await trx.from(table).where(column, '<', cutoff).delete()
      return Number(Array.isArray(deleted) ? deleted[0] : deleted)
    }
    return {
      cutoff,
      dryRun,
      pageViews: await remove(TRACKING_TABLES.pageViews, 'date'),
      dailyStats: await remove(TRACKING_TABLES.dailyStats, 'date'),
      flushes: await remove(TRACKING_TABLES.flushes, 'day'),
      ...(await optionalRows((table) => remove(table, 'date'))),
    }
  })
}
