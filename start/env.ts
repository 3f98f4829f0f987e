/*
|--------------------------------------------------------------------------
| Environment variables of the demo app
|--------------------------------------------------------------------------
|
| Validated once at boot. Everything except APP_KEY has a default so that
| `npm run demo` and the tests run on a fresh clone.
|
*/

import { Env } from '@adonisjs/core/env'

export default await Env.create(new URL('../', import.meta.url), {
  NODE_ENV: Env.schema.enum.optional(['development', 'production', 'test'] as const),
  PORT: Env.schema.number.optional(),
  HOST: Env.schema.string.optional({ format: 'host' }),
  APP_KEY: Env.schema.string(),
  APP_NAME: Env.schema.string.optional(),
  LOG_LEVEL: Env.schema.enum.optional([
    'fatal',
    'error',
    'warn',
    'info',
    'debug',
    'trace',
    'silent',
  ] as const),

  SESSION_DRIVER: Env.schema.enum.optional(['cookie', 'memory'] as const),

  /*
  |----------------------------------------------------------
  | Tracking: where live counters are kept
  |----------------------------------------------------------
  */
  TRACKING_STORE: Env.schema.enum.optional(['redis', 'memory'] as const),
  /* benchmark knobs: tracking off, write-through (0) */
  TRACKING_ENABLED: Env.schema.boolean.optional(),
  TRACKING_BUFFER_MS: Env.schema.number.optional(),
  TRACKING_ANONYMOUS: Env.schema.boolean.optional(),
  TRACKING_MAX_PATHS_PER_DAY: Env.schema.number.optional(),
  TRACKING_MAX_OPEN_VISITS: Env.schema.number.optional(),
  TRACKING_AUTO_FLUSH: Env.schema.string.optional(),
  /* the stats API's bearer tokens, comma-separated (none: the API is off) */
  TRACKING_API_TOKENS: Env.schema.secret.optional(),

  /*
  |----------------------------------------------------------
  | Redis (@adonisjs/redis connection "main")
  |----------------------------------------------------------
  */
  REDIS_HOST: Env.schema.string.optional({ format: 'host' }),
  REDIS_PORT: Env.schema.number.optional(),
  REDIS_PASSWORD: Env.schema.string.optional(),
  /* host:port of Redis Cluster nodes, comma-separated: the main connection is a cluster (soak R6) */
  REDIS_CLUSTER_NODES: Env.schema.string.optional(),

  /*
  |----------------------------------------------------------
  | SQL: DB=sqlite (default, a file in tmp/: DB_SQLITE_FILE), pg or mysql
  |----------------------------------------------------------
  */
  DB: Env.schema.enum.optional(['sqlite', 'pg', 'mysql'] as const),
  DB_HOST: Env.schema.string.optional({ format: 'host' }),
  DB_PORT: Env.schema.number.optional(),
  DB_USER: Env.schema.string.optional(),
  DB_PASSWORD: Env.schema.string.optional(),
  DB_DATABASE: Env.schema.string.optional(),
  DB_SQLITE_FILE: Env.schema.string.optional(),
})
