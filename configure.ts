import { readdir, readFile } from 'node:fs/promises'
import type Configure from '@adonisjs/core/commands/configure'
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

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
}

/**
 * What the app has: its dependencies and the text of the files configure edits
 */
async function inspectApp(command: Configure) {
  const app = command.app
  const pkgText = await readText(app.makePath('package.json'))
  const pkg = pkgText
    ? (JSON.parse(pkgText) as Record<string, Record<string, string> | undefined>)
    : {}
  const dependencies = new Set([
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.devDependencies ?? {}),
  ])
  const rcFile = (await readText(app.makePath('adonisrc.ts'))) ?? ''

  /**
   * null when the peer is installed and configured, else the command to run
   */
  const missing = (peer: Peer): string | null => {
    if (!dependencies.has(peer.name)) return `node ace add ${peer.name}`
    if (!rcFile.includes(peer.provider)) return `node ace configure ${peer.name}`
    return null
  }

  const kernel = await readText(app.startPath('kernel.ts'))

  return {
    missing,
    /* ctx.auth exists (at runtime and in the types) once the initializer runs */
    hasAuth:
      dependencies.has('@adonisjs/auth') &&
      Boolean(kernel?.includes('@adonisjs/auth/initialize_auth_middleware')),
    rcFile,
    kernel,
    env: await readText(app.startPath('env.ts')),
    dotEnv: await readText(app.makePath('.env')),
    redisConfig: await readText(app.configPath('redis.ts')),
  }
}

/**
 * The value of KEY in a .env file, if set
 */
function dotEnvValue(contents: string | null, key: string): string | undefined {
  const line = contents?.split(/\r?\n/).find((entry) => entry.startsWith(`${key}=`))
  return line
    ?.slice(key.length + 1)
    .trim()
    .replace(/^(['"])(.*)\1$/, '$2')
}

/**
 * The default connection of config/redis.ts ("main" unless renamed)
 */
function redisConnectionName(redisConfig: string | null): string {
  return redisConfig?.match(/^\s*connection:\s*['"]([^'"]+)['"]/m)?.[1] ?? 'main'
}

/**
 * Files already in the migrations folder
 */
async function existingMigrations(folder: string): Promise<string[]> {
  try {
    return await readdir(folder)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
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
 * middleware, publishes the migrations and defines TRACKING_STORE.
 *
 * Every check runs before the first write, so a refusal leaves the app
 * untouched; every write is skipped when already done, so a re-run changes
 * nothing (config/tracking.ts is only replaced with --force).
 */
export async function configure(command: Configure) {
  const logger = command.logger
  const app = command.app
  const flag: unknown = command.parsedFlags.store

  if (flag !== undefined && !STORES.includes(flag as TrackingStoreName)) {
    logger.error(`Invalid --store "${String(flag)}": use --store=redis or --store=memory`)
    command.exitCode = 1
    return
  }

  const found = await inspectApp(command)

  /**
   * Lucid is where the counters end up: without it there is nothing useful
   * to configure, so stop before writing anything.
   */
  const addLucid = found.missing(LUCID)
  if (addLucid) {
    logger.error(
      `adonis-tracking stores page views in SQL through @adonisjs/lucid, which this app does not have. ` +
        `Run "${addLucid}", then "node ace configure adonis-tracking" again. Nothing was changed.`
    )
    command.exitCode = 1
    return
  }

  /**
   * The kernel and env files are edited by the codemods; check their shape
   * now rather than fail half-way.
   */
  const kernelPath = app.relativePath(app.startPath('kernel.ts'))
  const envPath = app.relativePath(app.startPath('env.ts'))
  if (!found.kernel || !/\brouter\.use\(\s*\[/.test(found.kernel)) {
    logger.error(
      `Cannot find the router middleware stack ("router.use([...])") in ${kernelPath}. ` +
        `Nothing was changed. Register "() => import('adonis-tracking/tracking_middleware')" there by hand, ` +
        `or restore the file and run "node ace configure adonis-tracking" again.`
    )
    command.exitCode = 1
    return
  }
  if (!found.env || !found.env.includes('Env.create')) {
    logger.error(`Cannot find "Env.create" in ${envPath}. Nothing was changed.`)
    command.exitCode = 1
    return
  }

  /**
   * The store: --store, else the TRACKING_STORE already in .env (re-run),
   * else a prompt. Without @adonisjs/redis only the memory store can work.
   */
  const addRedis = found.missing(REDIS)
  const current = dotEnvValue(found.dotEnv, 'TRACKING_STORE') as TrackingStoreName | undefined
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

  const codemods = await command.createCodemods()

  await codemods.makeUsingStub(stubsRoot, 'config/tracking.stub', {
    store,
    hasRedis: !addRedis,
    hasAuth: found.hasAuth,
    redisConnection: redisConnectionName(found.redisConfig),
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

  const folder = app.migrationsPath()
  const existing = await existingMigrations(folder)
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
  await codemods.defineEnvValidations({
    leadingComment: 'Variables for configuring adonis-tracking',
    variables: {
      TRACKING_STORE: `Env.schema.enum.optional(['redis', 'memory'] as const)`,
    },
  })

  if (command.exitCode) return
  logger.success('adonis-tracking is configured')
  logger.log(
    'Next: "node ace migration:run", then "node ace flush_page_views" from cron (or autoFlush in ' +
      'config/tracking.ts). The analytics page (/cabinet/tracking) answers users allowed by "authorize".'
  )
}
