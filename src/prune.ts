import { DateTime } from 'luxon'
import type { FlushDatabase } from './flush.ts'
import { TRACKING_TABLES } from './tables.ts'

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
  dryRun: boolean
}

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
 * Deletes page view rows, daily stats and applied-flush records of the days
 * older than the retention
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

  if (dryRun) {
    return {
      cutoff,
      dryRun,
      pageViews: await count(TRACKING_TABLES.pageViews, 'date'),
      dailyStats: await count(TRACKING_TABLES.dailyStats, 'date'),
      flushes: await count(TRACKING_TABLES.flushes, 'day'),
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
    }
  })
}
