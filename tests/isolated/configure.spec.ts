/*
|--------------------------------------------------------------------------
| `node ace configure adonis-tracking` against temporary AdonisJS apps
|--------------------------------------------------------------------------
|
| Each test writes a small app (the files a v7 starter kit has after
| `node ace add @adonisjs/lucid` and `node ace add @adonisjs/redis`) into
| tmp/, runs the Configure command through an AceFactory kernel and reads
| back every file written or edited.
|
*/

import { test } from '@japa/runner'
import { randomUUID } from 'node:crypto'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { AceFactory } from '@adonisjs/core/factories'
import Configure from '@adonisjs/core/commands/configure'
import type { Assert } from '@japa/assert'
import { KNOWN_KEYS } from '../../src/settings.ts'

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const TMP_ROOT = join(REPO_ROOT, 'tmp', 'configure_spec')
const MIGRATIONS = [
  'create_tracking_page_views_table',
  'create_tracking_daily_stats_table',
  'create_tracking_flushes_table',
  'create_tracking_dimension_stats_table',
  'create_tracking_imports_table',
  'create_tracking_visits_tables',
  'widen_tracking_dimension_stats_values',
]

interface AppShape {
  /** @adonisjs/redis in package.json and adonisrc.ts (default true) */
  redis?: boolean
  /** @adonisjs/lucid in package.json and adonisrc.ts (default true) */
  lucid?: boolean
  /** @adonisjs/auth installed, its initializer in the router stack (default false) */
  auth?: boolean
  /** extra files (relative path -> contents) */
  files?: Record<string, string>
}

const KERNEL = (auth: boolean) => `/*
|--------------------------------------------------------------------------
| HTTP kernel file
|--------------------------------------------------------------------------
*/

import router from '@adonisjs/core/services/router'
import server from '@adonisjs/core/services/server'

server.errorHandler(() => import('#exceptions/handler'))

server.use([
  () => import('#middleware/container_bindings_middleware'),
])

router.use([
  () => import('@adonisjs/core/bodyparser_middleware'),${
    auth
      ? `
  () => import('@adonisjs/session/session_middleware'),
  () => import('@adonisjs/auth/initialize_auth_middleware'),`
      : ''
  }
])

export const middleware = router.named({})
`

const ENV = `import { Env } from '@adonisjs/core/env'

export default await Env.create(new URL('../', import.meta.url), {
  NODE_ENV: Env.schema.enum(['development', 'production', 'test'] as const),
  PORT: Env.schema.number(),
  APP_KEY: Env.schema.secret(),
  HOST: Env.schema.string({ format: 'host' }),
  LOG_LEVEL: Env.schema.string(),
})
`

const REDIS_CONFIG = `import env from '#start/env'
import { defineConfig } from '@adonisjs/redis'

const redisConfig = defineConfig({
  connection: 'main',
  connections: {
    main: {
      host: env.get('REDIS_HOST'),
      port: env.get('REDIS_PORT'),
    },
  },
})

export default redisConfig
`

function adonisrc(shape: Required<Omit<AppShape, 'files'>>) {
  const providers = [
    `() => import('@adonisjs/core/providers/app_provider')`,
    `() => import('@adonisjs/core/providers/hash_provider')`,
    shape.lucid ? `() => import('@adonisjs/lucid/database_provider')` : '',
    shape.redis ? `() => import('@adonisjs/redis/redis_provider')` : '',
    shape.auth ? `() => import('@adonisjs/session/session_provider')` : '',
    shape.auth ? `() => import('@adonisjs/auth/auth_provider')` : '',
  ].filter(Boolean)
  const commands = [
    `() => import('@adonisjs/core/commands')`,
    shape.lucid ? `() => import('@adonisjs/lucid/commands')` : '',
  ].filter(Boolean)
  return `import { defineConfig } from '@adonisjs/core/app'

export default defineConfig({
  commands: [${commands.join(', ')}],
  providers: [
    ${providers.join(',\n    ')},
  ],
  preloads: [() => import('#start/routes'), () => import('#start/kernel')],
})
`
}

/**
 * Writes a temporary app and returns its root
 */
async function makeApp(shape: AppShape = {}) {
  const resolved = { redis: true, lucid: true, auth: false, ...shape }
  const root = join(TMP_ROOT, randomUUID())
  const dependencies: Record<string, string> = { '@adonisjs/core': '^7.0.0', 'luxon': '^3.7.2' }
  if (resolved.lucid) dependencies['@adonisjs/lucid'] = '^22.0.0'
  if (resolved.redis) dependencies['@adonisjs/redis'] = '^10.0.0'
  if (resolved.auth) {
    dependencies['@adonisjs/auth'] = '^10.0.0'
    dependencies['@adonisjs/session'] = '^8.0.0'
  }
  const files: Record<string, string> = {
    'package.json': JSON.stringify(
      {
        name: 'app',
        type: 'module',
        dependencies,
        devDependencies: { '@adonisjs/assembler': '^8.0.0' },
      },
      null,
      2
    ),
    'tsconfig.json': JSON.stringify({ compilerOptions: {} }),
    'adonisrc.ts': adonisrc(resolved),
    'start/kernel.ts': KERNEL(resolved.auth),
    'start/env.ts': ENV,
    '.env': 'PORT=3333\nHOST=localhost\nNODE_ENV=development\n',
    ...(resolved.redis ? { 'config/redis.ts': REDIS_CONFIG } : {}),
    ...shape.files,
  }
  for (const [path, contents] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true })
    await writeFile(join(root, path), contents)
  }
  return root
}

/**
 * Runs `node ace configure adonis-tracking ...args` in the app, answering
 * the store prompt with `answer` when given
 */
async function configure(root: string, args: string[] = [], answer?: 'redis' | 'memory') {
  const appRoot = pathToFileURL(`${root}/`)
  const ace = await new AceFactory().make(appRoot, {
    importer: (filePath) => {
      if (filePath.startsWith('./') || filePath.startsWith('../')) {
        return import(new URL(filePath, appRoot).href)
      }
      return import(filePath)
    },
  })
  await ace.app.boot()
  ace.ui.switchMode('raw')
  if (answer) {
    ace.prompt
      .trap('Where should live page counters be kept?')
      .chooseOption(answer === 'redis' ? 0 : 1)
  }
  const command = await ace.create(Configure, ['adonis-tracking', ...args])
  await command.exec()
  const logs = command.logger.getLogs().map((entry) => `${entry.stream}: ${entry.message}`)
  return { command, logs, exitCode: command.exitCode }
}

async function read(root: string, path: string) {
  return readFile(join(root, path), 'utf8')
}

async function snapshot(root: string) {
  const out: Record<string, string> = {}
  async function walk(dir: string) {
    for (const entry of await readdir(join(root, dir), { withFileTypes: true })) {
      const path = dir ? `${dir}/${entry.name}` : entry.name
      if (entry.isDirectory()) await walk(path)
      else out[path] = await read(root, path)
    }
  }
  await walk('')
  return out
}

function count(haystack: string, needle: string) {
  return haystack.split(needle).length - 1
}

async function migrationFiles(root: string) {
  try {
    const files = await readdir(join(root, 'database/migrations'))
    return files.sort()
  } catch {
    return []
  }
}

/**
 * Runs configure in the app, which must refuse (exit code 1) with an error
 * naming `message` and leave every file as it was
 */
async function assertRefused(assert: Assert, root: string, args: string[], message: string) {
  const before = await snapshot(root)
  const { exitCode, logs } = await configure(root, args)
  assert.equal(exitCode, 1, logs.join('\n'))
  assert.isTrue(
    logs.some((line) => line.startsWith('stderr') && line.includes(message)),
    logs.join('\n')
  )
  assert.deepEqual(await snapshot(root), before)
}

test.group('configure', (group) => {
  group.each.timeout(60_000)
  /*
   * Scaffolding of fresh apps: nothing here reads the database of the run,
   * so bin/test_all.ts runs these with its first database only
   */
  group.tap((scaffold) =>
    scaffold.skip(
      process.env.TRACKING_DB_INDEPENDENT_DONE === '1',
      'database-independent: run with the first database (bin/test_all.ts)'
    )
  )
  group.teardown(async () => {
    await rm(TMP_ROOT, { recursive: true, force: true })
  })

  test('writes the config, registers provider, commands and middleware, publishes migrations, defines TRACKING_STORE', async ({
    assert,
  }) => {
    const root = await makeApp()
    const { exitCode, logs } = await configure(root, ['--store=redis'])
    assert.equal(exitCode ?? 0, 0, logs.join('\n'))

    const config = await read(root, 'config/tracking.ts')
    assert.include(config, `import { defineConfig } from 'adonis-tracking'`)
    assert.include(config, `store: env.get('TRACKING_STORE', 'redis'),`)
    assert.include(config, `redisConnection: 'main',`)
    assert.include(config, `authorize: () => false,`)
    assert.notInclude(config, 'ctx.auth?.user)')
    assert.match(config, /export default trackingConfig\s*$/)
    /* every key defineConfig accepts is documented in the config file (redisEnabled: the seed's switch, under "store") */
    for (const key of [...KNOWN_KEYS].filter((name) => name !== 'redisEnabled')) {
      assert.match(
        config,
        new RegExp(`\\*/\\n  (// )?${key}:`),
        `no documented "${key}" in the config`
      )
    }

    const rc = await read(root, 'adonisrc.ts')
    assert.include(rc, `() => import('adonis-tracking/tracking_provider')`)
    assert.include(rc, `() => import('adonis-tracking/commands')`)

    const kernel = await read(root, 'start/kernel.ts')
    const routerStack = kernel.slice(
      kernel.indexOf('router.use(['),
      kernel.indexOf('])', kernel.indexOf('router.use(['))
    )
    assert.include(routerStack, `() => import('adonis-tracking/tracking_middleware')`)
    assert.notInclude(
      kernel.slice(kernel.indexOf('server.use(['), kernel.indexOf('router.use([')),
      'adonis-tracking'
    )

    const migrations = await migrationFiles(root)
    assert.lengthOf(migrations, MIGRATIONS.length)
    MIGRATIONS.forEach((name, index) =>
      assert.match(migrations[index], new RegExp(`^\\d{13}_${name}\\.ts$`))
    )
    for (const file of migrations) {
      const source = await read(root, `database/migrations/${file}`)
      assert.include(source, `from '@adonisjs/lucid/schema'`)
      assert.include(source, 'export default class extends BaseSchema')
    }
    /* the published migrations are the package's own, byte for byte */
    const packageMigrations = await readdir(join(REPO_ROOT, 'database/migrations'))
    for (const [index, name] of MIGRATIONS.entries()) {
      const own = packageMigrations.find((file) => file.endsWith(`_${name}.ts`))
      assert.isDefined(own, `database/migrations has no *_${name}.ts`)
      const published = await read(root, `database/migrations/${migrations[index]}`)
      const source = await read(REPO_ROOT, `database/migrations/${own}`)
      assert.equal(
        published.trimEnd(),
        source.trimEnd(),
        `stubs/migrations/${name}.stub is out of date: copy database/migrations/${own} below its exports block`
      )
    }

    assert.include(await read(root, '.env'), 'TRACKING_STORE=redis')
    assert.include(
      await read(root, 'start/env.ts'),
      `TRACKING_STORE: Env.schema.enum.optional(['redis', 'memory'] as const)`
    )
    /* the stats API: off (no token) until TRACKING_API_TOKENS is set, read as a secret */
    assert.match(await read(root, '.env'), /^TRACKING_API_TOKENS=$/m)
    assert.include(
      await read(root, 'start/env.ts'),
      `TRACKING_API_TOKENS: Env.schema.secret.optional()`
    )
    assert.include(config, `apiTokens: (env.get('TRACKING_API_TOKENS')?.release() ?? '')`)
  })

  test('a re-run keeps the API tokens already in .env', async ({ assert }) => {
    const root = await makeApp()
    const token = 'a'.repeat(40)
    const first = await configure(root, ['--store=redis'])
    assert.equal(first.exitCode ?? 0, 0, first.logs.join('\n'))
    const written = await read(root, '.env')
    await writeFile(
      join(root, '.env'),
      written.replace(/^TRACKING_API_TOKENS=$/m, `TRACKING_API_TOKENS=${token}`)
    )

    const second = await configure(root, ['--store=redis'])
    assert.equal(second.exitCode ?? 0, 0, second.logs.join('\n'))
    const after = await read(root, '.env')
    assert.include(after, `TRACKING_API_TOKENS=${token}`)
    assert.equal(count(after, 'TRACKING_API_TOKENS='), 1)
  })

  test('a second run changes nothing: no duplicated provider, command, middleware, migration or env entry', async ({
    assert,
  }) => {
    const root = await makeApp({ auth: true })
    const first = await configure(root, ['--store=redis'])
    assert.equal(first.exitCode ?? 0, 0, first.logs.join('\n'))
    const before = await snapshot(root)

    const second = await configure(root, ['--store=redis'])
    assert.equal(second.exitCode ?? 0, 0, second.logs.join('\n'))
    const after = await snapshot(root)

    assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort())
    for (const path of Object.keys(before))
      assert.equal(after[path], before[path], `${path} changed`)

    const rc = after['adonisrc.ts']
    assert.equal(count(rc, 'adonis-tracking/tracking_provider'), 1)
    assert.equal(count(rc, 'adonis-tracking/commands'), 1)
    assert.equal(count(after['start/kernel.ts'], 'adonis-tracking/tracking_middleware'), 1)
    assert.equal(count(after['start/env.ts'], 'TRACKING_STORE'), 1)
    assert.equal(count(after['.env'], 'TRACKING_STORE='), 1)
    assert.equal(count(after['.env'], 'TRACKING_API_TOKENS='), 1)
    assert.equal(count(after['start/env.ts'], 'TRACKING_API_TOKENS'), 1)
    assert.lengthOf(await migrationFiles(root), MIGRATIONS.length)
    assert.isTrue(
      second.logs.some((line) => /skip.*config\/tracking\.ts/i.test(line)),
      second.logs.join('\n')
    )
    assert.isTrue(
      second.logs.some((line) => /create_tracking_page_views_table.*already exists/.test(line))
    )
  })

  test('with @adonisjs/auth: authorize lets logged-in users in, middleware after the auth initializer', async ({
    assert,
  }) => {
    const root = await makeApp({ auth: true })
    const { exitCode, logs } = await configure(root, ['--store=redis'])
    assert.equal(exitCode ?? 0, 0, logs.join('\n'))

    const config = await read(root, 'config/tracking.ts')
    assert.include(config, 'authorize: (ctx) => Boolean(ctx.auth?.user),')
    assert.include(config, 'restrict it to your staff')
    assert.notInclude(config, 'authorize: () => false')

    const kernel = await read(root, 'start/kernel.ts')
    const auth = kernel.indexOf(`import('@adonisjs/auth/initialize_auth_middleware')`)
    const tracking = kernel.indexOf(`import('adonis-tracking/tracking_middleware')`)
    assert.isAbove(auth, -1)
    assert.isAbove(tracking, auth)
    assert.isBelow(tracking, kernel.indexOf('export const middleware'))
  })

  test('@adonisjs/auth installed but not initialized in the kernel: authorize denies all', async ({
    assert,
  }) => {
    const root = await makeApp()
    const pkg = JSON.parse(await read(root, 'package.json'))
    pkg.dependencies['@adonisjs/auth'] = '^10.0.0'
    await writeFile(join(root, 'package.json'), JSON.stringify(pkg))
    const { exitCode } = await configure(root, ['--store=redis'])
    assert.equal(exitCode ?? 0, 0)
    assert.include(await read(root, 'config/tracking.ts'), 'authorize: () => false,')
  })

  test('prompts for the store without --store', async ({ assert }) => {
    const root = await makeApp()
    const { exitCode, logs } = await configure(root, [], 'memory')
    assert.equal(exitCode ?? 0, 0, logs.join('\n'))
    assert.include(
      await read(root, 'config/tracking.ts'),
      `store: env.get('TRACKING_STORE', 'memory'),`
    )
    assert.include(await read(root, '.env'), 'TRACKING_STORE=memory')

    /* a re-run keeps the store of .env and does not ask again (no trap set) */
    const again = await configure(root)
    assert.equal(again.exitCode ?? 0, 0, again.logs.join('\n'))
    assert.include(await read(root, '.env'), 'TRACKING_STORE=memory')
  })

  test('an explicit --store on a re-run switches TRACKING_STORE, the config stays', async ({
    assert,
  }) => {
    const root = await makeApp()
    await configure(root, ['--store=memory'])
    const config = await read(root, 'config/tracking.ts')
    const { exitCode } = await configure(root, ['--store=redis'])
    assert.equal(exitCode ?? 0, 0)
    assert.include(await read(root, '.env'), 'TRACKING_STORE=redis')
    assert.notInclude(await read(root, '.env'), 'TRACKING_STORE=memory')
    assert.equal(await read(root, 'config/tracking.ts'), config)
  })

  test('--force rewrites config/tracking.ts but never duplicates a migration', async ({
    assert,
  }) => {
    const root = await makeApp()
    await configure(root, ['--store=redis'])
    await writeFile(join(root, 'config/tracking.ts'), '// edited by hand\n')
    const migrations = await migrationFiles(root)

    const { exitCode } = await configure(root, ['--store=redis', '--force'])
    assert.equal(exitCode ?? 0, 0)
    assert.include(await read(root, 'config/tracking.ts'), 'defineConfig(')
    assert.deepEqual(await migrationFiles(root), migrations)
  })

  test('keeps a migration the app already has under another timestamp', async ({ assert }) => {
    const root = await makeApp({
      files: {
        'database/migrations/1600000000000_create_tracking_page_views_table.ts': '// mine\n',
      },
    })
    const { exitCode, logs } = await configure(root, ['--store=redis'])
    assert.equal(exitCode ?? 0, 0, logs.join('\n'))
    const migrations = await migrationFiles(root)
    assert.lengthOf(migrations, MIGRATIONS.length)
    assert.include(migrations, '1600000000000_create_tracking_page_views_table.ts')
    assert.equal(
      await read(root, 'database/migrations/1600000000000_create_tracking_page_views_table.ts'),
      '// mine\n'
    )
  })

  /**
   * An app configured by an earlier version, which lacks one migration (its
   * name): configure run again adds that one only, after the others, and
   * rewrites nothing else. Returns the source of the added migration.
   */
  async function upgradeAdds(assert: Assert, migration: string): Promise<string> {
    const root = await makeApp()
    await configure(root, ['--store=redis'])
    const published = await migrationFiles(root)
    const missing = published.find((file) => file.endsWith(`_${migration}.ts`))!
    await rm(join(root, 'database/migrations', missing))
    const before = await migrationFiles(root)
    assert.lengthOf(before, MIGRATIONS.length - 1)
    await writeFile(join(root, 'config/tracking.ts'), '// configured by the earlier version\n')

    const { exitCode, logs } = await configure(root, [])
    assert.equal(exitCode ?? 0, 0, logs.join('\n'))
    const after = await migrationFiles(root)
    const added = after.filter((file) => !before.includes(file))
    assert.lengthOf(added, 1)
    assert.match(added[0], new RegExp(`^\\d+_${migration}\\.ts$`))
    /* after the others: migration:run applies it last */
    assert.isAbove(Number.parseInt(added[0]), Math.max(...before.map((f) => Number.parseInt(f))))
    /* nothing else is rewritten */
    assert.equal(await read(root, 'config/tracking.ts'), '// configured by the earlier version\n')
    return read(root, `database/migrations/${added[0]}`)
  }

  test('upgrade: an app configured before the dimensions gets only the dimension migration', async ({
    assert,
  }) => {
    const source = await upgradeAdds(assert, 'create_tracking_dimension_stats_table')
    assert.include(source, "tableName = 'tracking_dimension_stats'")
  })

  test('upgrade: an app configured before the events gets only the migration that widens dimension values', async ({
    assert,
  }) => {
    const source = await upgradeAdds(assert, 'widen_tracking_dimension_stats_values')
    assert.include(source, 'varchar(400)')
  })

  test('upgrade: an app configured before the visits gets only the visits migration', async ({
    assert,
  }) => {
    const source = await upgradeAdds(assert, 'create_tracking_visits_tables')
    for (const table of [
      'tracking_visit_stats',
      'tracking_visit_durations',
      'tracking_visit_pages',
      'tracking_visit_sources',
      'tracking_page_visitors',
    ]) {
      assert.include(source, `'${table}'`)
    }
  })

  test('without @adonisjs/redis: warns with the command to run and uses the memory store', async ({
    assert,
  }) => {
    const root = await makeApp({ redis: false })
    const { exitCode, logs } = await configure(root, ['--store=redis'])
    assert.equal(exitCode ?? 0, 0, logs.join('\n'))
    assert.isTrue(
      logs.some((line) => line.includes('node ace add @adonisjs/redis') && line.includes('memory')),
      logs.join('\n')
    )
    const config = await read(root, 'config/tracking.ts')
    assert.include(config, `store: env.get('TRACKING_STORE', 'memory'),`)
    assert.notInclude(config, 'redisConnection:')
    assert.include(await read(root, '.env'), 'TRACKING_STORE=memory')
    assert.include(await read(root, 'adonisrc.ts'), 'adonis-tracking/tracking_provider')
  })

  test('@adonisjs/redis installed but not configured: says "node ace configure @adonisjs/redis"', async ({
    assert,
  }) => {
    const root = await makeApp({ redis: false })
    const pkg = JSON.parse(await read(root, 'package.json'))
    pkg.dependencies['@adonisjs/redis'] = '^10.0.0'
    await writeFile(join(root, 'package.json'), JSON.stringify(pkg))
    const { logs } = await configure(root, [])
    assert.isTrue(
      logs.some((line) => line.includes('node ace configure @adonisjs/redis')),
      logs.join('\n')
    )
    assert.include(await read(root, 'config/tracking.ts'), `'memory'`)
  })

  test('without @adonisjs/lucid: refuses with the command to run and writes nothing', async ({
    assert,
  }) => {
    await assertRefused(
      assert,
      await makeApp({ lucid: false }),
      ['--store=redis'],
      'node ace add @adonisjs/lucid'
    )
  })

  test('an invalid --store is refused and writes nothing', async ({ assert }) => {
    await assertRefused(
      assert,
      await makeApp(),
      ['--store=mongo'],
      '--store=redis or --store=memory'
    )
  })

  test('reads .env with the env parser: a quoted TRACKING_STORE with a comment is kept on a re-run', async ({
    assert,
  }) => {
    const root = await makeApp({
      files: { '.env': `PORT=3333\nTRACKING_STORE="memory" # one process\nHOST=localhost\n` },
    })
    /* no prompt trap: a prompt would fail the run */
    const { exitCode, logs } = await configure(root)
    assert.equal(exitCode ?? 0, 0, logs.join('\n'))
    assert.include(
      await read(root, 'config/tracking.ts'),
      `store: env.get('TRACKING_STORE', 'memory'),`
    )
    assert.equal(count(await read(root, '.env'), 'TRACKING_STORE='), 1)
  })

  test('the Redis connection is the one config/redis.ts names', async ({ assert }) => {
    const root = await makeApp({
      files: {
        'config/redis.ts': REDIS_CONFIG.replace(`connection: 'main'`, `connection: "cache"`),
      },
    })
    const { exitCode, logs } = await configure(root, ['--store=redis'])
    assert.equal(exitCode ?? 0, 0, logs.join('\n'))
    assert.include(await read(root, 'config/tracking.ts'), `redisConnection: 'cache',`)
  })

  test('a commented-out auth initializer is not one: authorize denies all', async ({ assert }) => {
    const root = await makeApp({ auth: true })
    const kernel = await read(root, 'start/kernel.ts')
    await writeFile(
      join(root, 'start/kernel.ts'),
      kernel.replace(
        `  () => import('@adonisjs/auth/initialize_auth_middleware'),`,
        `  // () => import('@adonisjs/auth/initialize_auth_middleware'),`
      )
    )
    const { exitCode, logs } = await configure(root, ['--store=redis'])
    assert.equal(exitCode ?? 0, 0, logs.join('\n'))
    assert.include(await read(root, 'config/tracking.ts'), 'authorize: () => false,')
  })

  test('a commented-out Lucid provider is not one: refuses with "node ace configure @adonisjs/lucid"', async ({
    assert,
  }) => {
    const root = await makeApp()
    const rc = await read(root, 'adonisrc.ts')
    await writeFile(
      join(root, 'adonisrc.ts'),
      rc.replace(
        `() => import('@adonisjs/lucid/database_provider')`,
        `// () => import('@adonisjs/lucid/database_provider')`
      )
    )
    await assertRefused(assert, root, ['--store=redis'], 'node ace configure @adonisjs/lucid')
  })

  /* each file a codemod edits (or loads) in a shape it cannot handle: refused before any write */
  const unusable: Array<[string, Record<string, string | null>, string]> = [
    [
      'a kernel without a router stack',
      { 'start/kernel.ts': `export const middleware = {}\n` },
      'router.use',
    ],
    ['start/env.ts without Env.create', { 'start/env.ts': `export default {}\n` }, 'Env.create'],
    ['adonisrc.ts without defineConfig', { 'adonisrc.ts': `export default {}\n` }, 'defineConfig'],
    [
      'a router stack that is not an array',
      { 'start/kernel.ts': KERNEL(false).replace(/router\.use\(\[[^\]]*\]\)/, 'router.use(list)') },
      'router.use',
    ],
    ['no tsconfig.json', { 'tsconfig.json': null }, '@adonisjs/assembler'],
  ]
  for (const [title, files, message] of unusable) {
    test(`${title}: refused and nothing is written`, async ({ assert }) => {
      const root = await makeApp()
      for (const [path, contents] of Object.entries(files)) {
        if (contents === null) await rm(join(root, path))
        else await writeFile(join(root, path), contents)
      }
      await assertRefused(assert, root, ['--store=redis'], message)
    })
  }
})
