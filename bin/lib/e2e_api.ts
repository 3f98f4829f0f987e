/*
|--------------------------------------------------------------------------
| End-to-end checks of the stats API (#18, part 3), run by bin/e2e.ts
|--------------------------------------------------------------------------
|
| Runs last, in the same fresh app (stopped): flushes what is left, then
| serves the app with TRACKING_API_TOKENS in its environment, as an
| operator would set it, and asks with fetch what curl would ask. The
| figures of GET /cabinet/tracking/api/v1/context are checked against SQL
| and against the staff JSON; every request without a valid token gets
| 401, and a token never opens the staff page. Each check is one `ok(...)`.
|
*/

import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort } from '../../tests/redis_server.ts'
import type { E2EHelpers } from './e2e_hardening.ts'

const API = '/cabinet/tracking/api/v1/context'
const SERVER_ARGS = ['--import=@poppinss/ts-exec', 'bin/server.ts']

/** A calendar day of SQLite (text or epoch milliseconds) as YYYY-MM-DD */
function day(value: unknown): string {
  return typeof value === 'number'
    ? new Date(value).toISOString().slice(0, 10)
    : String(value).slice(0, 10)
}

/** The last `days` days ending today (UTC, the fresh app's zone) */
function lastDays(days: number): string[] {
  const out: string[] = []
  for (let back = days - 1; back >= 0; back--) {
    out.push(new Date(Date.now() - back * 86_400_000).toISOString().slice(0, 10))
  }
  return out
}

export async function statsApiFromOutside(appDir: string, h: E2EHelpers) {
  h.step('The stats API (GET /cabinet/tracking/api/v1/context with a bearer token)')
  const config = readFileSync(join(appDir, 'config/tracking.ts'), 'utf8')
  const staffKey = /x-staff-key'\) === '([^']+)'/.exec(config)?.[1]
  if (!staffKey) h.fail('config/tracking.ts has no staff key', config)
  if (!config.includes(`apiTokens: (env.get('TRACKING_API_TOKENS')?.release() ?? '')`))
    h.fail('config/tracking.ts does not read apiTokens from TRACKING_API_TOKENS', config)
  if (!/^TRACKING_API_TOKENS=$/m.test(readFileSync(join(appDir, '.env'), 'utf8')))
    h.fail('.env has no empty TRACKING_API_TOKENS=')
  if (
    !readFileSync(join(appDir, 'start/env.ts'), 'utf8').includes(
      'TRACKING_API_TOKENS: Env.schema.secret.optional()'
    )
  )
    h.fail('start/env.ts does not validate TRACKING_API_TOKENS as a secret')
  h.ok(
    'configure wrote TRACKING_API_TOKENS= to .env, a secret in start/env.ts, apiTokens in the config'
  )

  /* a token too short stops the boot, naming the key and not the token */
  const short = `short${randomBytes(8).toString('hex')}`
  const refused = await h.run('node', SERVER_ARGS, {
    cwd: appDir,
    env: h.appEnv({
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      TRACKING_API_TOKENS: short,
    }),
    timeoutMs: 60_000,
  })
  if (
    refused.code === null ||
    refused.code === 0 ||
    !refused.output.includes('E_TRACKING_INVALID_CONFIG') ||
    !refused.output.includes('apiTokens[0]') ||
    refused.output.includes(short)
  )
    h.fail(
      'a 21-character TRACKING_API_TOKENS did not stop node bin/server.ts as it should',
      refused.output
    )
  h.ok(
    'a token under 32 characters stops node bin/server.ts: E_TRACKING_INVALID_CONFIG "apiTokens[0]", the token not printed'
  )

  await h.must('node ace flush_page_views (before the API)', 'node', ['ace', 'flush_page_views'], {
    cwd: appDir,
  })

  const token = randomBytes(32).toString('base64url')
  const second = randomBytes(32).toString('base64url')
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  let output = ''
  const server = spawn('node', SERVER_ARGS, {
    cwd: appDir,
    env: h.appEnv({
      PORT: String(port),
      HOST: '127.0.0.1',
      TRACKING_API_TOKENS: `${token}, ${second}`,
    }),
  })
  server.stdout.on('data', (chunk) => (output += chunk))
  server.stderr.on('data', (chunk) => (output += chunk))
  let exitCode: number | null = null
  try {
    await h.waitForServer(`${base}/health`, server, () => output)
    const get = async (path: string, headers: Record<string, string> = {}) => {
      const response = await fetch(`${base}${path}`, { headers, redirect: 'manual' })
      const body = await response.text()
      return { status: response.status, headers: response.headers, body }
    }
    const auth = (value: string) => ({ authorization: `Bearer ${value}` })

    /* curl -H "Authorization: Bearer $TOKEN" .../api/v1/context?days=7 */
    const api = await get(`${API}?days=7`, auth(token))
    if (api.status !== 200 || !api.headers.get('content-type')?.includes('application/json'))
      h.fail(`GET ${API}?days=7 with the token answered ${api.status}`, api.body)
    const context = JSON.parse(api.body)

    const days = lastDays(7)
    const perDay = new Map<string, number>()
    for (const row of h.query('SELECT date, views FROM tracking_daily_stats'))
      perDay.set(day(row.date), Number(row.views))
    const chart = context.trackingViewsChart
    const expectedChart = days.map((date) => perDay.get(date) ?? 0)
    if (
      JSON.stringify(chart?.labels) !== JSON.stringify(days) ||
      JSON.stringify(chart?.series?.[0]?.values) !== JSON.stringify(expectedChart)
    )
      h.fail(
        `the API's chart ${JSON.stringify(chart?.series?.[0]?.values)} differs from tracking_daily_stats ${JSON.stringify(expectedChart)}`
      )
    const total = expectedChart.reduce((sum, views) => sum + views, 0)
    if (context.trackingTotalViews?.value !== total || total === 0)
      h.fail(`the API says ${context.trackingTotalViews?.value} views, SQL ${total}`, api.body)

    const perPath = new Map<string, number>()
    for (const row of h.query('SELECT path, date, views FROM tracking_page_views')) {
      if (!days.includes(day(row.date))) continue
      perPath.set(String(row.path), (perPath.get(String(row.path)) ?? 0) + Number(row.views))
    }
    const items = (context.trackingTopPages?.items ?? []) as Array<{ label: string; value: number }>
    const wrong = items.filter((item) => perPath.get(item.label) !== item.value)
    if (items.length === 0 || wrong.length > 0)
      h.fail(`top pages of the API differ from tracking_page_views: ${JSON.stringify(wrong)}`)
    h.ok(
      `200 to the token: ${total} views over 7 days, chart per day = tracking_daily_stats, ${items.length} top pages = tracking_page_views (top "${items[0].label}" ${items[0].value})`
    )

    const staff = await get('/cabinet/tracking?format=json&days=7', { 'x-staff-key': staffKey! })
    const again = await get(`${API}?days=7`, auth(second))
    if (staff.status !== 200 || again.status !== 200 || staff.body !== again.body)
      h.fail(
        'the API (second token) and the staff JSON differ for days=7',
        `${staff.body}\n${again.body}`
      )
    h.ok('the second token of TRACKING_API_TOKENS gets the same JSON as the staff page')

    const bad = await get(`${API}?days=0`, auth(token))
    if (bad.status !== 422 || !bad.body.includes('"field":"days"'))
      h.fail(`days=0 with the token answered ${bad.status}`, bad.body)
    h.ok('422 with the problem for days=0')

    const refusals: Array<[string, Record<string, string>]> = [
      ['no Authorization', {}],
      ['a wrong token', auth(randomBytes(32).toString('base64url'))],
      ['a prefix of the token', auth(token.slice(0, -1))],
      ['the staff key without a token', { 'x-staff-key': staffKey! }],
    ]
    for (const [name, headers] of refusals) {
      const response = await get(`${API}?days=7`, headers)
      if (
        response.status !== 401 ||
        !response.headers.get('www-authenticate')?.startsWith('Bearer') ||
        response.body.includes('trackingTotalViews')
      )
        h.fail(`${name}: ${response.status}`, response.body)
    }
    h.ok(`401 with WWW-Authenticate: Bearer to ${refusals.map(([name]) => name).join(', ')}`)

    for (const path of [
      '/cabinet/tracking',
      '/cabinet/tracking?format=json',
      '/cabinet/tracking/export.csv',
    ]) {
      const response = await get(path, auth(token))
      if (
        response.status !== 403 ||
        response.body.includes('trackingTotalViews') ||
        response.body.includes('trk-kpi')
      )
        h.fail(`GET ${path} with the API token answered ${response.status}`, response.body)
    }
    h.ok('the token never opens the staff page, its JSON or its CSV (403)')

    if (output.includes(token) || output.includes(second))
      h.fail('the server log shows a token', output)
  } finally {
    exitCode = await h.stopServer(server)
  }
  if (exitCode !== 0) h.fail(`the server exited with ${exitCode} on SIGTERM`, output)
  if (/"level":\s*(50|60)/.test(output)) h.fail('the server logged an error', output)
  h.ok('no token and no error in the server log; the server stops cleanly')

  /* the API requests were not page views: a flush finds nothing new */
  const before = h.query('SELECT SUM(views) AS n FROM tracking_page_views')[0]?.n
  await h.must('node ace flush_page_views (after the API)', 'node', ['ace', 'flush_page_views'], {
    cwd: appDir,
  })
  const after = h.query('SELECT SUM(views) AS n FROM tracking_page_views')[0]?.n
  if (Number(after) !== Number(before))
    h.fail(`the API requests were counted: ${String(before)} views before, ${String(after)} after`)
  h.ok('the API requests were not counted as page views')
}
