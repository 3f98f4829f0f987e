/*
|--------------------------------------------------------------------------
| Browser test of the analytics page (real headless Chromium)
|--------------------------------------------------------------------------
|
|   node --conditions=tracking-source --import=@poppinss/ts-exec bin/browser_test.ts
|
| Starts the demo app on a free loopback port (sqlite in tmp/, memory
| tracking store unless TRACKING_STORE says otherwise), browses a few pages,
| logs in as staff through the login form, opens the analytics page and
| checks that the KPIs and the chart are visible, that the console shows no
| error and that no request leaves localhost (every request is intercepted;
| one to another host is aborted and fails the test). Saves a screenshot to
| tmp/analytics.png; with --update-docs it also replaces docs/analytics.png,
| the README's screenshot.
|
| Chromium is Debian's (apt-get install -y chromium), driven by
| playwright-core; CHROMIUM_PATH overrides /usr/bin/chromium.
|
*/

import { randomBytes } from 'node:crypto'
import { copyFileSync, existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Ignitor, prettyPrintError } from '@adonisjs/core'
import type { ApplicationService } from '@adonisjs/core/types'
import { DateTime } from 'luxon'
import { chromium, type Browser, type Page } from 'playwright-core'
import type { Database } from '@adonisjs/lucid/database'
import type { TrackingManager } from '../src/manager.ts'
import { writeSampleTraffic } from '../demo/sample_traffic.ts'
import { APP_ROOT, importer, runDemoMigrations } from './lib/demo_app.ts'
import { writeCheckSummary } from './lib/summary.ts'
import { freePort } from '../tests/redis_server.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SCREENSHOT = new URL('tmp/analytics.png', APP_ROOT)
const README_SCREENSHOT = new URL('docs/analytics.png', APP_ROOT)
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

/* the demo app, configured by env before it boots (process env wins over .env) */
process.env.NODE_ENV = 'development'
process.env.HOST = '127.0.0.1'
process.env.PORT = String(await freePort())
process.env.APP_KEY ??= randomBytes(32).toString('base64url')
process.env.DB = 'sqlite'
/* a database of its own: the demo's tmp/db.sqlite3 stays as the user left it */
process.env.DB_SQLITE_FILE = 'browser.sqlite3'
process.env.TRACKING_STORE ??= 'memory'
process.env.SESSION_DRIVER = 'cookie'
process.env.LOG_LEVEL ??= 'warn'
const BASE = `http://127.0.0.1:${process.env.PORT}`

if (!existsSync(CHROMIUM)) {
  console.error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`)
  process.exit(1)
}
runDemoMigrations()

/**
 * Records deterministic views for the last 28 days (before today) and
 * returns how many fall in the page's default range
 */
/**
 * Four weeks of the demo's sample traffic (sources, campaigns, browsers,
 * countries, ...), recorded and flushed by the package
 * (demo/sample_traffic.ts), so the chart, the panels and the screenshot
 * have a shape; returns the views of the days in the default range
 */
async function seedHistory(manager: TrackingManager, db: Database): Promise<number> {
  const today = DateTime.now().setZone(manager.settings.timezone).startOf('day')
  const inRange = manager.settings.analyticsDays - 1
  const older = await writeSampleTraffic(manager, db, {
    days: 28 - inRange,
    lastDay: today.minus({ days: inRange + 1 }).toISODate()!,
    origin: BASE,
    appKey: process.env.APP_KEY,
  })
  const recent = await writeSampleTraffic(manager, db, {
    days: inRange,
    lastDay: today.minus({ days: 1 }).toISODate()!,
    origin: BASE,
    appKey: process.env.APP_KEY,
  })
  if (older.views === 0 || recent.views === 0) throw new Error('the sample traffic counted nothing')
  return recent.views
}

const checks: string[] = []
const failures: string[] = []
function check(name: string, ok: boolean, detail = '') {
  if (ok) checks.push(name)
  else failures.push(detail ? `${name}: ${detail}` : name)
  console.log(`${ok ? 'ok    ' : 'FAILED'} ${name}${ok || !detail ? '' : ` (${detail})`}`)
}

let app: ApplicationService | undefined
let browser: Browser | undefined
try {
  const ignitor = new Ignitor(APP_ROOT, { importer }).tap((application) => {
    application.booting(async () => {
      await import('#start/env')
    })
  })
  await ignitor.httpServer().start()
  app = ignitor.getApp() as ApplicationService
  const { seedDemoUsers } = await import('#demo/seed')
  await seedDemoUsers()
  const manager = await app.container.make('tracking.manager')

  /* four weeks of earlier traffic, so that the chart and the screenshot have a shape */
  const SEEDED = await seedHistory(manager, await app.container.make('lucid.db'))

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  })
  const chromeVersion = browser.version().split('.')[0]
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    colorScheme: 'light',
    locale: 'en-US',
    /* headless Chromium says "HeadlessChrome", a bot for ignoreBots: browse as a desktop Chrome */
    userAgent: `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${chromeVersion}.0.0.0 Safari/537.36`,
  })

  /* every request of the page goes through here: only loopback passes */
  const external: string[] = []
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url())
    if ((url.protocol === 'http:' || url.protocol === 'https:') && LOCAL_HOSTS.has(url.hostname)) {
      return route.continue()
    }
    if (url.protocol === 'data:' || url.protocol === 'about:') return route.continue()
    external.push(url.href)
    return route.abort('blockedbyclient')
  })

  const page: Page = await context.newPage()
  const consoleErrors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(`${message.text()} @ ${page.url()}`)
  })
  page.on('pageerror', (error) => consoleErrors.push(`${error.message} @ ${page.url()}`))

  /* some traffic as an anonymous visitor (the demo tracks anonymous views) */
  for (const path of ['/', '/about', '/posts/1', '/posts/2', '/about']) {
    const response = await page.goto(`${BASE}${path}`)
    check(`GET ${path} answers 200`, response?.status() === 200, String(response?.status()))
  }

  /* the analytics page is not public */
  const anonymous = await page.request.get(`${BASE}/cabinet/tracking`, { maxRedirects: 0 })
  check(
    'anonymous visitors get 403 on the analytics page',
    anonymous.status() === 403,
    String(anonymous.status())
  )

  /* log in as staff through the demo's form */
  await page.goto(`${BASE}/login`)
  await page.fill('input[name=email]', 'staff@example.com')
  await page.fill('input[name=password]', 'secret')
  await Promise.all([page.waitForURL(`${BASE}/account`), page.click('button[type=submit]')])
  check('staff logs in', page.url() === `${BASE}/account`, page.url())
  await page.goto(`${BASE}/posts/3`)

  /* the write buffer sends its counts every bufferMs; do not wait for it */
  await manager.drain()

  const response = await page.goto(`${BASE}/cabinet/tracking`)
  check('the analytics page answers 200', response?.status() === 200, String(response?.status()))

  const kpis = ['trackingTotalViews', 'trackingUniqueVisitors', 'trackingTrackedPages']
  for (const key of kpis) {
    const value = page.locator(`[data-widget="${key}"] .trk-kpi-value`)
    const visible = await value.isVisible()
    const content = visible ? await value.textContent() : ''
    const text = content?.trim()
    check(
      `KPI ${key} is visible with a number`,
      visible && /^\d[\d,]*$/.test(text ?? ''),
      text ?? ''
    )
  }
  const viewsText = await page
    .locator('[data-widget="trackingTotalViews"] .trk-kpi-value')
    .textContent()
  const views = Number(viewsText?.replace(/,/g, ''))
  check(
    'the page views KPI counts the visits of this run',
    views >= SEEDED + 7,
    `${views} < ${SEEDED} + 7`
  )

  const chart = page.locator('[data-widget="trackingViewsChart"] svg[role="img"]')
  const box = await chart.boundingBox()
  check(
    'the chart is visible',
    (await chart.isVisible()) && (box?.width ?? 0) > 300 && (box?.height ?? 0) > 80,
    JSON.stringify(box)
  )
  const line = page.locator('[data-widget="trackingViewsChart"] path.trk-line').first()
  const lineBox = await line.boundingBox()
  check('the chart draws a line', (lineBox?.width ?? 0) > 100, JSON.stringify(lineBox))
  check(
    'the chart has axis labels',
    (await page.locator('[data-widget="trackingViewsChart"] .trk-axis text').count()) >= 4
  )
  check(
    'top pages are listed',
    (await page.locator('[data-widget="trackingTopPages"] li').count()) >= 3
  )
  check(
    'realtime visitors are shown',
    await page.locator('[data-widget="realtimeVisitors"]').isVisible()
  )

  await page.screenshot({ path: fileURLToPath(SCREENSHOT), fullPage: true })
  if (process.argv.includes('--update-docs')) {
    copyFileSync(SCREENSHOT, README_SCREENSHOT)
    console.log('screenshot: tmp/analytics.png (copied to docs/analytics.png)')
  } else {
    console.log('screenshot: tmp/analytics.png (--update-docs copies it to docs/analytics.png)')
  }

  /* the range picker and the search work without JavaScript */
  await Promise.all([page.waitForURL(/days=7/), page.click('a.trk-btn:has-text("7 days")')])
  const current = await page.locator('a.trk-btn[aria-current="page"]').textContent()
  check('the 7-day preset is selected', current?.trim() === '7 days', current ?? '')
  await page.fill('#trk-q', 'about')
  await Promise.all([page.waitForURL(/q=about/), page.click('form.trk-search button[type=submit]')])
  const paths = await page
    .locator('[data-widget="trackingRecentPageViews"] td.trk-path')
    .allTextContents()
  check(
    'the search filters the table',
    paths.length > 0 && paths.every((path) => path.includes('about')),
    paths.join(' ')
  )

  const csv = await page.request.get(`${BASE}/cabinet/tracking/export.csv`)
  check(
    'the CSV export downloads',
    csv.status() === 200 && /^text\/csv/.test(csv.headers()['content-type'] ?? '')
  )

  /* dark mode follows the system */
  await page.emulateMedia({ colorScheme: 'dark' })
  const background = String(await page.evaluate('getComputedStyle(document.body).backgroundColor'))
  check('dark mode changes the page colors', background === 'rgb(15, 17, 21)', background)

  /* narrow screens: nothing overflows horizontally */
  await page.setViewportSize({ width: 390, height: 844 })
  const overflow = Number(
    await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')
  )
  check('no horizontal overflow on a phone screen', overflow <= 0, `${overflow}px`)

  check('no console errors', consoleErrors.length === 0, consoleErrors.join(' | '))
  check('no request left localhost', external.length === 0, external.join(' '))
} catch (error) {
  failures.push(error instanceof Error ? error.message : String(error))
  await prettyPrintError(error)
} finally {
  await browser?.close().catch(() => {})
  await app?.terminate().catch(() => {})
}

console.log(`browser test: ${checks.length} checks passed, ${failures.length} failed`)
writeCheckSummary(
  checks.length,
  failures.map((failure) => `browser: ${failure}`)
)
if (failures.length > 0) {
  for (const failure of failures) console.log(`  - ${failure}`)
  process.exitCode = 1
}
