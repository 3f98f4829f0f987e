/*
|--------------------------------------------------------------------------
| SQL access of the soak run (the same connections as config/database.ts)
|--------------------------------------------------------------------------
*/

import { join } from 'node:path'
import { Database } from '@adonisjs/lucid/database'
import { LoggerFactory } from '@adonisjs/core/factories/logger'
import { EmitterFactory } from '@adonisjs/core/factories/events'
import { AppFactory } from '@adonisjs/core/factories/app'
import type { ConnectionConfig } from '@adonisjs/lucid/types/database'
import { ROOT, SOAK_SQLITE_FILE, type DbName } from './processes.ts'
import { TRACKING_TABLES } from '../../src/tables.ts'

/**
 * The Lucid connection config the demo app uses for `db` when NODE_ENV is
 * production (SQLite: tmp/soak.sqlite3)
 */
export function connectionConfig(db: DbName): ConnectionConfig {
  const env = process.env
  if (db === 'sqlite') {
    return {
      client: 'better-sqlite3',
      connection: { filename: join(ROOT, 'tmp', SOAK_SQLITE_FILE) },
      useNullAsDefault: true,
    }
  }
  return {
    client: db === 'pg' ? 'pg' : 'mysql2',
    connection: {
      host: env.DB_HOST ?? '127.0.0.1',
      port: Number(env.DB_PORT ?? (db === 'pg' ? 5432 : 3306)),
      user: env.DB_USER ?? (db === 'pg' ? 'postgres' : 'root'),
      password: env.DB_PASSWORD ?? '',
      database: env.DB_DATABASE ?? 'test_soak',
    },
  } as ConnectionConfig
}

/**
 * Creates the run's database on PostgreSQL or MySQL when it is missing (a
 * fresh machine has only `test`)
 */
export async function ensureDatabase(db: DbName) {
  if (db === 'sqlite') return
  const config = connectionConfig(db) as { client: string; connection: { database: string } }
  const name = config.connection.database
  const admin = openDatabase(db, { ...config.connection, database: db === 'pg' ? 'postgres' : '' })
  try {
    if (db === 'pg') {
      const found = await admin.rawQuery('SELECT 1 FROM pg_database WHERE datname = ?', [name])
      if (found.rows.length === 0) await admin.rawQuery(`CREATE DATABASE "${name}"`)
    } else {
      await admin.rawQuery(`CREATE DATABASE IF NOT EXISTS \`${name}\``)
    }
  } finally {
    await closeDatabase(admin)
  }
}

/** A Lucid Database on one connection named "soak" (close it with closeAll) */
export function openDatabase(db: DbName, connection?: object): Database {
  const config = connectionConfig(db)
  return new Database(
    {
      connection: 'soak',
      connections: { soak: connection ? ({ ...config, connection } as ConnectionConfig) : config },
    },
    new LoggerFactory().create(),
    new EmitterFactory().create(new AppFactory().create(new URL(`file://${ROOT}`)))
  )
}

/** Closes every connection of a Database made by openDatabase */
export async function closeDatabase(database: Database) {
  await database.manager.closeAll()
}

/** Sum of a bigint column (0 for an empty table) */
export async function sumOf(database: Database, table: string, column = 'views'): Promise<number> {
  const row = await database.connection().from(table).sum(`${column} as total`).first()
  return Number(row?.total ?? 0)
}

/** Empties the package's tables (the demo users stay) */
export async function truncateTracking(database: Database) {
  for (const table of Object.values(TRACKING_TABLES)) {
    await database.connection().truncate(table, true)
  }
}
