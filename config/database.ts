import env from '#start/env'
import app from '@adonisjs/core/services/app'
import { defineConfig } from '@adonisjs/lucid'

/**
 * Package tables (database/migrations) and the demo's users table (demo/migrations)
 */
const migrations = {
  naturalSort: true,
  paths: ['database/migrations', 'demo/migrations'],
}

/**
 * The demo writes its models by hand: no generated database/schema.ts
 */
const schemaGeneration = { enabled: false }

/**
 * DB=sqlite (default) | pg | mysql, so the same suite runs on all three
 */
const dbConfig = defineConfig({
  connection: env.get('DB', 'sqlite'),
  prettyPrintDebugQueries: true,
  connections: {
    sqlite: {
      client: 'better-sqlite3',
      connection: {
        /* DB_SQLITE_FILE (a name in tmp/) keeps the checks and benchmarks off the demo's data */
        filename: app.tmpPath(
          env.get('DB_SQLITE_FILE') ?? (app.inTest ? 'test.sqlite3' : 'db.sqlite3')
        ),
      },
      useNullAsDefault: true,
      migrations,
      schemaGeneration,
    },
    pg: {
      client: 'pg',
      connection: {
        host: env.get('DB_HOST', '127.0.0.1'),
        port: env.get('DB_PORT', 5432),
        user: env.get('DB_USER', 'postgres'),
        password: env.get('DB_PASSWORD', ''),
        database: env.get('DB_DATABASE', 'test'),
      },
      migrations,
      schemaGeneration,
    },
    mysql: {
      client: 'mysql2',
      connection: {
        host: env.get('DB_HOST', '127.0.0.1'),
        port: env.get('DB_PORT', 3306),
        user: env.get('DB_USER', 'root'),
        password: env.get('DB_PASSWORD', ''),
        database: env.get('DB_DATABASE', 'test'),
      },
      migrations,
      schemaGeneration,
    },
  },
})

export default dbConfig
