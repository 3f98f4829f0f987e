/*
|--------------------------------------------------------------------------
| End-to-end checks of issue #13 (hardening), run by bin/e2e.ts
|--------------------------------------------------------------------------
|
| Runs after the first-release flow, in the same fresh app (stopped, its
| rows flushed): config mistakes stop the boot, maxPathsPerDay folds a
| flood of new paths into "(other)", trailingSlash: 'strip' and bidi
| controls, the cabinet's audiences, the CSV export against the JSON, and no
| raw visitor value in SQL or Redis. Each check is one `ok(...)` line.
|
*/

import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort } from '../../tests/redis_server.ts'

type RunResult = { code: number | null; output: string }
type RunOptions = { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }

/** The helpers of bin/e2e.ts this module drives the app with */
export interface E2EHelpers {
  ok(message: string): void
  fail(message: string, output?: string): never
  step(title: string): void
  run(command: string, args: string[], options: RunOptions): Promise<RunResult>
  must(label: string, command: string, args: string[], options: RunOptions): Promise<string>
  query(sql: string): Array<Record<string, unknown>>
  appEnv(extra?: Record<string, string>): NodeJS.ProcessEnv
  waitForServer(url: string, child: ChildProcess, output: () => string): Promise<void>
  stopServer(child: ChildProcess): Promise<number | null>
}

const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 hardening'
/** What no stored row, key or value may hold: the client's IP and user agent */
const RAW_VISITOR_VALUES = ['127.0.0.1', 'Mozilla/5.0', 'Chrome/131.0', 'hardening']
const OTHER = '(other)'
/** How bin/e2e.ts serves the app */
const SERVER_ARGS = ['--import=@poppinss/ts-exec', 'bin/server.ts']
/** The new distinct paths of the flood (maxPathsPerDay admits two of them) */
const JUNK = ['/junk/a', '/junk/b', '/junk/c', '/junk/d', '/junk/e']
/** U+202E (right-to-left override) inside a path, percent-encoded */
const BIDI_REQUEST = '/junk/invoice-%E2%80%AEfdp.exe'
const BIDI_STORED = '/junk/invoice-fdp.exe'
/** Visitor ids the visitorId hook answers (from a header): "logged-in users" of an app without login */
const MEMBERS = ['e2e-user-1', 'e2e-user-2', 'e2e-user-3']

/**
 * Config mistakes, one at a time: the commented default line of
 * config/tracking.ts, its replacement, and the key the error must name
 */
const CONFIG_MISTAKES: Array<{ line: RegExp; value: string; key: string }> = [
  { line: /\/\/ analyticsDays: .*,/, value: 'analyticsDays: 400,', key: 'analyticsDays' },
  { line: /\/\/ autoFlush: .*,/, value: `autoFlush: { every: '30d' },`, key: 'autoFlush.every' },
  { line: /\/\/ timezone: .*,/, value: `timezone: 'UTC+99',`, key: 'timezone' },
  { line: /\/\/ maxPathsPerDay: .*,/, value: 'maxPathsPerDay: 0,', key: 'maxPathsPerDay' },
  { line: /\/\/ storeTimeoutMs: .*,/, value: 'storeTimeoutMs: -1,', key: 'storeTimeoutMs' },
  { line: /\/\/ trailingSlash: .*,/, value: `trailingSlash: 'x',`, key: 'trailingSlash' },
]

/**
 * Routes the checks add: the catch-all of the flood, and the cabinet as
 * each audience sees it (under the skipped /health prefix, so reading it is
 * not a page view that would count toward maxPathsPerDay)
 */
const ROUTES = `
router.get('/junk/*', ({ request }) => ({ junk: request.url() }))
router.get('/health/cabinet', async () => {
  const app = (await import('@adonisjs/core/services/app')).default
  const cabinet = await app.container.make('tracking.cabinet')
  const seenBy = async (audience: 'user' | 'staff') => ({
    topbar: await cabinet.topbar({ audience }),
    widgets: await cabinet.dashboardWidgets({ audience }),
  })
  return { user: await seenBy('user'), staff: await seenBy('staff') }
})
`

export function today() {
  return new Date().toISOString().slice(0, 10)
}

/** Path -> views of today's rows in tracking_page_views */
function todaysRows(h: E2EHelpers): Record<string, number> {
  const out: Record<string, number> = {}
  for (const row of h.query('SELECT path, date, views FROM tracking_page_views')) {
    const day = typeof row.date === 'number' ? new Date(row.date).toISOString() : String(row.date)
    if (day.startsWith(today())) out[String(row.path)] = Number(row.views)
  }
  return out
}

/** Today's row of tracking_daily_stats */
function todaysStats(h: E2EHelpers): Record<string, unknown> | undefined {
  return h.query(
    `SELECT unique_visitors, visitors_sketch FROM tracking_daily_stats WHERE date LIKE '${today()}%'`
  )[0]
}

/** Every value of every key under the prefix, as text (binary as latin1) */
export async function redisDump(redis: Redis, prefix: string): Promise<string[]> {
  const out: string[] = []
  for await (const keys of redis.scanStream({ match: `{${prefix}}:*`, count: 500 })) {
    for (const key of keys as string[]) {
      out.push(key)
      const type = await redis.type(key)
      if (type === 'string')
        out.push(((await redis.getBuffer(key)) ?? Buffer.alloc(0)).toString('latin1'))
      else if (type === 'hash') out.push(...Object.entries(await redis.hgetall(key)).flat())
      else if (type === 'set') out.push(...(await redis.smembers(key)))
      else if (type === 'zset') out.push(...(await redis.zrange(key, 0, -1)))
      else if (type === 'list') out.push(...(await redis.lrange(key, 0, -1)))
    }
  }
  return out
}

/** Every value of every tracking_* table of the app's SQLite database, as text (binary as latin1) */
export function sqlTexts(h: E2EHelpers): { texts: string[]; tables: number } {
  const texts: string[] = []
  const tables = h.query(
    `SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'tracking_%'`
  )
  for (const { name } of tables)
    for (const row of h.query(`SELECT * FROM ${String(name)}`))
      for (const value of Object.values(row))
        texts.push(Buffer.isBuffer(value) ? value.toString('latin1') : String(value))
  return { texts, tables: tables.length }
}

/**
 * Serves the app on a free port, with a Redis client beside it;
 * `written(views)` waits until the write buffer has written today's live
 * total up to `views`
 */
export async function serveApp(appDir: string, h: E2EHelpers, prefix: string) {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  let output = ''
  const server = spawn('node', SERVER_ARGS, {
    cwd: appDir,
    env: h.appEnv({ PORT: String(port), HOST: '127.0.0.1' }),
  })
  server.stdout.on('data', (chunk) => (output += chunk))
  server.stderr.on('data', (chunk) => (output += chunk))
  const redis = new Redis({
    host: process.env.REDIS_HOST ?? '127.0.0.1',
    port: Number(process.env.REDIS_PORT ?? 6379),
    lazyConnect: true,
  })
  const total = async () => Number(await redis.get(`{${prefix}}:total:${today()}`))
  const written = async (views: number) => {
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      if ((await total()) >= views) return
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    h.fail(`Redis did not reach ${views} live views of today within 30 s`, output)
  }
  return { base, server, redis, output: () => output, total, written }
}

/**
 * Each config mistake, one at a time (config/tracking.ts restored after
 * each): `node ace flush_page_views` and `node bin/server.ts` both stop at
 * boot, non-zero, naming the key. (`node ace list` does not boot the
 * providers: it lists the commands even with a broken config.)
 */
async function checkConfigMistakes(appDir: string, h: E2EHelpers, config: string) {
  h.step('#13: config mistakes stop the boot with E_TRACKING_INVALID_CONFIG')
  const configPath = join(appDir, 'config/tracking.ts')
  const env = h.appEnv({ PORT: String(await freePort()), HOST: '127.0.0.1' })
  for (const mistake of CONFIG_MISTAKES) {
    const edited = config.replace(mistake.line, mistake.value)
    if (edited === config) h.fail(`config/tracking.ts has no line ${mistake.line}`, config)
    writeFileSync(configPath, edited)
    const codes: string[] = []
    try {
      for (const [label, args] of [
        ['node ace flush_page_views', ['ace', 'flush_page_views']],
        ['node bin/server.ts', SERVER_ARGS],
      ] satisfies Array<[string, string[]]>) {
        const result = await h.run('node', args, { cwd: appDir, env, timeoutMs: 60_000 })
        if (
          result.code === null ||
          result.code === 0 ||
          !result.output.includes('E_TRACKING_INVALID_CONFIG') ||
          !result.output.includes(`"${mistake.key}"`)
        )
          h.fail(`${mistake.value} did not stop ${label} naming "${mistake.key}"`, result.output)
        codes.push(`${label} exits ${result.code}`)
      }
    } finally {
      writeFileSync(configPath, config)
    }
    h.ok(`${mistake.value} -> ${codes.join(', ')}: E_TRACKING_INVALID_CONFIG "${mistake.key}"`)
  }
}

export async function hardening(appDir: string, h: E2EHelpers) {
  const configPath = join(appDir, 'config/tracking.ts')
  const config = readFileSync(configPath, 'utf8')
  const prefix = /keyPrefix: '([^']+)'/.exec(config)?.[1]
  const staffKey = /x-staff-key'\) === '([^']+)'/.exec(config)?.[1]
  if (!prefix || !staffKey) h.fail('config/tracking.ts has no keyPrefix or staff key', config)

  await checkConfigMistakes(appDir, h, config)

  /* the day holds the first flow's paths; the bidi path is admitted, then 2 of the flood */
  const before = todaysRows(h)
  const visitorsBefore = Number(todaysStats(h)?.unique_visitors ?? 0)
  const held = Object.keys(before).length
  const cap = held + 3
  writeFileSync(
    configPath,
    config
      .replace(/\/\/ maxPathsPerDay: .*,/, `maxPathsPerDay: ${cap},`)
      .replace(/\/\/ trailingSlash: .*,/, `trailingSlash: 'strip',`)
      .replace(
        /\/\/ visitorId: .*,/,
        `visitorId: (ctx) => ctx.request.header('x-visitor') ?? null,`
      )
  )
  const routesPath = join(appDir, 'start/routes.ts')
  writeFileSync(routesPath, `${readFileSync(routesPath, 'utf8')}${ROUTES}`)
  h.ok(
    `config/tracking.ts: maxPathsPerDay: ${cap} (${held} paths held today + 3), trailingSlash: 'strip', visitorId from an x-visitor header; GET /junk/* and /health/cabinet added`
  )

  h.step('#13: serve again, flood the catch-all route')
  const { base, server, redis, output: logs, written } = await serveApp(appDir, h, prefix!)
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${base}${path}`, {
      headers: { 'user-agent': USER_AGENT, ...headers },
      redirect: 'manual',
    })
    const body = await response.text()
    if (response.status !== 200)
      h.fail(`GET ${path} answered ${response.status}`, `${body}\n${logs()}`)
    return body
  }

  let exitCode: number | null = null
  try {
    await redis.connect()
    await h.waitForServer(`${base}/health`, server, logs)

    const audiences = JSON.parse(await get('/health/cabinet'))
    const entries = (audience: 'user' | 'staff') =>
      audiences[audience].topbar.filter((entry: { label: string }) => entry.label === 'Analytics')
    if (entries('user').length !== 0 || audiences.user.widgets.length !== 0)
      h.fail(`audience 'user' got analytics: ${JSON.stringify(audiences.user)}`)
    h.ok(`cabinet audience 'user': no Analytics topbar entry, no dashboard widget`)
    const staffWidgets = audiences.staff.widgets.map((widget: { key: string }) => widget.key)
    if (entries('staff').length !== 1 || !staffWidgets.includes('trackingTopPages'))
      h.fail(`audience 'staff' misses analytics: ${JSON.stringify(audiences.staff)}`)
    h.ok(
      `cabinet audience 'staff': the Analytics topbar entry and ${staffWidgets.length} widgets (${staffWidgets.join(', ')})`
    )

    await get('/about/', { 'x-visitor': MEMBERS[0] })
    await get(BIDI_REQUEST, { 'x-visitor': MEMBERS[1] })
    await written(2)
    for (const [index, path] of JUNK.entries())
      await get(path, MEMBERS[index + 2] ? { 'x-visitor': MEMBERS[index + 2] } : {})
    await written(2 + JUNK.length)
    h.ok(
      `GET /about/, ${BIDI_REQUEST} and ${JUNK.length} new paths under /junk/*: ${2 + JUNK.length} views live in Redis`
    )
    await h.must(
      'node ace flush_page_views (server running)',
      'node',
      ['ace', 'flush_page_views'],
      {
        cwd: appDir,
      }
    )

    const rows = todaysRows(h)
    const admitted = JUNK.filter((path) => path in rows)
    if (admitted.length !== 2 || admitted.some((path) => rows[path] !== 1) || rows[OTHER] !== 3)
      h.fail(`maxPathsPerDay ${cap}: today's rows are ${JSON.stringify(rows)}`)
    if (Object.keys(rows).filter((path) => path !== OTHER).length !== cap)
      h.fail(`today holds more than maxPathsPerDay (${cap}) path rows: ${JSON.stringify(rows)}`)
    h.ok(
      `SQL: ${admitted.join(' and ')} with 1 view each, "${OTHER}" with 3, ${cap} path rows today`
    )
    if (rows['/about'] !== before['/about'] + 1 || '/about/' in rows)
      h.fail(
        `trailingSlash 'strip': /about has ${rows['/about']} (was ${before['/about']})`,
        JSON.stringify(rows)
      )
    h.ok(
      `trailingSlash 'strip': GET /about/ counted as /about (${rows['/about']} views), no /about/ row`
    )
    if (
      rows[BIDI_STORED] !== 1 ||
      Object.keys(rows).some((path) => /[\u202a-\u202e\u2066-\u2069]/.test(path))
    )
      h.fail(`the bidi path is stored as ${JSON.stringify(Object.keys(rows))}`)
    h.ok(`SQL: ${BIDI_REQUEST} is stored as ${BIDI_STORED} (U+202E removed)`)

    const staff = { 'x-staff-key': staffKey! }
    const context = JSON.parse(await get('/cabinet/tracking?format=json&days=7&perPage=100', staff))
    const table: Array<{ path: string; views: number }> = context.trackingRecentPageViews.rows
    const json = Object.fromEntries(table.map((row) => [row.path, row.views]))
    for (const path of [...admitted, OTHER, BIDI_STORED, '/about'])
      if (json[path] !== rows[path])
        h.fail(`the JSON has ${path}: ${json[path]}, SQL ${rows[path]}`, JSON.stringify(table))
    if (
      JUNK.some((path) => !admitted.includes(path) && path in json) ||
      '/about/' in json ||
      table.length !== context.trackingRecentPageViews.total
    )
      h.fail('the JSON lists paths SQL does not hold', JSON.stringify(table))
    h.ok(
      `JSON (${table.length} rows): "${OTHER}" 3, ${admitted.join(', ')}, ${BIDI_STORED} and /about agree with SQL`
    )

    const csv = await get('/cabinet/tracking/export.csv?days=7', staff)
    const lines = csv.trim().split('\r\n').slice(1)
    const exported = lines.map((line) => {
      const cut = line.lastIndexOf(',')
      return { path: line.slice(0, cut), views: Number(line.slice(cut + 1)) }
    })
    if (
      JSON.stringify(exported) !== JSON.stringify(table.map(({ path, views }) => ({ path, views })))
    )
      h.fail(`the CSV rows differ from the JSON table`, `${csv}\n${JSON.stringify(table)}`)
    const top = context.trackingTopPages.items.map((item: { label: string; value: number }) => ({
      path: item.label,
      views: item.value,
    }))
    if (JSON.stringify(exported.slice(0, top.length)) !== JSON.stringify(top))
      h.fail(`the CSV does not start with the JSON's top pages`, `${csv}\n${JSON.stringify(top)}`)
    h.ok(
      `CSV export: ${exported.length} rows, the same paths, views and order as the JSON table and its ${top.length} top pages`
    )

    const sketches = h.query('SELECT visitors_sketch FROM tracking_daily_stats')
    if (
      sketches.length === 0 ||
      sketches.some(
        (row) =>
          !Buffer.isBuffer(row.visitors_sketch) ||
          row.visitors_sketch.subarray(0, 4).toString('latin1') !== 'HYLL'
      )
    )
      h.fail(`tracking_daily_stats.visitors_sketch: ${JSON.stringify(sketches)}`)
    h.ok(
      `tracking_daily_stats.visitors_sketch: ${sketches.length} Redis HyperLogLog ("HYLL") sketch(es)`
    )
    /*
     * the attack of issue #13: load today's stored sketch into Redis and PFADD
     * each visitor id; 0 (nothing changed) would mean the raw id is in it
     */
    const stats = todaysStats(h)
    if (!stats || Number(stats.unique_visitors) !== visitorsBefore + MEMBERS.length)
      h.fail(
        `today's unique visitors: ${stats?.unique_visitors}, expected ${visitorsBefore} + ${MEMBERS.length}`
      )
    const probe = `{${prefix}}:e2e-probe`
    const found: string[] = []
    for (const member of MEMBERS) {
      await redis.set(probe, stats.visitors_sketch as Buffer, 'EX', 60)
      if ((await redis.pfadd(probe, member)) === 0) found.push(member)
    }
    await redis.del(probe)
    if (found.length)
      h.fail(`the stored sketch answers "visited" for the raw ids ${found.join(', ')}`)
    h.ok(
      `today's sketch counts ${stats.unique_visitors} visitors, yet PFADD of each raw id (${MEMBERS.join(', ')}) into a copy changes it: only keyed hashes are stored`
    )
    const { texts, tables } = sqlTexts(h)
    const keys = await redisDump(redis, prefix!)
    for (const [where, values] of [
      ['SQL', texts],
      ['Redis', keys],
    ] as const) {
      const leak = values.find((text) => RAW_VISITOR_VALUES.some((raw) => text.includes(raw)))
      if (leak !== undefined) h.fail(`${where} holds a raw visitor value: ${leak.slice(0, 200)}`)
    }
    h.ok(
      `no IP or user agent in ${texts.length} SQL values (${tables} tables) nor in ${keys.length} Redis keys and values under {${prefix}}`
    )
  } finally {
    redis.disconnect()
    exitCode = await h.stopServer(server)
  }
  if (exitCode !== 0) h.fail(`the server exited with ${exitCode} on SIGTERM`, logs())
  if (/"level":\s*(50|60)/.test(logs())) h.fail('the server logged an error', logs())
  h.ok('the server stops cleanly, no error in its log')
}
