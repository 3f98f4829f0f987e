import { DateTime } from 'luxon'
import type { QueryClientContract } from '@adonisjs/lucid/types/database'
import { TRACKING_TABLES } from './tables.ts'

/**
 * SQL pieces shared by what writes the aggregate tables: the flush, the
 * rebuild and the import
 */

/** Now, formatted the way the dialect stores timestamps (as Lucid's models do) */
export function sqlNow(client: QueryClientContract): string {
  return DateTime.now().toFormat(client.dialect.dateTimeFormat)
}

/** The error fields the SQL drivers set (pg, mysql2, better-sqlite3) */
export interface DriverError {
  code?: string
  errno?: number
}

/** The insert hit a primary or unique key (23505, ER_DUP_ENTRY, SQLITE_CONSTRAINT_*) */
export function isUniqueViolation(error: unknown): boolean {
  const { code, errno } = (error ?? {}) as DriverError
  return (
    code === '23505' ||
    code === 'ER_DUP_ENTRY' ||
    errno === 1062 ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE'
  )
}

/** Creates the tracking_daily_stats row of a day when it is missing (0 views, 0 visitors) */
export async function ensureDayRow(client: QueryClientContract, day: string): Promise<void> {
  await client
    .knexQuery()
    .table(TRACKING_TABLES.dailyStats)
    .insert({ date: day, views: 0, unique_visitors: 0, updated_at: sqlNow(client) })
    .onConflict(['date'])
    .ignore()
}
