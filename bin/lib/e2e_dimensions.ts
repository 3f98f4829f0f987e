/*
|--------------------------------------------------------------------------
| End-to-end checks of issue #14 (sources and audience), run by bin/e2e.ts
|--------------------------------------------------------------------------
|
| Runs after the #13 checks, in the same fresh app (stopped, flushed), with
| countryHeader: 'CF-IPCountry', an exclude() hook and honorDoNotTrack
| switched on in its config/tracking.ts. The app already counted views
| today, so every figure is checked as the change from a reading taken
| before the requests: live (before a flush) and from SQL (after it), in
| the JSON and the CSV. Each check is one `ok(...)` line.
|
*/

import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { redisDump, serveApp, sqlTexts, today, type E2EHelpers } from './e2e_hardening.ts'

const AGENTS = {
  'Firefox on Linux': 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Safari on iPhone':
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Chrome on Android':
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  'Safari on iPad':
    'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
}

/** The five arrivals of the issue: the path and the Referer ('own' = the app's own host) */
const ARRIVALS: Array<{ path: string; referer: string | null }> = [
  { path: '/', referer: 'https://www.google.com/search?q=x' },
  { path: '/', referer: 'https://news.ycombinator.com/item?id=1' },
  { path: '/about', referer: 'own' },
  { path: '/', referer: null },
  { path: '/?utm_source=newsletter&utm_medium=email&utm_campaign=launch', referer: null },
]

/** What the 5 arrivals x 4 agents must add, per JSON key and value */
const EXPECTED: Record<string, Record<string, number>> = {
  trackingSources: { 'google.com': 4, 'ycombinator.com': 4, 'Direct / None': 4, 'newsletter': 4 },
  trackingChannels: { 'Organic Search': 4, 'Referral': 4, 'Direct': 4, 'Email': 4 },
  trackingCampaigns: { launch: 4 },
  trackingBrowsers: { Firefox: 5, Safari: 10, Chrome: 5 },
  trackingOperatingSystems: { Linux: 5, iOS: 10, Android: 5 },
  trackingDevices: { desktop: 5, mobile: 10, tablet: 5 },
  trackingCountries: { DE: 20 },
  trackingLanguages: { fr: 20 },
}

/** The CSV dataset of each JSON key */
const DATASETS: Record<string, string> = {
  trackingSources: 'sources',
  trackingChannels: 'channels',
  trackingCampaigns: 'campaigns',
  trackingBrowsers: 'browsers',
  trackingOperatingSystems: 'os',
  trackingDevices: 'devices',
  trackingCountries: 'countries',
  trackingLanguages: 'languages',
}

/** The dimension whose rows a CSV dataset's figure is read from */
const CSV_DIMENSION: Record<string, string> = {
  sources: 'source',
  channels: 'channel',
  campaigns: 'utm_campaign',
  browsers: 'browser',
  os: 'os',
  devices: 'device',
  countries: 'country',
  languages: 'language',
}

/** What no stored row, key or value may hold: referrer paths and queries, user agents, the IP */
const NEVER_STORED = [
  '/search?q=x',
  'item?id=1',
  'news.ycombinator.com',
  'Mozilla/5.0',
  'Gecko/',
  'AppleWebKit',
  '127.0.0.1',
  'secret-path',
]

const JUNK_REQUESTS = 10_000

type Figures = Record<string, Record<string, number>>

/** value -> views of every list the checks read */
function listFigures(context: Record<string, { items?: Array<{ label: string; value: number }> }>) {
  const out: Figures = {}
  for (const key of Object.keys(EXPECTED)) {
    const items = context[key]?.items
    if (!items) throw new Error(`the JSON has no ${key}`)
    out[key] = Object.fromEntries(items.map((item) => [item.label, item.value]))
  }
  return out
}

/** The change of each expected value, and any other value that changed */
function changes(before: Figures, after: Figures): Figures {
  const out: Figures = {}
  for (const key of Object.keys(EXPECTED)) {
    out[key] = {}
    for (const label of new Set([...Object.keys(before[key]), ...Object.keys(after[key])])) {
      const delta = (after[key][label] ?? 0) - (before[key][label] ?? 0)
      if (delta !== 0) out[key][label] = delta
    }
  }
  return out
}

/** The figures as text with sorted values, so two readings compare whatever their order */
function canonical(figures: Figures): string {
  return JSON.stringify(
    Object.keys(EXPECTED).map((key) => Object.entries(figures[key] ?? {}).sort())
  )
}

/** Parses a dimension dataset: dimension,value,views,visitors,share (values may be quoted) */
function csvFigures(csv: string, dimension: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of csv.trim().split(/\r?\n/).slice(1)) {
    const cells: string[] = []
    let cell = ''
    let quoted = false
    for (let i = 0; i < line.length; i++) {
      const char = line[i]
      if (quoted) {
        if (char === '"' && line[i + 1] === '"') {
          cell += '"'
          i++
        } else if (char === '"') quoted = false
        else cell += char
      } else if (char === '"') quoted = true
      else if (char === ',') {
        cells.push(cell)
        cell = ''
      } else cell += char
    }
    cells.push(cell)
    if (cells[0] === dimension) out[cells[1]] = Number(cells[2])
  }
  return out
}

export async function dimensionsFromOutside(appDir: string, h: E2EHelpers) {
  const configPath = join(appDir, 'config/tracking.ts')
  const config = readFileSync(configPath, 'utf8')
  const prefix = /keyPrefix: '([^']+)'/.exec(config)?.[1]
  const staffKey = /x-staff-key'\) === '([^']+)'/.exec(config)?.[1]
  if (!prefix || !staffKey) h.fail('config/tracking.ts has no keyPrefix or staff key', config)
  let edited = config
  for (const [line, value] of [
    [/\/\/ countryHeader: .*,/, `countryHeader: 'CF-IPCountry',`],
    [/\/\/ exclude: .*,/, `exclude: (ctx) => ctx.request.header('x-team') === '1',`],
    [/\/\/ honorDoNotTrack: .*,/, 'honorDoNotTrack: true,'],
  ] as const) {
    const next = edited.replace(line, value)
    if (next === edited) h.fail(`config/tracking.ts has no line ${line}`, edited)
    edited = next
  }
  writeFileSync(configPath, edited)
  h.ok(
    `config/tracking.ts: countryHeader: 'CF-IPCountry', exclude() on an x-team header, honorDoNotTrack: true`
  )

  h.step('#14: sources, campaigns, browsers, OS, devices, countries and languages')
  const { base, server, redis, output: logs, total, written } = await serveApp(appDir, h, prefix!)
  const request = async (path: string, headers: Record<string, string>) => {
    const response = await fetch(`${base}${path}`, { headers, redirect: 'manual' })
    const body = await response.text()
    return { status: response.status, body }
  }
  const get = async (path: string, headers: Record<string, string>) => {
    const { status, body } = await request(path, headers)
    if (status !== 200) h.fail(`GET ${path} answered ${status}`, `${body}\n${logs()}`)
    return body
  }
  const staff = { 'x-staff-key': staffKey! }
  const readJson = async (query = '') =>
    JSON.parse(await get(`/cabinet/tracking?format=json&days=7${query}`, staff))
  const readCsv = async (): Promise<Figures> => {
    const out: Figures = {}
    for (const [key, dataset] of Object.entries(DATASETS))
      out[key] = csvFigures(
        await get(`/cabinet/tracking/export.csv?days=7&dataset=${dataset}`, staff),
        CSV_DIMENSION[dataset]
      )
    return out
  }
  const flush = () =>
    h.must('node ace flush_page_views (server running)', 'node', ['ace', 'flush_page_views'], {
      cwd: appDir,
    })

  let exitCode: number | null = null
  try {
    await redis.connect()
    await h.waitForServer(`${base}/health`, server, logs)
    await flush()
    const jsonBefore = listFigures(await readJson())
    const csvBefore = await readCsv()

    let visitor = 0
    for (const arrival of ARRIVALS)
      for (const agent of Object.values(AGENTS)) {
        const headers: Record<string, string> = {
          'user-agent': agent,
          'cf-ipcountry': 'DE',
          'accept-language': 'fr-FR,fr;q=0.9',
          'x-visitor': `e2e-dimensions-${++visitor}`,
        }
        if (arrival.referer)
          headers.referer = arrival.referer === 'own' ? `${base}/` : arrival.referer
        await get(arrival.path, headers)
      }
    /* the flush above left no live view of today: the total counts these alone */
    await written(visitor)
    const start = await total()
    if (start !== visitor) h.fail(`today's live total is ${start} after ${visitor} views`)
    h.ok(
      `GET with Referer Google search, Hacker News, the app's own host, none, and utm_source=newsletter&utm_medium=email&utm_campaign=launch, each as ${Object.keys(AGENTS).join(', ')}, CF-IPCountry: DE, Accept-Language: fr-FR: ${visitor} views`
    )

    /* the last one is a plain view: once it is in Redis, the excluded ones would be too */
    const skipped: Array<Record<string, string>> = [
      { 'x-team': '1' },
      { dnt: '1' },
      { 'sec-gpc': '1' },
    ]
    for (const headers of skipped)
      await get('/', { 'user-agent': AGENTS['Firefox on Linux'], ...headers })
    await get('/', { 'user-agent': AGENTS['Firefox on Linux'], 'x-visitor': 'e2e-control' })
    await written(start + 1)
    if ((await total()) !== start + 1)
      h.fail(`exclude()/DNT/Sec-GPC requests were counted: ${await total()} vs ${start + 1}`)
    h.ok(`exclude() (x-team: 1), DNT: 1 and Sec-GPC: 1 are not counted (1 view of 4 requests)`)

    const live = listFigures(await readJson())
    const expectedLive = structuredClone(EXPECTED)
    /* the control view (Firefox on Linux, direct, no country header or language) */
    const control = changes(jsonBefore, live)
    const add = (key: string, label: string) =>
      (expectedLive[key][label] = (expectedLive[key][label] ?? 0) + 1)
    add('trackingSources', 'Direct / None')
    add('trackingChannels', 'Direct')
    add('trackingBrowsers', 'Firefox')
    add('trackingOperatingSystems', 'Linux')
    add('trackingDevices', 'desktop')
    add('trackingCountries', 'Unknown')
    add('trackingLanguages', 'Unknown')
    if (canonical(control) !== canonical(expectedLive))
      h.fail(
        `live JSON changes ${JSON.stringify(control)}, expected ${JSON.stringify(expectedLive)}`
      )
    h.ok(
      `live (before a flush), the JSON lists changed by exactly: ${Object.entries(EXPECTED)
        .map(([key, values]) => `${key} ${JSON.stringify(values)}`)
        .join('; ')} (+1 direct Firefox/Linux control view)`
    )
    const liveCsv = await readCsv()

    await flush()
    const flushed = listFigures(await readJson())
    if (canonical(changes(jsonBefore, flushed)) !== canonical(expectedLive))
      h.fail(`JSON after the flush: ${JSON.stringify(changes(jsonBefore, flushed))}`)
    const flushedCsv = await readCsv()
    for (const [label, csv] of [
      ['live CSV', liveCsv],
      ['CSV after the flush', flushedCsv],
    ] as const)
      if (canonical(changes(csvBefore, csv)) !== canonical(expectedLive))
        h.fail(`${label}: changes ${JSON.stringify(changes(csvBefore, csv))}`)
    h.ok(
      'after node ace flush_page_views the JSON shows the same changes, and the CSV datasets (sources, channels, campaigns, browsers, os, devices, countries, languages) the same, live and flushed'
    )

    const rows = h.query(
      `SELECT dimension, value, views FROM tracking_dimension_stats WHERE date LIKE '${today()}%'`
    )
    const stored = (dimension: string, value: string) =>
      Number(rows.find((row) => row.dimension === dimension && row.value === value)?.views ?? 0)
    if (stored('source', 'ycombinator.com') < 4 || stored('country', 'DE') < 20)
      h.fail(`tracking_dimension_stats today: ${JSON.stringify(rows)}`)
    h.ok(`SQL tracking_dimension_stats holds today's values (${rows.length} rows)`)

    const all = await readJson()
    const hn = all.trackingSources.items.find(
      (item: { label: string }) => item.label === 'ycombinator.com'
    )
    const filtered = await readJson('&filter=source:ycombinator.com')
    if (
      !hn ||
      filtered.trackingTotalViews.value !== hn.value ||
      filtered.trackingTotalViews.value >= all.trackingTotalViews.value
    )
      h.fail(
        `?filter=source:ycombinator.com: total ${filtered.trackingTotalViews.value}, the source has ${hn?.value}, unfiltered ${all.trackingTotalViews.value}`
      )
    h.ok(
      `?filter=source:ycombinator.com narrows the total views to that source's ${hn.value} (unfiltered ${all.trackingTotalViews.value})`
    )
    const bad = await request('/cabinet/tracking?format=json&filter=nope:x', staff)
    if (bad.status < 400 || bad.status >= 500)
      h.fail(`?filter=nope:x answered ${bad.status}`, bad.body)
    h.ok(`?filter=nope:x (unknown dimension) answers ${bad.status} with a message`)

    /* 10,000 distinct junk referrers and campaign values from one client, 25 at a time */
    const statuses = new Map<number, number>()
    for (let sent = 0; sent < JUNK_REQUESTS;) {
      const wave: Array<Promise<void>> = []
      for (let i = 0; i < 25 && sent < JUNK_REQUESTS; i++, sent++) {
        const n = sent
        wave.push(
          request(`/?utm_campaign=junk-${n}&utm_term=${'t'.repeat(n % 300)}`, {
            'user-agent': AGENTS['Chrome on Android'],
            'referer': `https://www.junk-${n}.com/secret-path/${n}?q=${n}`,
          }).then(({ status }) => {
            statuses.set(status, (statuses.get(status) ?? 0) + 1)
          })
        )
      }
      await Promise.all(wave)
    }
    if (statuses.get(200) !== JUNK_REQUESTS)
      h.fail(`junk requests answered ${JSON.stringify([...statuses])}`, logs())
    /* the flush above left no live view: every junk view (and its dimensions) reaches Redis, none dropped */
    await written(JUNK_REQUESTS)
    await flush()
    const perDimension = h.query(
      `SELECT dimension, COUNT(*) AS n, MAX(LENGTH(value)) AS longest FROM tracking_dimension_stats WHERE date LIKE '${today()}%' GROUP BY dimension`
    )
    const over = perDimension.filter((row) => Number(row.n) > 1001 || Number(row.longest) > 100)
    const source = perDimension.find((row) => row.dimension === 'source')
    if (over.length > 0 || Number(source?.n) !== 1001)
      h.fail(`values per dimension today: ${JSON.stringify(perDimension)}`)
    const otherViews = Number(
      h.query(
        `SELECT views FROM tracking_dimension_stats WHERE date LIKE '${today()}%' AND dimension = 'source' AND value = '(other)'`
      )[0]?.views ?? 0
    )
    if (otherViews < JUNK_REQUESTS - 1000)
      h.fail(`(other) of source holds ${otherViews} views`, JSON.stringify(perDimension))
    h.ok(
      `${JUNK_REQUESTS} junk referrers and utm values: all answered 200; today's values per dimension ${perDimension
        .map((row) => `${String(row.dimension)} ${Number(row.n)}`)
        .join(
          ', '
        )} (cap 1,000 + "(other)"; "(other)" of source has ${otherViews} views), longest value ${Math.max(...perDimension.map((row) => Number(row.longest)))} characters`
    )

    const { texts } = sqlTexts(h)
    const keys = await redisDump(redis, prefix!)
    for (const [where, values] of [
      ['SQL', texts],
      ['Redis', keys],
    ] as const) {
      const leak = values.find((text) => NEVER_STORED.some((raw) => text.includes(raw)))
      if (leak !== undefined)
        h.fail(`${where} holds a referrer path, user agent or IP: ${leak.slice(0, 200)}`)
    }
    h.ok(
      `no referrer path or query, no user agent string, no IP in ${texts.length} SQL values nor ${keys.length} Redis keys and values`
    )
  } finally {
    redis.disconnect()
    exitCode = await h.stopServer(server)
  }
  if (exitCode !== 0) h.fail(`the server exited with ${exitCode} on SIGTERM`, logs())
  if (/"level":\s*(50|60)/.test(logs())) h.fail('the server logged an error', logs())
  h.ok('the server stops cleanly, no error in its log')
}
