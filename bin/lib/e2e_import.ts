/*
|--------------------------------------------------------------------------
| End-to-end checks of issue #18 (import and rebuild), run by bin/e2e.ts
|--------------------------------------------------------------------------
|
| Runs last, in the same fresh app (stopped). Every figure lives on days
| long before today (the other checks only count today), so the imported
| and rebuilt days are checked exactly: SQL rows per day and path, and the
| analytics page's JSON (total views, chart, top pages) for a from/to range.
| Each check is one `ok(...)` line.
|
*/

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { serveApp, sqlTexts, type E2EHelpers } from './e2e_hardening.ts'

/** The day `offset` days from today (UTC), YYYY-MM-DD */
function day(offset: number): string {
  return new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10)
}

/** Every day from `from` to `to` (offsets, inclusive) */
function daysBetween(from: number, to: number): string[] {
  const out: string[] = []
  for (let offset = from; offset <= to; offset++) out.push(day(offset))
  return out
}

function asDay(value: unknown): string {
  if (typeof value === 'number') return new Date(value).toISOString().slice(0, 10)
  return String(value).slice(0, 10)
}

interface Writable {
  prepare(sql: string): { run(...params: unknown[]): unknown }
  close(): void
}

/** "day path" -> views of tracking_page_views over the given days */
function rowsOf(h: E2EHelpers, days: string[]): Record<string, number> {
  const wanted = new Set(days)
  const out: Record<string, number> = {}
  for (const row of h.query('SELECT path, date, views FROM tracking_page_views')) {
    const date = asDay(row.date)
    if (wanted.has(date)) out[`${date} ${String(row.path)}`] = Number(row.views)
  }
  return out
}

/** day -> [views, unique_visitors] of tracking_daily_stats over the given days */
function statsOf(h: E2EHelpers, days: string[]): Record<string, [number, number]> {
  const wanted = new Set(days)
  const out: Record<string, [number, number]> = {}
  for (const row of h.query('SELECT date, views, unique_visitors FROM tracking_daily_stats')) {
    const date = asDay(row.date)
    if (wanted.has(date)) out[date] = [Number(row.views), Number(row.unique_visitors)]
  }
  return out
}

function canonical(value: Record<string, unknown>): string {
  return JSON.stringify(
    Object.keys(value)
      .sort()
      .map((key) => [key, value[key]])
  )
}

function add(map: Record<string, number>, key: string, count: number) {
  map[key] = (map[key] ?? 0) + count
}

/** The sums per day of "day path" -> views */
function perDay(rows: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [key, views] of Object.entries(rows)) add(out, key.slice(0, 10), views)
  return out
}

/** A list widget's items as [label, views, visitors, visitorsUpTo or null] */
function listed(list: { items: Array<Record<string, unknown>> }) {
  return list.items.map((item) => [
    item.label,
    item.value,
    item.visitors,
    item.visitorsUpTo ?? null,
  ])
}

/**
 * The #18 checks: `tracking:import page-views` (1,000 rows of the original
 * module's shape), `tracking:import goatcounter`, a second import, --dry-run,
 * a file with 3 broken rows, a Plausible export with its dimension files,
 * and `tracking:rebuild` for rows inserted straight into
 * tracking_page_views, read back through the page's JSON
 */
export async function importFromOutside(appDir: string, h: E2EHelpers) {
  const ace = (label: string, args: string[]) =>
    h.must(label, 'node', ['ace', ...args], { cwd: appDir })
  const snapshot = () => canonical({ texts: sqlTexts(h).texts })

  h.step('#18: tracking:import and tracking:rebuild')
  if (h.query(`SELECT name FROM sqlite_master WHERE name = 'tracking_imports'`).length !== 1)
    h.fail('configure + migration:run did not create tracking_imports')
  h.ok('configure published the tracking_imports migration and migration:run created the table')

  /* 1,000 rows of the original module's PageView (id, path, date, views) over days -60..-31 */
  const moduleDays = daysBetween(-60, -31)
  const expected: Record<string, number> = {}
  const lines = ['id,path,date,views']
  for (let i = 0; i < 1000; i++) {
    const date = moduleDays[i % moduleDays.length]
    const path = `/legacy/${(i * 7) % 113}`
    const views = (i % 9) + 1
    lines.push(`${i + 1},${path},${date},${views}`)
    add(expected, `${date} ${path}`, views)
  }
  writeFileSync(join(appDir, 'tmp/page_views.csv'), lines.join('\n') + '\n')
  const expectedViews = Object.values(expected).reduce((sum, views) => sum + views, 0)

  const before = snapshot()
  const dry = await ace('tracking:import --dry-run', [
    'tracking:import',
    'page-views',
    'tmp/page_views.csv',
    '--dry-run',
  ])
  if (!dry.includes(`would import 1000 rows (${expectedViews} views over 30 days)`))
    h.fail('the dry run did not report the 1,000 rows', dry)
  if (snapshot() !== before) h.fail('tracking:import --dry-run changed the database')
  h.ok(
    `tracking:import page-views --dry-run: "would import 1000 rows (${expectedViews} views over 30 days)", nothing written`
  )

  const first = await ace('tracking:import page-views', [
    'tracking:import',
    'page-views',
    'tmp/page_views.csv',
  ])
  if (!first.includes('imported 1000 rows'))
    h.fail('tracking:import did not import 1,000 rows', first)
  if (canonical(rowsOf(h, moduleDays)) !== canonical(expected))
    h.fail('the imported rows differ from the CSV', JSON.stringify(rowsOf(h, moduleDays)))
  const moduleTotals = Object.fromEntries(
    Object.entries(perDay(expected)).map(([date, views]) => [date, [views, 0]])
  )
  if (canonical(statsOf(h, moduleDays)) !== canonical(moduleTotals))
    h.fail('the imported days have other totals', JSON.stringify(statsOf(h, moduleDays)))
  h.ok(
    `tracking:import page-views tmp/page_views.csv: 1,000 rows, ${Object.keys(expected).length} (day, path) rows and ${moduleDays.length} day totals exact (${expectedViews} views)`
  )

  const imported = snapshot()
  const again = await ace('tracking:import page-views (again)', [
    'tracking:import',
    'page-views',
    'tmp/page_views.csv',
  ])
  if (!again.includes('nothing to import') || snapshot() !== imported)
    h.fail('a second import of the same file changed something', again)
  h.ok('the same file imported again: "nothing to import", the database unchanged')

  /* a GoatCounter CSV export (format version 2) over days -30..-21: one line per pageview */
  const goatDays = daysBetween(-30, -21)
  const goatRows: Record<string, number> = {}
  const sessions: Record<string, Set<string>> = {}
  const goat = [
    '2Path,Title,Event,User-Agent,Browser,System,Session,Bot,Referrer,Referrer scheme,Screen size,Location,FirstVisit,Date',
  ]
  for (let i = 0; i < 400; i++) {
    const date = goatDays[i % goatDays.length]
    const path = ['/', '/blog', '/blog/post-1', '/about'][i % 4]
    const session = `sess-${i % 37}`
    const hour = String(i % 24).padStart(2, '0')
    goat.push(
      `${path},"A title, with a comma",false,,Firefox 133,Linux,${session},0,https://news.ycombinator.com/,h,"1920,1080,1",US-TX,${i % 3 === 0},${date}T${hour}:15:00Z`
    )
    add(goatRows, `${date} ${path}`, 1)
    ;(sessions[date] ??= new Set()).add(session)
  }
  /* an event and a bot: GoatCounter's own counts leave them out */
  goat.push(`signup-click,,true,,Firefox 133,Linux,sess-1,0,,,,US,false,${goatDays[0]}T10:00:00Z`)
  goat.push(`/blog,,false,,,,sess-bot,3,,,,US,true,${goatDays[0]}T11:00:00Z`)
  writeFileSync(join(appDir, 'tmp/goatcounter-export.csv'), goat.join('\r\n') + '\r\n')
  const goatOutput = await ace('tracking:import goatcounter', [
    'tracking:import',
    'goatcounter',
    'tmp/goatcounter-export.csv',
  ])
  if (
    !goatOutput.includes('imported 400 rows') ||
    !goatOutput.includes('2 bot or event rows left out')
  )
    h.fail('tracking:import goatcounter did not import 400 pageviews', goatOutput)
  if (canonical(rowsOf(h, goatDays)) !== canonical(goatRows))
    h.fail('the GoatCounter rows differ from the export', JSON.stringify(rowsOf(h, goatDays)))
  const goatTotals = Object.fromEntries(
    Object.entries(perDay(goatRows)).map(([date, views]) => [date, [views, sessions[date].size]])
  )
  if (canonical(statsOf(h, goatDays)) !== canonical(goatTotals))
    h.fail('the GoatCounter days have other totals', JSON.stringify(statsOf(h, goatDays)))
  const goatImported = snapshot()
  const goatAgain = await ace('tracking:import goatcounter (again)', [
    'tracking:import',
    'goatcounter',
    'tmp/goatcounter-export.csv',
  ])
  if (!goatAgain.includes('nothing to import') || snapshot() !== goatImported)
    h.fail('a second GoatCounter import changed something', goatAgain)
  h.ok(
    `tracking:import goatcounter: 400 pageviews (an event and a bot left out) exact per day and path over ${goatDays.length} days, unique visitors per day = distinct sessions; a second import adds nothing`
  )

  /* a file with 3 broken rows (lines 4, 9 and 15; the header is line 1) */
  const brokenDay = day(-15)
  const broken = ['id,path,date,views']
  const brokenExpected: Record<string, number> = {}
  for (let line = 2; line <= 21; line++) {
    const path = `/broken/${line}`
    if (line === 4) broken.push(`${line},${path},${brokenDay.slice(0, 8)}32,1`)
    else if (line === 9) broken.push(`${line},${path},${brokenDay},many`)
    else if (line === 15) broken.push(`${line},,${brokenDay},2`)
    else {
      broken.push(`${line},${path},${brokenDay},${line}`)
      add(brokenExpected, `${brokenDay} ${path}`, line)
    }
  }
  writeFileSync(join(appDir, 'tmp/broken.csv'), broken.join('\n') + '\n')
  const brokenResult = await h.run(
    'node',
    ['ace', 'tracking:import', 'page-views', 'tmp/broken.csv'],
    {
      cwd: appDir,
    }
  )
  const reported = [...brokenResult.output.matchAll(/line (\d+): /g)].map((match) =>
    Number(match[1])
  )
  if (brokenResult.code !== 0 || reported.join(',') !== '4,9,15')
    h.fail(
      `the broken file reported lines ${reported.join(',')} (exit ${brokenResult.code})`,
      brokenResult.output
    )
  if (
    !brokenResult.output.includes('imported 17 rows') ||
    canonical(rowsOf(h, [brokenDay])) !== canonical(brokenExpected)
  )
    h.fail('the good rows of the broken file were not imported', brokenResult.output)
  h.ok(
    'a file with 3 broken rows: lines 4, 9 and 15 reported and skipped, the other 17 rows imported'
  )

  /* a Plausible export over days -19..-18: pages, daily visitors and the five dimension files */
  const plausibleDays = [day(-19), day(-18)]
  const [p1, p2] = plausibleDays
  const plausibleDir = join(appDir, 'tmp/plausible-export')
  mkdirSync(plausibleDir, { recursive: true })
  const suffix = `${p1.replaceAll('-', '')}_${p2.replaceAll('-', '')}.csv`
  const session = 'visits,visit_duration,bounces'
  const plausibleFiles: Record<string, string[]> = {
    imported_pages: [
      'date,hostname,page,visits,visitors,pageviews,scroll_depth,pageleave_visitors',
      `${p1},example.com,/,9,8,12,,4`,
      `${p1},example.com,/pricing,3,3,3,,1`,
      `${p2},example.com,/,5,5,6,,2`,
    ],
    imported_visitors: [
      'date,visitors,pageviews,bounces,visits,visit_duration',
      `${p1},9,15,2,11,300`,
      `${p2},5,6,1,5,100`,
    ],
    imported_sources: [
      'date,source,referrer,utm_source,utm_medium,utm_campaign,utm_content,utm_term,pageviews,visitors,visits,visit_duration,bounces',
      `${p1},Google,google.com,,,,,,9,6,7,100,1`,
      `${p1},,,,,,,,6,3,4,10,1`,
      `${p2},Google,google.com/search,,,,,,6,5,5,10,1`,
    ],
    imported_browsers: [
      `date,browser,browser_version,visitors,${session},pageviews`,
      `${p1},Firefox,133.0,9,11,300,2,15`,
      `${p2},Chrome,131.0,5,5,100,1,6`,
    ],
    imported_operating_systems: [
      `date,operating_system,operating_system_version,visitors,${session},pageviews`,
      `${p1},GNU/Linux,,9,11,300,2,15`,
      `${p2},Mac,14.2,5,5,100,1,6`,
    ],
    imported_devices: [
      `date,device,visitors,${session},pageviews`,
      `${p1},Desktop,9,11,300,2,15`,
      `${p2},Mobile,5,5,100,1,6`,
    ],
    imported_locations: [
      `date,country,region,city,visitors,${session},pageviews`,
      `${p1},DE,DE-BE,2950159,6,7,100,1,10`,
      `${p1},FR,,0,3,4,200,1,5`,
      `${p2},DE,,0,5,5,100,1,6`,
    ],
  }
  for (const [name, rows] of Object.entries(plausibleFiles))
    writeFileSync(join(plausibleDir, `${name}_${suffix}`), rows.join('\n') + '\n')
  const plausible = await ace('tracking:import plausible', [
    'tracking:import',
    'plausible',
    'tmp/plausible-export',
  ])
  if (
    !plausible.includes(
      'imported 3 rows (21 views over 2 days, unique visitors of 2 days) and 19 dimension rows (5 files)'
    )
  )
    h.fail('tracking:import plausible did not import the pages and the dimension files', plausible)
  const plausibleImported = snapshot()
  const plausibleAgain = await ace('tracking:import plausible (again)', [
    'tracking:import',
    'plausible',
    'tmp/plausible-export',
  ])
  if (!plausibleAgain.includes('nothing to import') || snapshot() !== plausibleImported)
    h.fail('a second Plausible import changed something', plausibleAgain)
  h.ok(
    'tracking:import plausible: a whole export (pages, visitors, sources, browsers, OS, devices, locations): 3 page rows and 19 dimension rows; a second import adds nothing'
  )

  const badFlag = await h.run('node', ['ace', 'tracking:rebuild', '--from', '2026-02-30'], {
    cwd: appDir,
  })
  if (badFlag.code !== 1 || !badFlag.output.includes('"--from"'))
    h.fail('tracking:rebuild --from=2026-02-30 did not exit 1 naming --from', badFlag.output)
  h.ok('tracking:rebuild --from=2026-02-30 exits 1 naming "--from"')

  /* rows inserted straight into tracking_page_views (days -10..-6), as a copy from another table would */
  const directDays = daysBetween(-10, -6)
  const direct: Record<string, number> = {}
  const require = createRequire(join(appDir, 'package.json'))
  const Database = require('better-sqlite3') as new (file: string) => Writable
  const sqlite = new Database(join(appDir, 'tmp/db.sqlite3'))
  try {
    const insert = sqlite.prepare(
      'INSERT INTO tracking_page_views (path, date, views) VALUES (?, ?, ?)'
    )
    directDays.forEach((date, index) => {
      for (const [path, views] of [
        ['/copied/top', 50 + index],
        ['/copied/second', 20 - index],
        [`/copied/day-${index}`, 3],
      ] as const) {
        insert.run(path, date, views)
        add(direct, `${date} ${path}`, views)
      }
    })
  } finally {
    sqlite.close()
  }

  const config = readFileSync(join(appDir, 'config/tracking.ts'), 'utf8')
  const prefix = /keyPrefix: '([^']+)'/.exec(config)?.[1]
  const staffKey = /x-staff-key'\) === '([^']+)'/.exec(config)?.[1]
  if (!prefix || !staffKey) h.fail('config/tracking.ts has no keyPrefix or staff key', config)
  const { base, server, redis, output: logs } = await serveApp(appDir, h, prefix!)
  const range = `from=${directDays[0]}&to=${directDays.at(-1)}`
  const readJson = async (query = range) => {
    const response = await fetch(`${base}/cabinet/tracking?format=json&${query}`, {
      headers: { 'x-staff-key': staffKey! },
    })
    const body = await response.text()
    if (response.status !== 200) h.fail(`GET the page's JSON answered ${response.status}`, body)
    return JSON.parse(body)
  }
  const sums = perDay(direct)
  const total = Object.values(direct).reduce((sum, views) => sum + views, 0)
  const byPath: Record<string, number> = {}
  for (const [key, views] of Object.entries(direct)) add(byPath, key.slice(11), views)
  const top = Object.entries(byPath).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
  let exitCode: number | null = null
  try {
    await redis.connect()
    await h.waitForServer(`${base}/health`, server, logs)
    const stale = await readJson()
    if (stale.trackingTotalViews.value !== 0)
      h.fail(`before the rebuild the page counted ${stale.trackingTotalViews.value} views`)
    h.ok(
      `${Object.keys(direct).length} rows inserted straight into tracking_page_views: before tracking:rebuild the page's total views for ${range} is 0`
    )

    const rebuilt = await ace('tracking:rebuild', ['tracking:rebuild'])
    if (!/rebuilt [1-9]\d* of \d+ days/.test(rebuilt))
      h.fail('tracking:rebuild changed no day', rebuilt)
    const json = await readJson()
    const chart = json.trackingViewsChart
    const items = (json.trackingTopPages.items as Array<{ label: string; value: number }>).map(
      (item) => [item.label, item.value]
    )
    if (json.trackingTotalViews.value !== total)
      h.fail(`total views ${json.trackingTotalViews.value}, expected ${total}`)
    if (JSON.stringify(chart.labels) !== JSON.stringify(directDays))
      h.fail(`chart labels ${JSON.stringify(chart.labels)}`)
    if (JSON.stringify(chart.series[0].values) !== JSON.stringify(directDays.map((d) => sums[d])))
      h.fail(
        `chart ${JSON.stringify(chart.series[0].values)} vs ${JSON.stringify(directDays.map((d) => sums[d]))}`
      )
    if (JSON.stringify(items) !== JSON.stringify(top.slice(0, items.length)) || items.length < 3)
      h.fail(`top pages ${JSON.stringify(items)} vs ${JSON.stringify(top)}`)
    h.ok(
      `after tracking:rebuild the page's JSON agrees with the rows: total views ${total}, chart ${JSON.stringify(chart.series[0].values)}, top pages ${items
        .slice(0, 3)
        .map(([label, value]) => `${label} ${value}`)
        .join(', ')}, ...`
    )

    const once = snapshot()
    const second = await ace('tracking:rebuild (again)', ['tracking:rebuild'])
    if (!/rebuilt 0 of \d+ days/.test(second) || snapshot() !== once)
      h.fail('a second tracking:rebuild changed something', second)
    h.ok('a second tracking:rebuild changes nothing ("rebuilt 0 of ... days")')

    /* the Plausible days on the page: its panels, and daily visitors that cannot be combined */
    const fromPlausible = await readJson(`from=${p1}&to=${p2}`)
    const expectedLists: Record<string, unknown[]> = {
      trackingSources: [
        ['google.com', 15, 6, 11],
        ['Direct / None', 6, 3, null],
      ],
      trackingChannels: [
        ['Organic Search', 15, 6, 11],
        ['Direct', 6, 3, null],
      ],
      trackingBrowsers: [
        ['Firefox', 15, 9, null],
        ['Chrome', 6, 5, null],
      ],
      trackingOsVersions: [
        ['Linux', 15, 9, null],
        ['macOS 14.2', 6, 5, null],
      ],
      trackingDevices: [
        ['desktop', 15, 9, null],
        ['mobile', 6, 5, null],
      ],
      trackingCountries: [
        ['DE', 16, 6, 11],
        ['FR', 5, 3, null],
      ],
    }
    for (const [key, want] of Object.entries(expectedLists)) {
      if (JSON.stringify(listed(fromPlausible[key])) !== JSON.stringify(want))
        h.fail(`${key} of the Plausible days: ${JSON.stringify(listed(fromPlausible[key]))}`)
    }
    const visitors = fromPlausible.trackingUniqueVisitors
    if (
      fromPlausible.trackingTotalViews.value !== 21 ||
      visitors.value !== 9 ||
      visitors.atLeast !== true ||
      visitors.upTo !== 14
    )
      h.fail(
        `the Plausible days' KPIs: ${JSON.stringify([fromPlausible.trackingTotalViews, visitors])}`
      )
    const page = await fetch(`${base}/cabinet/tracking?from=${p1}&to=${p2}`, {
      headers: { 'x-staff-key': staffKey! },
    })
    const html = await page.text()
    if (!html.includes('at least</span> 9') || !html.includes('up to 14'))
      h.fail('the page does not show "at least 9" and "up to 14" unique visitors', html)
    h.ok(
      `the Plausible days on the page: sources, channels, browsers, OS versions, devices and countries as imported; unique visitors "at least 9", "up to 14" (JSON atLeast: true, upTo: 14)`
    )
  } finally {
    redis.disconnect()
    exitCode = await h.stopServer(server)
  }
  if (exitCode !== 0) h.fail(`the server exited with ${exitCode} on SIGTERM`, logs())
}
