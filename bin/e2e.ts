/*
|--------------------------------------------------------------------------
| End-to-end: the packed tarball in a fresh AdonisJS 7 app
|--------------------------------------------------------------------------
|
|   node bin/e2e.ts [--keep]
|
| Packs the package (`npm pack`, whose prepack builds it), writes a fresh
| app (tests/e2e/fixture_app.ts) into a temporary folder, installs the app's
| dependencies and the tarball from the registry / the .tgz (never a
| symlink), then does what a user does: `node ace configure adonis-tracking
| --store=redis` (twice: the second run must change nothing), type checks
| the app, `node ace migration:run`, serves it, sends requests, waits for the
| write buffer, `node ace flush_page_views`, and reads the rows in SQLite.
| Every check is printed; the first failure stops the run with exit code 1
| and the temporary app is kept for inspection (always kept with --keep).
| Needs Node >= 24, npm and Redis at REDIS_HOST:REDIS_PORT (127.0.0.1:6379).
|
*/

import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fixtureFiles } from '../tests/e2e/fixture_app.ts'
import { appEnv, NPM, REPO, run, writeFiles } from './lib/fresh_app.ts'
import { writeCheckSummary } from './lib/summary.ts'
import { hardening } from './lib/e2e_hardening.ts'
import { dimensionsFromOutside } from './lib/e2e_dimensions.ts'
import { statsApiFromOutside } from './lib/e2e_api.ts'
import { importFromOutside } from './lib/e2e_import.ts'
import { eventsFromOutside } from './lib/e2e_events.ts'
import { visitsFromOutside } from './lib/e2e_visits.ts'
import { freePort } from '../tests/redis_server.ts'

const KEEP = process.argv.includes('--keep')
const REDIS_HOST = process.env.REDIS_HOST ?? '127.0.0.1'
const REDIS_PORT = Number(process.env.REDIS_PORT ?? 6379)
const BROWSER_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36'
const BOT_UA = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'

/**
 * The requests sent to the served app, and the page views they must leave
 * in tracking_page_views: 200 and 302 GETs count (the query string is not
 * part of the path); a 404, a HEAD, a bot and a skipped prefix do not.
 */
const REQUESTS: Array<{ method: 'GET' | 'HEAD'; path: string; status: number; ua?: string }> = [
  { method: 'GET', path: '/', status: 200 },
  { method: 'GET', path: '/', status: 200 },
  { method: 'GET', path: '/', status: 200 },
  { method: 'GET', path: '/about', status: 200 },
  { method: 'GET', path: '/about?utm_source=e2e', status: 200 },
  { method: 'GET', path: '/posts/42', status: 200 },
  { method: 'GET', path: '/old-home', status: 302 },
  { method: 'GET', path: '/missing', status: 404 },
  { method: 'HEAD', path: '/about', status: 200 },
  { method: 'GET', path: '/health', status: 200 },
  { method: 'GET', path: '/about', status: 200, ua: BOT_UA },
]
const EXPECTED_VIEWS: Record<string, number> = {
  '/': 3,
  '/about': 2,
  '/old-home': 1,
  '/posts/42': 1,
}

/** The header value config/tracking.ts's authorize accepts in this app */
const STAFF_KEY = randomBytes(12).toString('hex')

/** A page of the user's own that renders the package's components */
const STATS_VIEW = `<!DOCTYPE html>
<html lang="en">
<head><title>Stats</title>@!tracking.styles()</head>
<body>
  @!tracking.topbar({ url: '/cabinet/tracking' })
  @!tracking.kpi({ data: context.trackingTotalViews })
  @!tracking.chart({ data: context.trackingViewsChart })
  @!tracking.list({ data: context.trackingTopPages })
</body>
</html>
`
const STATS_ROUTE = `
router.get('/stats', async ({ view }) => {
  const app = (await import('@adonisjs/core/services/app')).default
  const selector = await app.container.make('tracking.selector')
  return view.render('stats', { context: await selector.getAnalyticsContext(7) })
})
`

let appDir: string | undefined
let server: ChildProcess | undefined
let checks = 0

class E2EFailure extends Error {}

function ok(message: string) {
  checks++
  console.log(`  \u2714 ${message}`)
}

function fail(message: string, output?: string): never {
  throw new E2EFailure(output ? `${message}\n${indent(tail(output))}` : message)
}

function step(title: string) {
  console.log(`\n\u25b8 ${title}`)
}

function tail(text: string, lines = 30) {
  return text
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((line) => (line.length > 600 ? `${line.slice(0, 600)}...` : line))
    .join('\n')
}

function indent(text: string) {
  return text
    .split('\n')
    .map((line) => `    | ${line}`)
    .join('\n')
}

/**
 * Runs a command that must exit 0
 */
async function must(
  label: string,
  command: string,
  args: string[],
  options: Parameters<typeof run>[2]
) {
  const started = Date.now()
  const result = await run(command, args, options)
  if (result.code !== 0) fail(`${label} exited with ${result.code}`, result.output)
  ok(`${label} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
  return result.output
}

function redisPing(): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: REDIS_HOST, port: REDIS_PORT })
    socket.setTimeout(3000, () => {
      socket.destroy()
      reject(new Error('timeout'))
    })
    socket.on('error', reject)
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (data) => {
      socket.end()
      return data.toString().startsWith('+PONG')
        ? resolve()
        : reject(new Error(data.toString().trim()))
    })
  })
}

function read(path: string) {
  return readFileSync(join(appDir!, path), 'utf8')
}

/**
 * Every source file of the app (node_modules, tmp and build left out)
 */
function snapshot(): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(appDir!, dir), { withFileTypes: true })) {
      const path = dir ? `${dir}/${entry.name}` : entry.name
      if (['node_modules', 'tmp', 'build', 'package-lock.json'].includes(path)) continue
      if (entry.isDirectory()) walk(path)
      else out[path] = read(path)
    }
  }
  walk('')
  return out
}

function today(offsetDays = 0) {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10)
}

function asDay(value: unknown): string {
  if (typeof value === 'number') return new Date(value).toISOString().slice(0, 10)
  return String(value).slice(0, 10)
}

interface Sqlite {
  prepare(sql: string): { all(...params: unknown[]): Array<Record<string, unknown>> }
  close(): void
}

/**
 * Reads the app's SQLite database with the app's own better-sqlite3
 */
function query(sql: string): Array<Record<string, unknown>> {
  const require = createRequire(join(appDir!, 'package.json'))
  const Database = require('better-sqlite3') as new (file: string, options: object) => Sqlite
  const db = new Database(join(appDir!, 'tmp/db.sqlite3'), { readonly: true })
  try {
    return db.prepare(sql).all()
  } finally {
    db.close()
  }
}

async function waitForServer(url: string, child: ChildProcess, output: () => string) {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) fail(`the server exited with ${child.exitCode}`, output())
    try {
      const response = await fetch(url)
      if (response.ok) return
    } catch {
      /* not listening yet */
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  fail('the server did not answer within 60 s', output())
}

function stopServer(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve(code)
    })
    child.kill('SIGTERM')
  })
}

function checkRows(label: string) {
  const rows = query('SELECT path, date, views FROM tracking_page_views ORDER BY path')
  const days = new Set([today(-1), today(), today(1)])
  const found: Record<string, number> = {}
  for (const row of rows) {
    if (!days.has(asDay(row.date)))
      fail(`${label}: unexpected day ${String(row.date)} for ${row.path}`)
    found[String(row.path)] = (found[String(row.path)] ?? 0) + Number(row.views)
  }
  if (JSON.stringify(found) !== JSON.stringify(EXPECTED_VIEWS)) {
    fail(
      `${label}: tracking_page_views holds ${JSON.stringify(found)}, expected ${JSON.stringify(EXPECTED_VIEWS)}`
    )
  }
  ok(`${label}: tracking_page_views = ${JSON.stringify(found)}`)

  const total = Object.values(EXPECTED_VIEWS).reduce((sum, views) => sum + views, 0)
  const stats = query('SELECT date, views, unique_visitors FROM tracking_daily_stats')
  const views = stats.reduce((sum, row) => sum + Number(row.views), 0)
  const visitors = stats.reduce((sum, row) => sum + Number(row.unique_visitors), 0)
  if (views !== total || visitors !== 1) {
    fail(
      `${label}: tracking_daily_stats holds ${JSON.stringify(stats)}, expected ${total} views and 1 unique visitor`
    )
  }
  ok(`${label}: tracking_daily_stats = ${views} views, ${visitors} unique visitor`)
}

async function main() {
  step('Preflight')
  const major = Number(process.versions.node.split('.')[0])
  if (major < 24)
    fail(
      `Node >= 24 is needed (this is ${process.version}): source /work/shared/tools/setup-node24.sh`
    )
  ok(`node ${process.version}`)
  try {
    await redisPing()
  } catch (error) {
    fail(`Redis does not answer at ${REDIS_HOST}:${REDIS_PORT} (${(error as Error).message})`)
  }
  ok(`Redis answers at ${REDIS_HOST}:${REDIS_PORT}`)

  step('npm pack (prepack builds the package)')
  const work = mkdtempSync(join(tmpdir(), 'adonis-tracking-e2e-'))
  const packDir = join(work, 'pack')
  mkdirSync(packDir)
  await must('npm pack', NPM, ['pack', '--pack-destination', packDir], {
    cwd: REPO,
    env: process.env,
  })
  const tarballs = readdirSync(packDir).filter((file) => file.endsWith('.tgz'))
  if (tarballs.length !== 1)
    fail(`expected one tarball in ${packDir}, found ${tarballs.join(', ') || 'none'}`)
  const tarball = join(packDir, tarballs[0])
  const tar = await run('tar', ['-tzf', tarball], { cwd: work })
  const listing = tar.output.split('\n')
  for (const file of [
    'package/build/index.js',
    'package/build/configure.js',
    'package/build/stubs/main.js',
    'package/build/stubs/config/tracking.stub',
    'package/build/stubs/migrations/create_tracking_page_views_table.stub',
    'package/build/providers/tracking_provider.js',
    'package/build/commands/commands.json',
    'package/build/commands/main.js',
  ]) {
    if (!listing.includes(file)) fail(`${tarballs[0]} has no ${file.replace(/^package\//, '')}`)
  }
  ok(`${tarballs[0]}: ${listing.filter(Boolean).length} entries, stubs and commands index included`)

  step('Fresh AdonisJS 7 app')
  appDir = join(work, 'app')
  const port = await freePort()
  writeFiles(appDir, fixtureFiles({ appKey: randomBytes(24).toString('base64url'), port }))
  ok(`written in ${appDir}`)
  await must(
    'npm install --prefer-offline <deps> <tarball>',
    NPM,
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball],
    { cwd: appDir, timeoutMs: 900_000 }
  )

  const installed = join(appDir, 'node_modules/adonis-tracking')
  if (!existsSync(installed)) fail('node_modules/adonis-tracking is missing')
  if (lstatSync(installed).isSymbolicLink())
    fail('node_modules/adonis-tracking is a symlink, not the tarball')
  if (existsSync(join(installed, 'index.ts')) || existsSync(join(installed, 'src'))) {
    fail('node_modules/adonis-tracking holds TypeScript sources: it is not the packed tarball')
  }
  const version = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).version
  const repoVersion = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version
  if (version !== repoVersion)
    fail(`installed adonis-tracking@${version}, the repository is ${repoVersion}`)
  const pkg = JSON.parse(read('package.json'))
  if (!String(pkg.dependencies?.['adonis-tracking']).startsWith('file:')) {
    fail(
      `package.json has adonis-tracking ${pkg.dependencies?.['adonis-tracking']}, expected the file: tarball`
    )
  }
  ok(`node_modules/adonis-tracking@${version} is a real folder extracted from the tarball`)

  step('node ace configure adonis-tracking --store=redis')
  const configureOutput = await must(
    'node ace configure adonis-tracking --store=redis',
    'node',
    ['ace', 'configure', 'adonis-tracking', '--store=redis'],
    { cwd: appDir }
  )
  const config = read('config/tracking.ts')
  if (!config.includes(`store: env.get('TRACKING_STORE', 'redis')`))
    fail('config/tracking.ts has no redis store', config)
  if (!config.includes('authorize: () => false'))
    fail('config/tracking.ts: authorize should deny all without auth', config)
  ok(
    'config/tracking.ts written (store from TRACKING_STORE, redis; authorize denies all: no @adonisjs/auth)'
  )
  if (!read('adonisrc.ts').includes(`() => import('adonis-tracking/tracking_provider')`))
    fail('provider not in adonisrc.ts')
  if (!read('adonisrc.ts').includes(`() => import('adonis-tracking/commands')`))
    fail('commands not in adonisrc.ts')
  ok('adonisrc.ts: provider and commands registered')
  const kernel = read('start/kernel.ts')
  const routerStack = kernel.slice(
    kernel.indexOf('router.use(['),
    kernel.indexOf('export const middleware')
  )
  if (!routerStack.includes(`() => import('adonis-tracking/tracking_middleware')`)) {
    fail('start/kernel.ts: the middleware is not in the router stack', kernel)
  }
  ok('start/kernel.ts: middleware in the router stack')
  const migrations = readdirSync(join(appDir, 'database/migrations')).sort()
  const names = migrations.map((file) => file.replace(/^\d+_/, ''))
  const wanted = [
    'create_tracking_page_views_table.ts',
    'create_tracking_daily_stats_table.ts',
    'create_tracking_flushes_table.ts',
    'create_tracking_dimension_stats_table.ts',
    'create_tracking_imports_table.ts',
    'create_tracking_visits_tables.ts',
    'widen_tracking_dimension_stats_values.ts',
  ]
  if (JSON.stringify(names) !== JSON.stringify(wanted))
    fail(`database/migrations holds ${migrations.join(', ')}`)
  ok(`database/migrations: ${migrations.join(', ')}`)
  if (!read('.env').includes('TRACKING_STORE=redis')) fail('.env has no TRACKING_STORE=redis')
  if (!read('start/env.ts').includes('TRACKING_STORE: Env.schema.enum.optional'))
    fail('start/env.ts validates no TRACKING_STORE')
  ok('.env and start/env.ts: TRACKING_STORE')
  if (/warn|error/i.test(configureOutput))
    fail('configure printed a warning or an error', configureOutput)

  const before = snapshot()
  await must(
    'node ace configure adonis-tracking --store=redis (again)',
    'node',
    ['ace', 'configure', 'adonis-tracking', '--store=redis'],
    {
      cwd: appDir,
    }
  )
  const after = snapshot()
  const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
    (path) => before[path] !== after[path]
  )
  if (changed.length) fail(`the second configure changed ${changed.join(', ')}`)
  ok(`the second run changed nothing (${Object.keys(after).length} files compared)`)

  /*
   * no login in this app: count guests; a key prefix of its own in the shared
   * Redis; the analytics page for requests that carry the staff key
   */
  const prefix = `e2e${randomBytes(4).toString('hex')}`
  const edited = config
    .replace('// trackAnonymous: false,', 'trackAnonymous: true,')
    .replace(`// keyPrefix: 'tracking',`, `keyPrefix: '${prefix}',`)
    .replace('// ttlSeconds: 7 * 24 * 60 * 60,', 'ttlSeconds: 600,')
    .replace(
      'authorize: () => false,',
      `authorize: (ctx) => ctx.request.header('x-staff-key') === '${STAFF_KEY}',`
    )
  if (
    !edited.includes('trackAnonymous: true,') ||
    !edited.includes(`keyPrefix: '${prefix}'`) ||
    !edited.includes(STAFF_KEY)
  ) {
    fail('could not enable trackAnonymous / keyPrefix / authorize in config/tracking.ts', config)
  }
  writeFileSync(join(appDir, 'config/tracking.ts'), edited)
  ok(
    `config/tracking.ts edited: trackAnonymous: true, keyPrefix: '${prefix}', ttlSeconds: 600, authorize by header`
  )

  /* the user renders the widgets in a page of their own, with Edge */
  const rc = read('adonisrc.ts')
  const withEdge = rc.replace(
    `() => import('@adonisjs/core/providers/hash_provider'),`,
    `() => import('@adonisjs/core/providers/hash_provider'),\n    () => import('@adonisjs/core/providers/edge_provider'),`
  )
  if (withEdge === rc) fail('could not add the Edge provider to adonisrc.ts', rc)
  writeFileSync(join(appDir, 'adonisrc.ts'), withEdge)
  mkdirSync(join(appDir, 'resources/views'), { recursive: true })
  writeFileSync(join(appDir, 'resources/views/stats.edge'), STATS_VIEW)
  writeFileSync(join(appDir, 'start/routes.ts'), `${read('start/routes.ts')}${STATS_ROUTE}`)
  ok('Edge provider, resources/views/stats.edge and GET /stats added')

  step('The configured app')
  await must(
    'tsc --noEmit (the app type checks against the packed .d.ts)',
    'node',
    [join(appDir, 'node_modules/typescript/bin/tsc'), '--noEmit'],
    {
      cwd: appDir,
    }
  )
  const list = await must('node ace list', 'node', ['ace', 'list'], { cwd: appDir })
  if (!list.includes('flush_page_views')) fail('node ace list shows no flush_page_views', list)
  ok('node ace list shows flush_page_views')
  await must('node ace migration:run --force', 'node', ['ace', 'migration:run', '--force'], {
    cwd: appDir,
  })
  const tables = query(
    `SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'tracking_%' ORDER BY name`
  ).map((row) => row.name)
  if (
    JSON.stringify(tables) !==
    JSON.stringify([
      'tracking_daily_stats',
      'tracking_dimension_stats',
      'tracking_flushes',
      'tracking_imports',
      'tracking_page_views',
      'tracking_page_visitors',
      'tracking_visit_durations',
      'tracking_visit_pages',
      'tracking_visit_sources',
      'tracking_visit_stats',
    ])
  ) {
    fail(`tables after migration:run: ${tables.join(', ')}`)
  }
  ok(`tables: ${tables.join(', ')}`)

  step(`Serve on 127.0.0.1:${port} and visit`)
  let serverOutput = ''
  server = spawn('node', ['--import=@poppinss/ts-exec', 'bin/server.ts'], {
    cwd: appDir,
    env: appEnv({ PORT: String(port), HOST: '127.0.0.1' }),
  })
  server.stdout!.on('data', (chunk) => (serverOutput += chunk))
  server.stderr!.on('data', (chunk) => (serverOutput += chunk))
  const base = `http://127.0.0.1:${port}`
  await waitForServer(`${base}/health`, server, () => serverOutput)
  ok(`node bin/server.ts answers on ${base}`)

  for (const request of REQUESTS) {
    const response = await fetch(`${base}${request.path}`, {
      method: request.method,
      redirect: 'manual',
      headers: { 'user-agent': request.ua ?? BROWSER_UA },
    })
    await response.arrayBuffer()
    if (response.status !== request.status) {
      fail(
        `${request.method} ${request.path} answered ${response.status}, expected ${request.status}`,
        serverOutput
      )
    }
  }
  ok(
    `${REQUESTS.length} requests: ${REQUESTS.map((r) => `${r.method === 'HEAD' ? 'HEAD ' : ''}${r.path}${r.ua ? ' (bot)' : ''} ${r.status}`).join(', ')}`
  )

  /* bufferMs is 1000 by default: give the write buffer time to reach Redis */
  await new Promise((resolve) => setTimeout(resolve, 2500))
  ok('waited 2.5 s for the write buffer (bufferMs 1000)')

  step('node ace flush_page_views and the rows in SQL')
  await must('node ace flush_page_views (server running)', 'node', ['ace', 'flush_page_views'], {
    cwd: appDir,
  })
  checkRows('after the flush')

  step('The analytics page, its exports and the widgets in a page of the app')
  const staff = { 'user-agent': BROWSER_UA, 'x-staff-key': STAFF_KEY }
  const get = async (path: string, headers: Record<string, string> = staff) => {
    const response = await fetch(`${base}${path}`, { headers, redirect: 'manual' })
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      body: await response.text(),
    }
  }
  for (const path of [
    '/cabinet/tracking',
    '/cabinet/tracking?format=json',
    '/cabinet/tracking/export.csv',
  ]) {
    const denied = await get(path, { 'user-agent': BROWSER_UA })
    if (denied.status !== 403)
      fail(`GET ${path} without the staff key answered ${denied.status}`, denied.body)
    if (/\/posts\/42/.test(denied.body)) fail(`GET ${path} (403) leaks tracked paths`, denied.body)
  }
  ok('without the staff key: 403 on the page, the JSON and the CSV, no data')
  const json = await get('/cabinet/tracking?format=json&days=7')
  if (json.status !== 200)
    fail(`GET /cabinet/tracking?format=json answered ${json.status}`, json.body)
  const context = JSON.parse(json.body)
  const flushed = Object.values(EXPECTED_VIEWS).reduce((sum, views) => sum + views, 0)
  if (context.trackingTotalViews?.value !== flushed)
    fail(
      `the JSON says ${context.trackingTotalViews?.value} views, SQL holds ${flushed}`,
      json.body
    )
  const top = context.trackingTopPages?.items?.[0]
  if (top?.label !== '/' || top?.value !== EXPECTED_VIEWS['/'])
    fail(`top page in the JSON: ${JSON.stringify(top)}`, json.body)
  ok(`JSON: ${flushed} views over 7 days, top page "/" with ${EXPECTED_VIEWS['/']}`)
  const html = await get('/cabinet/tracking')
  if (
    html.status !== 200 ||
    !html.type.includes('text/html') ||
    !html.body.includes('data-widget="trackingTotalViews"')
  )
    fail(`the analytics page answered ${html.status} ${html.type}`, html.body)
  if (
    /<script|https?:\/\/(?!127\.0\.0\.1|localhost)[a-z]/i.test(
      html.body.replace(/xmlns="[^"]*"/g, '')
    )
  )
    fail('the analytics page has a script or a link to another origin', html.body)
  ok('the analytics page: 200 HTML with the KPIs, no script, no other origin')
  const csv = await get('/cabinet/tracking/export.csv?days=7')
  if (csv.status !== 200 || !csv.type.includes('text/csv') || !csv.body.includes('/posts/42'))
    fail(`the CSV export answered ${csv.status} ${csv.type}`, csv.body)
  ok('CSV export: 200 text/csv with the tracked paths')
  const stats = await get('/stats')
  if (
    stats.status !== 200 ||
    !stats.body.includes('data-widget="trackingTotalViews"') ||
    !stats.body.includes('<svg')
  )
    fail(`GET /stats (the app's own page with the components) answered ${stats.status}`, stats.body)
  ok("GET /stats: the app's own Edge page renders @!tracking.kpi, chart and list")
  /* /stats is a page view of the app; the analytics page and its exports are not */
  EXPECTED_VIEWS['/stats'] = 1

  /* views still in the write buffer when the app stops are drained to Redis, not lost */
  for (let index = 0; index < 2; index++) {
    const response = await fetch(`${base}/about`, { headers: { 'user-agent': BROWSER_UA } })
    await response.arrayBuffer()
    if (response.status !== 200) fail(`GET /about answered ${response.status}`, serverOutput)
  }
  const exitCode = await stopServer(server)
  if (exitCode !== 0) fail(`the server exited with ${exitCode} on SIGTERM`, serverOutput)
  ok('2 more GET /about, then SIGTERM at once: the server stops cleanly')
  if (/"level":\s*(50|60)/.test(serverOutput)) fail('the server logged an error', serverOutput)
  ok('no error in the server log')

  EXPECTED_VIEWS['/about'] += 2
  await must(
    'node ace flush_page_views (after the shutdown)',
    'node',
    ['ace', 'flush_page_views'],
    {
      cwd: appDir,
    }
  )
  checkRows('the views buffered at shutdown were drained')
  await must('node ace flush_page_views (again)', 'node', ['ace', 'flush_page_views'], {
    cwd: appDir,
  })
  checkRows('a second flush adds nothing (exactly once)')
  const helpers = { ok, fail, step, run, must, query, appEnv, waitForServer, stopServer }
  await hardening(appDir, helpers)
  await dimensionsFromOutside(appDir, helpers)
  await statsApiFromOutside(appDir, helpers)
  await importFromOutside(appDir, helpers)
  await eventsFromOutside(appDir, helpers)
  await visitsFromOutside(appDir, helpers)
}

try {
  await main()
  console.log(`\ne2e passed: ${checks} checks`)
  writeCheckSummary(checks, [])
  if (appDir && !KEEP) rmSync(dirname(appDir), { recursive: true, force: true })
  else if (appDir) console.log(`app kept in ${appDir}`)
} catch (error) {
  if (server && server.exitCode === null) await stopServer(server)
  const message = error instanceof E2EFailure ? error.message : (error as Error).stack
  console.error(`\n\u2716 ${message}`)
  console.error(
    `\ne2e FAILED after ${checks} passed checks${appDir ? `; the app is kept in ${appDir}` : ''}`
  )
  writeCheckSummary(checks, [`e2e: ${message?.split('\n')[0]}`])
  process.exitCode = 1
}
