/*
|--------------------------------------------------------------------------
| End-to-end checks of issue #15 (visits), run by bin/e2e.ts
|--------------------------------------------------------------------------
|
| Runs last, in the same fresh app (stopped). A user adds a route that
| replays views with their own times through the public API
| (`tracking.recorder.recordView({ path, visitor, at })`, `tracking` from
| 'adonis-tracking/services/main'), so the scripted visitors need
| no waiting: A views /, /about, /pricing a minute apart; B views /about
| once; C views / then / again 40 minutes later; a known visitor views
| /docs at 23:50 and /pricing at 00:10 in the app's timezone (UTC). They
| live on days no other check counts (4 and 3 days ago), so the figures
| are exact: visits 5, views per visit 1.6, bounce rate 60 %, median 0 s
| and mean 264 s, the entry and exit pages, in the JSON, on the page and
| in the entry / exit CSV datasets, live and after node ace
| flush_page_views (then from SQL, exactly once). Each check is one
| `ok(...)` line.
|
*/

import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { serveApp, type E2EHelpers } from './e2e_hardening.ts'

const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0 e2e-visits'

/** The route a user writes to replay views with their times */
const ROUTES = `
router.post('/replay-views', async ({ request }) => {
  const { default: tracking } = await import('adonis-tracking/services/main')
  const views: Array<{ path: string; visitor: string; at: number }> = request.input('views', [])
  for (const view of views) {
    tracking.recorder.recordView({ path: view.path, visitor: view.visitor, at: view.at })
  }
  return { recorded: views.length }
})
`

/** The day `offset` days from today (UTC), YYYY-MM-DD */
function day(offset: number): string {
  return new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10)
}

/** Epoch ms of a UTC wall-clock time of a day */
function at(date: string, time: string): number {
  return Date.parse(`${date}T${time}Z`)
}

/** What the JSON must show for the first day, live and flushed */
const EXPECTED = {
  visits: 5,
  viewsPerVisit: 1.6,
  bounceRate: 60,
  duration: { median: 0, mean: 264 },
  entry: ['/ 3', '/about 1', '/docs 1'],
  exit: ['/ 2', '/pricing 2', '/about 1'],
  /* path -> [views, visitors] of the first day */
  top: { '/': [3, 2], '/about': [2, 2], '/docs': [1, 1], '/pricing': [1, 1] },
}

/** The visit figures of a JSON answer, shaped like EXPECTED */
function figuresOf(json: any) {
  const list = (data: any) => (data?.items ?? []).map((item: any) => `${item.label} ${item.value}`)
  return {
    visits: json.trackingVisits?.value,
    viewsPerVisit: json.trackingViewsPerVisit?.value,
    bounceRate: json.trackingBounceRate?.value,
    duration: { median: json.trackingVisitDuration?.value, mean: json.trackingVisitDuration?.mean },
    entry: list(json.trackingEntryPages),
    exit: list(json.trackingExitPages),
    top: Object.fromEntries(
      (json.trackingTopPages?.items ?? []).map((item: any) => [
        item.label,
        [item.value, item.visitors],
      ])
    ),
  }
}

export async function visitsFromOutside(appDir: string, h: E2EHelpers) {
  h.step('#15: visits without cookies, from the public API')
  const config = readFileSync(join(appDir, 'config/tracking.ts'), 'utf8')
  const prefix = /keyPrefix: '([^']+)'/.exec(config)?.[1]
  const staffKey = /x-staff-key'\) === '([^']+)'/.exec(config)?.[1]
  if (!prefix || !staffKey) h.fail('config/tracking.ts has no keyPrefix or staff key', config)

  const routesPath = join(appDir, 'start/routes.ts')
  writeFileSync(routesPath, `${readFileSync(routesPath, 'utf8')}${ROUTES}`)
  h.ok(
    'POST /replay-views added: tracking.recorder.recordView({ path, visitor, at }) for each view'
  )
  await h.must(
    'tsc --noEmit (recordView type checks against the packed .d.ts)',
    'node',
    [join(appDir, 'node_modules/typescript/bin/tsc'), '--noEmit'],
    { cwd: appDir }
  )

  const DAY1 = day(-4)
  const DAY2 = day(-3)
  const views = [
    { path: '/', visitor: 'e2e-visits-A', at: at(DAY1, '10:00:00') },
    { path: '/about', visitor: 'e2e-visits-B', at: at(DAY1, '10:00:30') },
    { path: '/', visitor: 'e2e-visits-C', at: at(DAY1, '10:00:40') },
    { path: '/about', visitor: 'e2e-visits-A', at: at(DAY1, '10:01:00') },
    { path: '/pricing', visitor: 'e2e-visits-A', at: at(DAY1, '10:02:00') },
    { path: '/', visitor: 'e2e-visits-C', at: at(DAY1, '10:40:40') },
    { path: '/docs', visitor: 'e2e-visits-user-42', at: at(DAY1, '23:50:00') },
    { path: '/pricing', visitor: 'e2e-visits-user-42', at: at(DAY2, '00:10:00') },
  ]

  const { base, server, output: logs } = await serveApp(appDir, h, prefix!)
  const get = async (path: string) => {
    const response = await fetch(`${base}${path}`, {
      headers: { 'user-agent': USER_AGENT, 'x-staff-key': staffKey! },
      redirect: 'manual',
    })
    const body = await response.text()
    if (response.status !== 200)
      h.fail(`GET ${path} answered ${response.status}`, `${body}\n${logs()}`)
    return body
  }
  const range = (date: string) => `from=${date}&to=${date}`
  const readJson = async (date = DAY1) =>
    JSON.parse(await get(`/cabinet/tracking?format=json&${range(date)}`))
  const readCsv = async (dataset: string) => {
    const csv = await get(`/cabinet/tracking/export.csv?${range(DAY1)}&dataset=${dataset}`)
    return csv.trim().split(/\r\n/)
  }
  const expectedCsv = {
    entry: ['path,visits,share', '/,3,0.6', '/about,1,0.2', '/docs,1,0.2'],
    exit: ['path,visits,share', '/,2,0.4', '/pricing,2,0.4', '/about,1,0.2'],
  }
  const check = async (moment: string, json: any) => {
    const figures = figuresOf(json)
    if (JSON.stringify(figures) !== JSON.stringify(EXPECTED))
      h.fail(
        `${moment}: the JSON of ${DAY1} shows ${JSON.stringify(figures)}, expected ${JSON.stringify(EXPECTED)}`
      )
    h.ok(
      `${moment}, the JSON of ${DAY1}: trackingVisits 5, trackingViewsPerVisit 1.6, trackingBounceRate 60, trackingVisitDuration 0 s (mean 264 s), entry ${EXPECTED.entry.join(', ')}, exit ${EXPECTED.exit.join(', ')}, top pages with their visitors`
    )
    for (const dataset of ['entry', 'exit'] as const) {
      const rows = await readCsv(dataset)
      if (JSON.stringify(rows) !== JSON.stringify(expectedCsv[dataset]))
        h.fail(`${moment}: export.csv?dataset=${dataset} is\n${rows.join('\n')}`)
    }
    h.ok(
      `${moment}: export.csv?dataset=entry and ?dataset=exit: path,visits,share, one row per path`
    )
    const day2 = await readJson(DAY2)
    if (day2.trackingVisits?.value !== 0 || day2.trackingTotalViews?.value !== 1)
      h.fail(
        `${moment}: ${DAY2} shows ${day2.trackingVisits?.value} visits, ${day2.trackingTotalViews?.value} views`
      )
    h.ok(
      `${moment}: ${DAY2} has the 00:10 view and no visit (the visit counts on the day it started)`
    )
  }

  let exitCode: number | null = null
  try {
    await h.waitForServer(`${base}/health`, server, logs)
    const replay = await fetch(`${base}/replay-views`, {
      method: 'POST',
      headers: { 'user-agent': USER_AGENT, 'content-type': 'application/json' },
      body: JSON.stringify({ views }),
    })
    const replayed = await replay.text()
    if (replay.status !== 200 || JSON.parse(replayed).recorded !== views.length)
      h.fail(`POST /replay-views answered ${replay.status}`, `${replayed}\n${logs()}`)
    h.ok(
      `POST /replay-views: the issue's ${views.length} views of 4 visitors on ${DAY1}..${DAY2} (UTC)`
    )

    /* the write buffer sends within bufferMs (1 s) */
    const deadline = Date.now() + 30_000
    let live = await readJson()
    while (live.trackingVisits?.value !== 5 || live.trackingTotalViews?.value !== 7) {
      if (Date.now() > deadline)
        h.fail('the 5 visits were not seen within 30 s', JSON.stringify(figuresOf(live)))
      await new Promise((resolve) => setTimeout(resolve, 200))
      live = await readJson()
    }
    await check('live (before a flush)', live)

    const html = await get(`/cabinet/tracking?${range(DAY1)}`)
    for (const widget of [
      'trackingVisits',
      'trackingViewsPerVisit',
      'trackingBounceRate',
      'trackingVisitDuration',
      'trackingEntryPages',
      'trackingExitPages',
    ]) {
      if (!html.includes(`data-widget="${widget}"`))
        h.fail(`the analytics page has no ${widget}`, html)
    }
    if (!html.includes('60%') || !html.includes('mean 4m 24s') || /<script/i.test(html))
      h.fail('the analytics page shows no 60% bounce rate or 4m 24s mean (or a script)', html)
    h.ok(
      'the analytics page: the four visit KPIs (bounce rate 60%, mean 4m 24s), Entry and Exit pages, no script'
    )

    await h.must(
      'node ace flush_page_views (server running)',
      'node',
      ['ace', 'flush_page_views'],
      {
        cwd: appDir,
      }
    )
    await check('after node ace flush_page_views', await readJson())
    const stats = h.query(
      `SELECT visits, views, bounces, duration_seconds FROM tracking_visit_stats WHERE date LIKE '${DAY1}%'`
    )
    const row = stats[0] ?? {}
    if (
      stats.length !== 1 ||
      Number(row.visits) !== 5 ||
      Number(row.views) !== 8 ||
      Number(row.bounces) !== 3 ||
      Number(row.duration_seconds) !== 1320
    )
      h.fail(`tracking_visit_stats of ${DAY1}: ${JSON.stringify(stats)}`)
    h.ok(`tracking_visit_stats of ${DAY1}: 5 visits, 8 views, 3 bounces, 1320 s (120 + 1200)`)
    await h.must('node ace flush_page_views (again)', 'node', ['ace', 'flush_page_views'], {
      cwd: appDir,
    })
    await check('after a second flush (exactly once)', await readJson())
  } finally {
    exitCode = await h.stopServer(server)
  }
  if (exitCode !== 0) h.fail(`the server exited with ${exitCode} on SIGTERM`, logs())
  if (/"level":\s*(50|60)/.test(logs())) h.fail('the server logged an error', logs())
  h.ok('the server stops cleanly, no error logged')
}
