import { readdir, readFile } from 'node:fs/promises'
import type {
  ArrayLiteralExpression,
  CallExpression,
  Node,
  ObjectLiteralExpression,
  PropertyAssignment,
  StringLiteral,
} from 'ts-morph'
import type Configure from '@adonisjs/core/commands/configure'
import type { Codemods } from '@adonisjs/core/ace/codemods'
import { EnvLoader, EnvParser } from '@adonisjs/core/env'
import { stubsRoot } from './stubs/main.ts'
import type { TrackingStoreName } from './src/types.ts'

const STORES: readonly TrackingStoreName[] = ['redis', 'memory']

/**
 * The migrations published into the app, in the order they must run. A
 * migration is skipped when the app already has a file with the same name
 * after its timestamp, so running configure twice never duplicates one.
 */
const MIGRATIONS = [
  'create_tracking_page_views_table',
  'create_tracking_daily_stats_table',
  'create_tracking_flushes_table',
  'create_tracking_dimension_stats_table',
  'create_tracking_imports_table',
  'create_tracking_visits_tables',
  'widen_tracking_dimension_stats_values',
] as const

/**
 * A peer package the host app owns, looked up in its package.json and adonisrc.ts
 */
interface Peer {
  name: string
  provider: string
}

const LUCID: Peer = { name: '@adonisjs/lucid', provider: '@adonisjs/lucid/database_provider' }
const REDIS: Peer = { name: '@adonisjs/redis', provider: '@adonisjs/redis/redis_provider' }
const AUTH_INITIALIZER = '@adonisjs/auth/initialize_auth_middleware'

/**
 * The ts-morph project the codemods edit: configure reads the app's files
 * through it too, so a check sees exactly what the codemod will see
 */
type TsProject = NonNullable<Awaited<ReturnType<Codemods['getTsMorphProject']>>>

/**
 * The calls to `callee` ("router.use", "defineConfig", "import"...) under node,
 * matched as the codemods match them (by the callee's text)
 */
function callsTo(node: Node | undefined, callee: string): CallExpression[] {
  return (node?.getDescendants() ?? []).filter(
    (child): child is CallExpression =>
      child.getKindName() === 'CallExpression' &&
      (child as CallExpression).getExpression().getText() === callee
  )
}

/**
 * Argument `index` of the first call to `callee`, when it is of the given kind
 */
function argumentOf<T extends Node>(
  node: Node | undefined,
  callee: string,
  index: number,
  kind: string
) {
  const argument = callsTo(node, callee)[0]?.getArguments()[index]
  return argument?.getKindName() === kind ? (argument as T) : undefined
}

/**
 * The modules imported lazily (`() => import('...')`) under node; a commented-out entry is no node
 */
function lazyImports(node: Node | undefined): string[] {
  return callsTo(node, 'import').flatMap((call) => {
    const [specifier] = call.getArguments()
    return specifier?.getKindName() === 'StringLiteral'
      ? [(specifier as StringLiteral).getLiteralValue()]
      : []
  })
}

/**
 * The string a property of an object literal is set to, if it is a literal
 */
function stringProperty(object: ObjectLiteralExpression | undefined, name: string) {
  const property = object?.getProperty(name)
  if (property?.getKindName() !== 'PropertyAssignment') return undefined
  const value = (property as PropertyAssignment).getInitializer()
  return value?.getKindName() === 'StringLiteral'
    ? (value as StringLiteral).getLiteralValue()
    : undefined
}

/**
 * The values of the app's .env (the file defineEnvVariables edits), parsed by @adonisjs/env
 */
async function dotEnvValues(command: Configure) {
  const files = await new EnvLoader(command.app.appRoot).load()
  const dotEnv = files.find((file) => file.fileExists && file.path.endsWith('.env'))
  if (!dotEnv) return {}
  return new EnvParser(dotEnv.contents, command.app.appRoot, { ignoreProcessEnv: true }).parse()
}

/**
 * What `read` gives, or `fallback` when the file or folder does not exist
 */
async function unlessMissing<T>(read: Promise<T>, fallback: T): Promise<T> {
  try {
    return await read
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fallback
    throw error
  }
}

/**
 * The app's dependencies. Read by hand: no codemod reads package.json.
 */
async function dependenciesOf(command: Configure): Promise<Set<string>> {
  const text = await unlessMissing(readFile(command.app.makePath('package.json'), 'utf8'), '{}')
  const pkg = JSON.parse(text) as Record<string, Record<string, string> | undefined>
  return new Set([
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.devDependencies ?? {}),
  ])
}

/**
 * What the app has: its dependencies, and the nodes of the files the codemods edit
 */
async function inspectApp(command: Configure, project: TsProject) {
  const app = command.app
  const source = (path: string) =>
    project.getSourceFile(path) ?? project.addSourceFileAtPathIfExists(path)
  const dependencies = await dependenciesOf(command)
  const rcConfig = argumentOf<ObjectLiteralExpression>(
    source(app.makePath('adonisrc.ts')),
    'defineConfig',
    0,
    'ObjectLiteralExpression'
  )
  const providers = lazyImports(rcConfig?.getProperty('providers'))
  /* the array registerMiddleware('router') appends to */
  const routerStack = argumentOf<ArrayLiteralExpression>(
    source(app.startPath('kernel.ts')),
    'router.use',
    0,
    'ArrayLiteralExpression'
  )

  /**
   * null when the peer is installed and configured, else the command to run
   */
  const missing = (peer: Peer): string | null => {
    if (!dependencies.has(peer.name)) return `node ace add ${peer.name}`
    if (!providers.includes(peer.provider)) return `node ace configure ${peer.name}`
    return null
  }

  return {
    missing,
    rcConfig,
    routerStack,
    /* ctx.auth exists (at runtime and in the types) once the initializer runs */
    hasAuth:
      dependencies.has('@adonisjs/auth') && lazyImports(routerStack).includes(AUTH_INITIALIZER),
    /* the object defineEnvValidations adds to */
    envSchema: argumentOf(
      source(app.startPath('env.ts')),
      'Env.create',
      1,
      'ObjectLiteralExpression'
    ),
    /* the default connection of config/redis.ts ("main" unless renamed) */
    redisConnection:
      stringProperty(
        argumentOf(
          source(app.configPath('redis.ts')),
          'defineConfig',
          0,
          'ObjectLiteralExpression'
        ),
        'connection'
      ) ?? 'main',
    dotEnv: await dotEnvValues(command),
  }
}

/**
 * Asks where live counters are kept (when neither --store nor .env says)
 */
function promptStore(command: Configure) {
  return command.prompt.choice<TrackingStoreName>(
    'Where should live page counters be kept?',
    [
      { name: 'redis', message: 'Redis (shared by all processes, survives restarts)' },
      { name: 'memory', message: 'Memory (single process only)' },
    ],
    { validate: (value) => (value ? true : 'Select a store') }
  )
}

/**
 * Configures adonis-tracking in the host app (`node ace add adonis-tracking`
 * or `node ace configure adonis-tracking [--store=redis|memory]`): writes
 * config/tracking.ts, registers the provider, the commands and the router
 * middleware, publishes the migrations and defines TRACKING_STORE and
 * TRACKING_API_TOKENS (empty: the stats API is off).
 *
 * Every check runs before the first write, so a refusal leaves the app
 * untouched; every write is skipped when already done, so a re-run changes
 * nothing (config/tracking.ts is only replaced with --force).
 */
export async function configure(command: Configure) {
  const logger = command.logger
  const app = command.app
  const flag: unknown = command.parsedFlags.store

  const refuse = (message: string) => {
    logger.error(message)
    command.exitCode = 1
  }

  if (flag !== undefined && !STORES.includes(flag as TrackingStoreName)) {
    return refuse(`Invalid --store "${String(flag)}": use --store=redis or --store=memory`)
  }

  /**
   * The codemods parse the files they edit with ts-morph: the checks below
   * read the same trees, so nothing is written unless every edit can be made
   */
  const codemods = await command.createCodemods()
  const project = await codemods.getTsMorphProject()
  if (!project) {
    return refuse(
      `adonis-tracking edits adonisrc.ts, start/kernel.ts and start/env.ts with the codemods of ` +
        `@adonisjs/assembler, which could not load the app's tsconfig.json project. Install it ` +
        `("npm i -D @adonisjs/assembler"), then run "node ace configure adonis-tracking" again. Nothing was changed.`
    )
  }
  const found = await inspectApp(command, project)
  /* the providers are read from it, and updateRcFile edits it */
  if (!found.rcConfig) {
    return refuse(`Cannot find "defineConfig({...})" in adonisrc.ts. Nothing was changed.`)
  }

  /**
   * Lucid is where the counters end up: without it there is nothing useful
   * to configure, so stop before writing anything.
   */
  const addLucid = found.missing(LUCID)
  if (addLucid) {
    return refuse(
      `adonis-tracking stores page views in SQL through @adonisjs/lucid, which this app does not have. ` +
        `Run "${addLucid}", then "node ace configure adonis-tracking" again. Nothing was changed.`
    )
  }

  /**
   * The kernel and env files are edited by the codemods; check their
   * shape now rather than fail half-way.
   */
  if (!found.routerStack) {
    return refuse(
      `Cannot find the router middleware stack ("router.use([...])") in ${app.relativePath(app.startPath('kernel.ts'))}. ` +
        `Nothing was changed. Register "() => import('adonis-tracking/tracking_middleware')" there by hand, ` +
        `or restore the file and run "node ace configure adonis-tracking" again.`
    )
  }
  if (!found.envSchema) {
    return refuse(
      `Cannot find "Env.create(..., {...})" in ${app.relativePath(app.startPath('env.ts'))}. Nothing was changed.`
    )
  }

  /**
   * The store: --store, else the TRACKING_STORE already in .env (re-run),
   * else a prompt. Without @adonisjs/redis only the memory store can work.
   */
  const addRedis = found.missing(REDIS)
  const current = found.dotEnv.TRACKING_STORE as TrackingStoreName | undefined
  if (addRedis && flag !== 'memory') {
    logger.warning(
      `@adonisjs/redis is not set up in this app: using the "memory" store (one process only, ` +
        `counts not flushed are lost on restart). For Redis, run "${addRedis}", then set TRACKING_STORE=redis in .env.`
    )
  }
  const store: TrackingStoreName = addRedis
    ? 'memory'
    : ((flag as TrackingStoreName | undefined) ??
      (current && STORES.includes(current) ? current : await promptStore(command)))

  await codemods.makeUsingStub(stubsRoot, 'config/tracking.stub', {
    store,
    hasRedis: !addRedis,
    hasAuth: found.hasAuth,
    redisConnection: found.redisConnection,
  })

  await codemods.updateRcFile((rcFile) => {
    rcFile.addProvider('adonis-tracking/tracking_provider')
    rcFile.addCommand('adonis-tracking/commands')
  })

  /**
   * Appended to the router stack, so it runs after the auth initializer and
   * sees the logged-in user
   */
  await codemods.registerMiddleware('router', [
    { path: 'adonis-tracking/tracking_middleware', position: 'after' },
  ])

  /* hand-written: makeUsingStub skips only a file of the same name, and a migration's name has a timestamp */
  const existing = await unlessMissing(readdir(app.migrationsPath()), [])
  const prefix = Date.now()
  for (const [index, name] of MIGRATIONS.entries()) {
    const already = existing.find((file) => new RegExp(`^\\d+_${name}\\.(ts|js)$`).test(file))
    if (already) {
      logger
        .action(`create ${app.relativePath(app.migrationsPath(already))}`)
        .skipped('migration already exists')
      continue
    }
    await codemods.makeUsingStub(stubsRoot, `migrations/${name}.stub`, {
      migration: { fileName: `${prefix + index}_${name}.ts` },
    })
  }

  /**
   * .env keeps the store in use: a re-run without --store leaves it alone
   */
  if (current !== store) {
    await codemods.defineEnvVariables({ TRACKING_STORE: store })
  }
  /* the stats API is off until tokens are set; a re-run keeps the tokens in .env */
  if (!('TRACKING_API_TOKENS' in found.dotEnv)) {
    await codemods.defineEnvVariables({ TRACKING_API_TOKENS: '' })
  }
  await codemods.defineEnvValidations({
    leadingComment: 'Variables for configuring adonis-tracking',
    variables: {
      TRACKING_STORE: `Env.schema.enum.optional(['redis', 'memory'] as const)`,
      TRACKING_API_TOKENS: `Env.schema.secret.optional()`,
    },
  })

  if (command.exitCode) return
  logger.success('adonis-tracking is configured')
  logger.log(
    'Next: "node ace migration:run", then "node ace flush_page_views" from cron (or autoFlush in ' +
      'config/tracking.ts). The analytics page (/cabinet/tracking) answers users allowed by "authorize".'
  )
}
