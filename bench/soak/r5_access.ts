/*
|--------------------------------------------------------------------------
| R5: access matrix of the analytics endpoints
|--------------------------------------------------------------------------
|
| Every analytics endpoint (the page, ?format=json, ?format=csv, the CSV
| export and its daily dataset) x every HTTP method x anonymous, non-staff
| (user@example.com) and staff (staff@example.com), logged in through the
| demo's login form.
|
| What is asserted, and why:
| - GET and HEAD are the methods the routes accept (the router answers
|   HEAD for every GET route): 403 for anonymous and non-staff, 200 for
|   staff. HEAD carries no body by definition.
| - POST, PUT, DELETE, PATCH, OPTIONS are not routes of the package: 404
|   or 405 for everyone, staff included (nothing to accept).
| - No data in any answer other than a staff 200: the body does not contain
|   the marker path recorded before the run, nor a widget key, nor a CSV
|   header; it is not served as text/csv nor as an attachment. A staff 200
|   must contain the marker (so the leak check looks for something that is
|   really there) and say Cache-Control: no-store (no shared cache keeps it).
|
*/

import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { TestRedisServer } from '../../tests/redis_server.ts'
import type { Report } from './checks.ts'
import { BROWSER_UA } from './load.ts'
import { DemoApp, appEnv } from './processes.ts'

const S = 'R5'
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const
const ROLES = ['anonymous', 'non-staff', 'staff'] as const
type Role = (typeof ROLES)[number]

/** Session cookies after logging in through the demo's form */
export async function login(base: string, email: string): Promise<string> {
  const response = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': BROWSER_UA },
    body: new URLSearchParams({ email, password: 'secret' }),
  })
  const cookies = response.headers
    .getSetCookie()
    .map((cookie) => cookie.split(';')[0])
    .join('; ')
  const location = response.headers.get('location') ?? ''
  if (response.status !== 302 || location.includes('/login') || !cookies) {
    throw new Error(`login as ${email} failed: ${response.status} ${location}`)
  }
  return cookies
}

export async function accessMatrix(report: Report, options: { analyticsUrl?: string } = {}) {
  const base = options.analyticsUrl ?? '/cabinet/tracking'
  const redisServer = await new TestRedisServer().start()
  let app: DemoApp | undefined
  try {
    app = await DemoApp.start(
      appEnv({ db: 'sqlite', redisPort: redisServer.port, extra: { SOAK_CATCH_ALL: '1' } })
    )
    const url = app.url

    /* the data that must not leak: views of a path nobody can guess */
    const marker = `leak-marker-${randomBytes(6).toString('hex')}`
    for (let i = 0; i < 3; i++) {
      await fetch(`${url}/fuzz/${marker}`, { headers: { 'user-agent': BROWSER_UA } })
    }
    await sleep(1500)

    const cookies: Record<Role, string | null> = {
      'anonymous': null,
      'non-staff': await login(url, 'user@example.com'),
      'staff': await login(url, 'staff@example.com'),
    }
    const endpoints = [
      base,
      `${base}?format=json`,
      `${base}?format=csv`,
      `${base}/export.csv`,
      `${base}/export.csv?dataset=daily`,
    ]

    const rows: string[] = []
    for (const role of ROLES) {
      for (const method of METHODS) {
        const problems: string[] = []
        const statuses: number[] = []
        for (const endpoint of endpoints) {
          const headers: Record<string, string> = { 'user-agent': BROWSER_UA }
          if (cookies[role]) headers.cookie = cookies[role]!
          if (method === 'OPTIONS') {
            headers.origin = 'http://evil.example'
            headers['access-control-request-method'] = 'GET'
          }
          const response = await fetch(`${url}${endpoint}`, { method, headers, redirect: 'manual' })
          const body = method === 'HEAD' ? '' : await response.text()
          statuses.push(response.status)
          const accepted = method === 'GET' || method === 'HEAD'
          const expected = accepted ? (role === 'staff' ? [200] : [403]) : [404, 405]
          if (!expected.includes(response.status)) {
            problems.push(`${endpoint} answered ${response.status}, expected ${expected.join('/')}`)
          }
          const type = response.headers.get('content-type') ?? ''
          const disposition = response.headers.get('content-disposition') ?? ''
          if (response.status === 200 && role === 'staff') {
            if (method === 'GET' && !endpoint.includes('daily') && !body.includes(marker)) {
              problems.push(`${endpoint}: the staff answer lacks the recorded data`)
            }
            if (!/no-store/.test(response.headers.get('cache-control') ?? '')) {
              problems.push(`${endpoint}: no Cache-Control: no-store`)
            }
          } else {
            const leaks = [
              body.includes(marker) && 'the recorded path',
              /tracking(TotalViews|TopPages|RecentPageViews)/.test(body) && 'widget data',
              /^\s*"?(day|date|path)"?,/im.test(body) && 'a CSV header',
              /text\/csv/.test(type) && 'a text/csv type',
              /attachment/.test(disposition) && 'an attachment',
              response.headers.get('access-control-allow-origin') && 'a CORS grant',
            ].filter(Boolean)
            if (leaks.length > 0)
              problems.push(`${endpoint} (${response.status}) leaks ${leaks.join(', ')}`)
          }
        }
        rows.push(`| ${role} | ${method} | ${statuses.join(' / ')} |`)
        const expectedText =
          method === 'GET' || method === 'HEAD'
            ? role === 'staff'
              ? '200 with data, no-store'
              : '403, no data'
            : '404/405, no data'
        report.check(
          S,
          `${role} ${method}`,
          problems.length === 0,
          problems.length ? problems.join('; ') : statuses.join(' / '),
          expectedText
        )
      }
    }
    report.note(
      S,
      [
        `Statuses per endpoint, in this order: ${endpoints.map((e) => `\`${e}\``).join(', ')}.`,
        '',
        '| user | method | statuses |',
        '| --- | --- | --- |',
        ...rows,
      ].join('\n')
    )
  } finally {
    await app?.stop('SIGKILL')
    await redisServer.stop()
  }
}
