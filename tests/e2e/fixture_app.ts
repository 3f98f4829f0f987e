/*
|--------------------------------------------------------------------------
| A fresh AdonisJS 7 app, as the end-to-end check installs it
|--------------------------------------------------------------------------
|
| What a v7 API starter kit holds after `node ace add @adonisjs/lucid`
| (SQLite) and `node ace add @adonisjs/redis`, plus a few routes to visit.
| Written as strings (not as files of this repository) so the package's own
| lint and type check never see an app that has no node_modules yet.
|
*/

/**
 * The app's dependencies, the versions the package is built and tested with
 */
export const FIXTURE_DEPENDENCIES: Record<string, string> = {
  '@adonisjs/core': '7.5.2',
  '@adonisjs/lucid': '22.4.2',
  '@adonisjs/redis': '10.0.2',
  'better-sqlite3': '13.2.0',
  'edge.js': '6.5.1',
  'luxon': '3.7.2',
}

export const FIXTURE_DEV_DEPENDENCIES: Record<string, string> = {
  '@adonisjs/assembler': '8.5.2',
  '@adonisjs/tsconfig': '^2.0.0',
  '@poppinss/ts-exec': '1.4.4',
  '@types/luxon': '^3.7.1',
  '@types/node': '^24.0.0',
  'typescript': '~5.9.3',
}

/**
 * Routes of the fixture: what the e2e visits and what it expects counted
 */
const ROUTES = `import router from '@adonisjs/core/services/router'

router.get('/', () => 'home')
router.get('/about', () => 'about')
router.get('/posts/:id', ({ params }) => ({ id: params.id }))
router.get('/old-home', ({ response }) => response.redirect('/'))
router.get('/health', () => ({ healthy: true }))
`

const KERNEL = `/*
|--------------------------------------------------------------------------
| HTTP kernel file
|--------------------------------------------------------------------------
|
| The HTTP kernel file is used to register the middleware with the server
| or the router.
|
*/

import router from '@adonisjs/core/services/router'
import server from '@adonisjs/core/services/server'

/**
 * The error handler is used to convert an exception
 * to an HTTP response.
 */
server.errorHandler(() => import('#exceptions/handler'))

/**
 * The server middleware stack runs middleware on all the HTTP
 * requests, even if there is no route registered for
 * the request URL.
 */
server.use([() => import('#middleware/container_bindings_middleware')])

/**
 * The router middleware stack runs middleware on all the HTTP
 * requests with a registered route.
 */
router.use([() => import('@adonisjs/core/bodyparser_middleware')])

/**
 * Named middleware collection must be explicitly assigned to
 * the routes or the routes group.
 */
export const middleware = router.named({})
`

const ENV = `/*
|--------------------------------------------------------------------------
| Environment variables service
|--------------------------------------------------------------------------
*/

import { Env } from '@adonisjs/core/env'

export default await Env.create(new URL('../', import.meta.url), {
  NODE_ENV: Env.schema.enum(['development', 'production', 'test'] as const),
  PORT: Env.schema.number(),
  APP_KEY: Env.schema.secret(),
  HOST: Env.schema.string({ format: 'host' }),
  LOG_LEVEL: Env.schema.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),

  /*
  |----------------------------------------------------------
  | Variables for configuring the redis package
  |----------------------------------------------------------
  */
  REDIS_HOST: Env.schema.string({ format: 'host' }),
  REDIS_PORT: Env.schema.number(),
  REDIS_PASSWORD: Env.schema.secret.optional(),
})
`

const ADONISRC = `import { defineConfig } from '@adonisjs/core/app'

export default defineConfig({
  /*
  |--------------------------------------------------------------------------
  | Commands
  |--------------------------------------------------------------------------
  */
  commands: [() => import('@adonisjs/core/commands'), () => import('@adonisjs/lucid/commands')],

  /*
  |--------------------------------------------------------------------------
  | Service providers
  |--------------------------------------------------------------------------
  */
  providers: [
    () => import('@adonisjs/core/providers/app_provider'),
    () => import('@adonisjs/core/providers/hash_provider'),
    {
      file: () => import('@adonisjs/core/providers/repl_provider'),
      environment: ['repl', 'test'],
    },
    () => import('@adonisjs/lucid/database_provider'),
    () => import('@adonisjs/redis/redis_provider'),
  ],

  /*
  |--------------------------------------------------------------------------
  | Preloads
  |--------------------------------------------------------------------------
  */
  preloads: [() => import('#start/routes'), () => import('#start/kernel')],
})
`

const IGNITOR = (
  kind: 'httpServer' | 'ace'
) => `import { Ignitor, prettyPrintError } from '@adonisjs/core'

/**
 * URL to the application root. AdonisJS need it to resolve
 * paths to file and directories for scaffolding commands
 */
const APP_ROOT = new URL('../', import.meta.url)

/**
 * The importer is used to import files in context of the
 * application.
 */
const IMPORTER = (filePath: string) => {
  if (filePath.startsWith('./') || filePath.startsWith('../')) {
    return import(new URL(filePath, APP_ROOT).href)
  }
  return import(filePath)
}

new Ignitor(APP_ROOT, { importer: IMPORTER })
  .tap((app) => {
    app.booting(async () => {
      await import('#start/env')
    })
    app.listen('SIGTERM', () => app.terminate())
    app.listenIf(app.managedByPm2, 'SIGINT', () => app.terminate())
  })
${kind === 'ace' ? '  .ace()\n  .handle(process.argv.splice(2))' : '  .httpServer()\n  .start()'}
  .catch((error) => {
    process.exitCode = 1
    prettyPrintError(error)
  })
`

const ACE = `/*
|--------------------------------------------------------------------------
| JavaScript entrypoint for running ace commands
|--------------------------------------------------------------------------
*/

import '@poppinss/ts-exec'

await import('./bin/console.js')
`

const CONFIG_APP = `import app from '@adonisjs/core/services/app'
import { defineConfig } from '@adonisjs/core/http'

/**
 * The configuration settings used by the HTTP server
 */
export const http = defineConfig({
  generateRequestId: true,
  allowMethodSpoofing: false,
  useAsyncLocalStorage: false,
  cookie: {
    domain: '',
    path: '/',
    maxAge: '2h',
    httpOnly: true,
    secure: app.inProduction,
    sameSite: 'lax',
  },
})
`

const CONFIG_ENCRYPTION = `import env from '#start/env'
import { defineConfig, drivers } from '@adonisjs/core/encryption'

const encryptionConfig = defineConfig({
  default: 'gcm',
  list: {
    gcm: drivers.aes256gcm({
      keys: [env.get('APP_KEY')],
      id: 'gcm',
    }),
  },
})

export default encryptionConfig

declare module '@adonisjs/core/types' {
  export interface EncryptorsList extends InferEncryptors<typeof encryptionConfig> {}
}
`

const CONFIG_LOGGER = `import env from '#start/env'
import { defineConfig } from '@adonisjs/core/logger'

const loggerConfig = defineConfig({
  default: 'app',
  loggers: {
    app: {
      enabled: true,
      name: 'tracking-e2e-app',
      level: env.get('LOG_LEVEL'),
    },
  },
})

export default loggerConfig

declare module '@adonisjs/core/types' {
  export interface LoggersList extends InferLoggers<typeof loggerConfig> {}
}
`

const CONFIG_HASH = `import { defineConfig, drivers } from '@adonisjs/core/hash'

const hashConfig = defineConfig({
  default: 'scrypt',
  list: {
    scrypt: drivers.scrypt({
      cost: 16384,
      blockSize: 8,
      parallelization: 1,
      maxMemory: 33554432,
    }),
  },
})

export default hashConfig

declare module '@adonisjs/core/types' {
  export interface HashersList extends InferHashers<typeof hashConfig> {}
}
`

const CONFIG_BODYPARSER = `import { defineConfig } from '@adonisjs/core/bodyparser'

const bodyParserConfig = defineConfig({
  allowedMethods: ['POST', 'PUT', 'PATCH', 'DELETE'],
  form: {
    convertEmptyStringsToNull: true,
    types: ['application/x-www-form-urlencoded'],
  },
  json: {
    convertEmptyStringsToNull: true,
    types: ['application/json', 'application/json-patch+json', 'application/vnd.api+json'],
  },
  multipart: {
    autoProcess: true,
    convertEmptyStringsToNull: true,
    processManually: [],
    limit: '20mb',
    types: ['multipart/form-data'],
  },
})

export default bodyParserConfig
`

/** config/database.ts as `node ace add @adonisjs/lucid --db=sqlite` writes it */
const CONFIG_DATABASE = `import app from '@adonisjs/core/services/app'
import { defineConfig } from '@adonisjs/lucid'

const dbConfig = defineConfig({
  connection: 'sqlite',
  connections: {
    sqlite: {
      client: 'better-sqlite3',
      connection: {
        filename: app.tmpPath('db.sqlite3')
      },
      useNullAsDefault: true,
      migrations: {
        naturalSort: true,
        paths: ['database/migrations'],
      },
    },
  },
})

export default dbConfig
`

/** config/redis.ts as `node ace add @adonisjs/redis` writes it */
const CONFIG_REDIS = `import env from '#start/env'
import { defineConfig } from '@adonisjs/redis'
import { InferConnections } from '@adonisjs/redis/types'

const redisConfig = defineConfig({
  connection: 'main',

  connections: {
    main: {
      host: env.get('REDIS_HOST'),
      port: env.get('REDIS_PORT'),
      password: env.get('REDIS_PASSWORD', ''),
      db: 0,
      keyPrefix: '',
      retryStrategy(times) {
        return times > 10 ? null : times * 50
      },
    },
  },
})

export default redisConfig

declare module '@adonisjs/redis/types' {
  export interface RedisConnections extends InferConnections<typeof redisConfig> {}
}
`

const EXCEPTION_HANDLER = `import app from '@adonisjs/core/services/app'
import { type HttpContext, ExceptionHandler } from '@adonisjs/core/http'

export default class HttpExceptionHandler extends ExceptionHandler {
  protected debug = !app.inProduction

  async handle(error: unknown, ctx: HttpContext) {
    return super.handle(error, ctx)
  }

  async report(error: unknown, ctx: HttpContext) {
    return super.report(error, ctx)
  }
}
`

const CONTAINER_BINDINGS = `import { Logger } from '@adonisjs/core/logger'
import { HttpContext } from '@adonisjs/core/http'
import { type NextFn } from '@adonisjs/core/types/http'

export default class ContainerBindingsMiddleware {
  handle(ctx: HttpContext, next: NextFn) {
    ctx.containerResolver.bindValue(HttpContext, ctx)
    ctx.containerResolver.bindValue(Logger, ctx.logger)

    return next()
  }
}
`

/**
 * Every file of the fresh app (path -> contents)
 */
export function fixtureFiles(options: { appKey: string; port: number }): Record<string, string> {
  const pkg = {
    name: 'tracking-e2e-app',
    version: '0.0.0',
    private: true,
    type: 'module',
    license: 'UNLICENSED',
    scripts: {
      start: 'node bin/server.js',
      build: 'node ace build',
      dev: 'node ace serve --hmr',
      typecheck: 'tsc --noEmit',
    },
    imports: {
      '#controllers/*': './app/controllers/*.js',
      '#exceptions/*': './app/exceptions/*.js',
      '#models/*': './app/models/*.js',
      '#middleware/*': './app/middleware/*.js',
      '#providers/*': './providers/*.js',
      '#database/*': './database/*.js',
      '#start/*': './start/*.js',
      '#tests/*': './tests/*.js',
      '#config/*': './config/*.js',
    },
    dependencies: FIXTURE_DEPENDENCIES,
    devDependencies: FIXTURE_DEV_DEPENDENCIES,
  }

  return {
    'package.json': `${JSON.stringify(pkg, null, 2)}\n`,
    'tsconfig.json': `${JSON.stringify(
      {
        extends: '@adonisjs/tsconfig/tsconfig.app.json',
        compilerOptions: { rootDir: './', outDir: './build' },
      },
      null,
      2
    )}\n`,
    '.env': [
      'TZ=UTC',
      `PORT=${options.port}`,
      'HOST=127.0.0.1',
      'LOG_LEVEL=info',
      `APP_KEY=${options.appKey}`,
      'NODE_ENV=development',
      `REDIS_HOST=${process.env.REDIS_HOST ?? '127.0.0.1'}`,
      `REDIS_PORT=${process.env.REDIS_PORT ?? '6379'}`,
      'REDIS_PASSWORD=',
      '',
    ].join('\n'),
    'adonisrc.ts': ADONISRC,
    'ace.js': ACE,
    'bin/server.ts': IGNITOR('httpServer'),
    'bin/console.ts': IGNITOR('ace'),
    'start/env.ts': ENV,
    'start/kernel.ts': KERNEL,
    'start/routes.ts': ROUTES,
    'config/app.ts': CONFIG_APP,
    'config/encryption.ts': CONFIG_ENCRYPTION,
    'config/logger.ts': CONFIG_LOGGER,
    'config/hash.ts': CONFIG_HASH,
    'config/bodyparser.ts': CONFIG_BODYPARSER,
    'config/database.ts': CONFIG_DATABASE,
    'config/redis.ts': CONFIG_REDIS,
    'app/exceptions/handler.ts': EXCEPTION_HANDLER,
    'app/middleware/container_bindings_middleware.ts': CONTAINER_BINDINGS,
    'tmp/.gitkeep': '',
  }
}
