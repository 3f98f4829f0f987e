/*
|--------------------------------------------------------------------------
| End-to-end checks of issue #16 (events and goals), run by bin/e2e.ts
|--------------------------------------------------------------------------
|
| Runs last, in the same fresh app (stopped), whose visitors are named by
| an x-visitor header (visitorId, set by the #13 checks). It does what a
| user does: declares goals in config/tracking.ts, adds a GET /pricing page
| and a POST /signup route that calls `tracking.event(ctx, 'signup',
| { plan })` with `tracking` from 'adonis-tracking/services/main', type
| checks the app, and serves it. 5 visitors view /pricing, 3 of them sign up
| (pro, pro, free): the JSON, the goals and events CSV datasets and the
| page show Signup 3 conversions, Pricing 5 and the plans pro 2 / free 1,
| live and after node ace flush_page_views. Junk events (50 props, a 10 KB
| name, non-string values, props that are no object) answer 200 and are
| stored within the limits. A goal mistake stops the boot naming its key.
|
*/

import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort } from '../../tests/redis_server.ts'
import { serveApp, today, type E2EHelpers } from './e2e_hardening.ts'

const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0 e2e-events'
const SERVER_ARGS = ['--import=@poppinss/ts-exec', 'bin/server.ts']
const GOALS = `goals: [
    { name: 'Signup', event: 'signup' },
    { name: 'Pricing', path: '/pricing' },
    { name: 'Docs', path: '/docs/*' },
  ],`

const FUNNELS = `funnels: [{ name: 'Purchase', steps: ['Pricing', 'Signup'] }],`

/** The routes a user writes: a page, a sign-up that records the event, and one for junk */
const ROUTES = `
router.get('/pricing', () => 'pricing')
router.post('/signup', async (ctx) => {
  const { default: tracking } = await import('adonis-tracking/services/main')
  tracking.event(ctx, 'signup', { plan: ctx.request.input('plan') })
  return { signedUp: true }
})
router.post('/junk-event', async (ctx) => {
  const { default: tracking } = await import('adonis-tracking/services/main')
  const counted: boolean = tracking.event(ctx, ctx.request.input('name'), ctx.request.input('props'))
  return { counted }
})
`

/** Goal name -> [visitors, completions, conversion rate] */
type GoalFigures = Record<string, [number, number, number]>

function goalsOf(json: any): GoalFigures {
  return Object.fromEntries(
    (json.trackingGoals?.items ?? []).map((goal: any) => [
      goal.name,
      [goal.visitors, goal.completions, goal.conversionRate],
    ])
  )
}

/** The Purchase funnel's steps as "name visitors dropOff" */
function funnelOf(json: any): string[] {
  const funnel = (json.trackingFunnels?.funnels ?? []).find((one: any) => one.name === 'Purchase')
  return (funnel?.items ?? []).map((step: any) => `${step.name} ${step.visitors} ${step.dropOff}`)
}
const EXPECTED_FUNNEL = ['Pricing 5 null', 'Signup 3 40']

function signupOf(json: any) {
  const signup = (json.trackingEvents?.items ?? []).find((item: any) => item.name === 'signup')
  return signup
    ? {
        count: signup.count,
        visitors: signup.visitors,
        plans: (signup.props.plan ?? []).map((one: any) => `${one.value} ${one.count}`),
      }
    : null
}

export async function eventsFromOutside(appDir: string, h: E2EHelpers) {
  h.step('#16: events and goals from server code')
  const configPath = join(appDir, 'config/tracking.ts')
  const config = readFileSync(configPath, 'utf8')
  const prefix = /keyPrefix: '([^']+)'/.exec(config)?.[1]
  const staffKey = /x-staff-key'\) === '([^']+)'/.exec(config)?.[1]
  if (!prefix || !staffKey) h.fail('config/tracking.ts has no keyPrefix or staff key', config)
  if (!/\/\/ goals: \[.*\],/.test(config))
    h.fail('config/tracking.ts documents no goals (a commented "// goals: [...]" line)', config)

  /* a goal mistake stops the boot, naming the key */
  writeFileSync(
    configPath,
    config.replace(/\/\/ goals: \[.*\],/, `goals: [{ name: 'Pricing', path: 'pricing' }],`)
  )
  try {
    const refused = await h.run('node', SERVER_ARGS, {
      cwd: appDir,
      env: h.appEnv({ PORT: String(await freePort()), HOST: '127.0.0.1' }),
      timeoutMs: 60_000,
    })
    if (
      refused.code === null ||
      refused.code === 0 ||
      !refused.output.includes('E_TRACKING_INVALID_CONFIG') ||
      !refused.output.includes('"goals[0].path"')
    )
      h.fail('a goal path without "/" did not stop node bin/server.ts', refused.output)
    h.ok(
      `goals: [{ name: 'Pricing', path: 'pricing' }] stops node bin/server.ts (exit ${refused.code}): E_TRACKING_INVALID_CONFIG "goals[0].path"`
    )
  } finally {
    writeFileSync(configPath, config)
  }

  if (!/\/\/ funnels: \[.*\],/.test(config))
    h.fail('config/tracking.ts documents no funnels (a commented "// funnels: [...]" line)', config)
  writeFileSync(
    configPath,
    config.replace(/\/\/ goals: \[.*\],/, GOALS).replace(/\/\/ funnels: \[.*\],/, FUNNELS)
  )
  const routesPath = join(appDir, 'start/routes.ts')
  writeFileSync(routesPath, `${readFileSync(routesPath, 'utf8')}${ROUTES}`)
  h.ok(
    "config/tracking.ts: goals Signup (event 'signup'), Pricing ('/pricing'), Docs ('/docs/*'), funnel Purchase (Pricing -> Signup); GET /pricing, POST /signup calling tracking.event(ctx, 'signup', { plan }) and POST /junk-event added"
  )
  await h.must(
    'tsc --noEmit (tracking.event and the goals type check against the packed .d.ts)',
    'node',
    [join(appDir, 'node_modules/typescript/bin/tsc'), '--noEmit'],
    { cwd: appDir }
  )
  await h.must(
    'node ace flush_page_views (before the events)',
    'node',
    ['ace', 'flush_page_views'],
    {
      cwd: appDir,
    }
  )

  const { base, server, output: logs } = await serveApp(appDir, h, prefix!)
  const staff = { 'x-staff-key': staffKey! }
  const send = async (
    method: 'GET' | 'POST',
    path: string,
    headers: Record<string, string>,
    body?: unknown
  ) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        'user-agent': USER_AGENT,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
    })
    return { status: response.status, body: await response.text() }
  }
  const get = async (path: string, headers: Record<string, string> = staff) => {
    const response = await send('GET', path, headers)
    if (response.status !== 200)
      h.fail(`GET ${path} answered ${response.status}`, `${response.body}\n${logs()}`)
    return response.body
  }
  const readJson = async () => JSON.parse(await get('/cabinet/tracking?format=json&days=7'))
  const readCsv = async (dataset: string) => {
    const csv = await get(`/cabinet/tracking/export.csv?days=7&dataset=${dataset}`)
    return csv.trim().split(/\r\n/)
  }
  /* the write buffer sends within bufferMs (1 s): wait until the JSON shows what was sent */
  const until = async (label: string, check: (json: any) => boolean) => {
    const deadline = Date.now() + 30_000
    for (;;) {
      const json = await readJson()
      if (check(json)) return json
      if (Date.now() > deadline)
        h.fail(`${label} not seen within 30 s`, JSON.stringify(json).slice(0, 2000))
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }

  let exitCode: number | null = null
  try {
    await h.waitForServer(`${base}/health`, server, logs)
    for (let visitor = 1; visitor <= 5; visitor++) {
      const page = await send('GET', '/pricing', { 'x-visitor': `e2e-events-${visitor}` })
      if (page.status !== 200) h.fail(`GET /pricing answered ${page.status}`, logs())
    }
    for (const [visitor, plan] of [
      [1, 'pro'],
      [2, 'pro'],
      [3, 'free'],
    ] as const) {
      const signup = await send(
        'POST',
        '/signup',
        { 'x-visitor': `e2e-events-${visitor}` },
        { plan }
      )
      if (signup.status !== 200)
        h.fail(`POST /signup answered ${signup.status}`, `${signup.body}\n${logs()}`)
    }
    h.ok('5 visitors GET /pricing, 3 of them POST /signup (plans pro, pro, free): 200 each')

    const expectedGoals = (json: any): GoalFigures => {
      const unique = json.trackingUniqueVisitors.value
      const rate = (visitors: number) => Math.min(100, Math.round((visitors / unique) * 1000) / 10)
      return { Signup: [3, 3, rate(3)], Pricing: [5, 5, rate(5)], Docs: [0, 0, 0] }
    }
    const expectedSignup = { count: 3, visitors: 3, plans: ['pro 2', 'free 1'] }
    const live = await until('the signups', (json) => signupOf(json)?.count === 3)
    if (JSON.stringify(goalsOf(live)) !== JSON.stringify(expectedGoals(live)))
      h.fail(
        `live trackingGoals ${JSON.stringify(goalsOf(live))}, expected ${JSON.stringify(expectedGoals(live))}`
      )
    if (JSON.stringify(signupOf(live)) !== JSON.stringify(expectedSignup))
      h.fail(`live trackingEvents signup ${JSON.stringify(signupOf(live))}`)
    if (JSON.stringify(funnelOf(live)) !== JSON.stringify(EXPECTED_FUNNEL))
      h.fail(`live trackingFunnels Purchase ${JSON.stringify(funnelOf(live))}`)
    h.ok(
      `live (before a flush), the JSON: trackingGoals ${JSON.stringify(goalsOf(live))} ([visitors, completions, conversion rate %] of ${live.trackingUniqueVisitors.value} unique visitors), trackingEvents signup 3 events, 3 visitors, plan pro 2 / free 1, trackingFunnels Purchase: Pricing 5 -> Signup 3 visitors (drop-off 40 %)`
    )
    const liveFunnelsCsv = await readCsv('funnels')
    if (
      liveFunnelsCsv[0] !== 'funnel,step,goal,visitors,visits,drop_off,conversion_rate' ||
      !liveFunnelsCsv.includes('Purchase,1,Pricing,5,5,,100') ||
      !liveFunnelsCsv.includes('Purchase,2,Signup,3,3,40,60')
    )
      h.fail(`CSV dataset funnels:\n${liveFunnelsCsv.join('\n')}`)
    const liveGoalsCsv = await readCsv('goals')
    const liveEventsCsv = await readCsv('events')
    const signupRows = liveEventsCsv.filter((line) => line.startsWith('signup,'))
    if (
      liveGoalsCsv[0] !== 'goal,kind,target,visitors,completions,conversion_rate' ||
      !liveGoalsCsv.includes(`Signup,event,signup,3,3,${expectedGoals(live).Signup[2]}`) ||
      !liveGoalsCsv.includes(`Pricing,path,/pricing,5,5,${expectedGoals(live).Pricing[2]}`) ||
      JSON.stringify(signupRows.slice(0, 3)) !==
        JSON.stringify([
          'signup,event,,,3,3',
          'signup,prop,plan,pro,2,',
          'signup,prop,plan,free,1,',
        ])
    )
      h.fail(`CSV datasets:\n${liveGoalsCsv.join('\n')}\n${liveEventsCsv.join('\n')}`)
    h.ok('export.csv?dataset=goals, ?dataset=events and ?dataset=funnels: the same figures, live')

    const html = await get('/cabinet/tracking?days=7')
    if (
      !html.includes('data-widget="trackingGoals"') ||
      !html.includes('data-widget="trackingEvents"') ||
      !html.includes('data-widget="trackingEventDetail"') ||
      !html.includes('data-widget="trackingFunnels"') ||
      !html.includes('event_tab=prop%3Aplan') ||
      /<script/i.test(html)
    )
      h.fail(
        'the analytics page has no Goals, Events, event props and Funnels panels (or a script)',
        html
      )
    h.ok(
      'the analytics page: Goals, Events and Funnels panels, the props of signup as tabs, no script'
    )

    await h.must(
      'node ace flush_page_views (server running)',
      'node',
      ['ace', 'flush_page_views'],
      {
        cwd: appDir,
      }
    )
    const flushed = await readJson()
    if (
      JSON.stringify(goalsOf(flushed)) !== JSON.stringify(goalsOf(live)) ||
      JSON.stringify(signupOf(flushed)) !== JSON.stringify(expectedSignup) ||
      JSON.stringify(funnelOf(flushed)) !== JSON.stringify(EXPECTED_FUNNEL) ||
      JSON.stringify(await readCsv('funnels')) !== JSON.stringify(liveFunnelsCsv) ||
      JSON.stringify(await readCsv('goals')) !== JSON.stringify(liveGoalsCsv) ||
      JSON.stringify(await readCsv('events')) !== JSON.stringify(liveEventsCsv)
    )
      h.fail(
        `after the flush: ${JSON.stringify(goalsOf(flushed))} ${JSON.stringify(signupOf(flushed))}`
      )
    const rows = h.query(
      `SELECT dimension, value, views FROM tracking_dimension_stats WHERE date LIKE '${today()}%' AND dimension IN ('event', 'goal', 'funnel')`
    )
    const views = (dimension: string, value: string) =>
      Number(rows.find((row) => row.dimension === dimension && row.value === value)?.views ?? 0)
    if (
      views('event', 'signup') !== 3 ||
      views('goal', '/pricing') !== 5 ||
      views('funnel', 'Purchase\u001f1\u001fPricing') !== 5 ||
      views('funnel', 'Purchase\u001f2\u001fSignup') !== 3
    )
      h.fail(`tracking_dimension_stats today: ${JSON.stringify(rows)}`)
    h.ok(
      'after node ace flush_page_views: the same JSON and CSV; SQL holds event signup 3, goal /pricing 5 and the funnel steps 5 and 3'
    )

    /* junk: a 10 KB name, 50 props, values of every type; props that are no object */
    const props: Record<string, unknown> = { nested: { a: 1 }, list: [1, 2], none: null, yes: true }
    for (let i = 0; i < 50; i++) props[`key-${i}`] = i % 2 ? 'v'.repeat(1000) : i
    const junk = [
      { name: 'n'.repeat(10_240), props },
      { name: 'junk-types', props: 'not an object' },
      { name: 12345, props: {} },
      { name: 'junk-ok', props: { seats: 3, trial: false } },
    ]
    for (const body of junk) {
      const response = await send('POST', '/junk-event', { 'x-visitor': 'e2e-events-junk' }, body)
      if (response.status !== 200)
        h.fail(`POST /junk-event answered ${response.status}`, `${response.body}\n${logs()}`)
    }
    await until('the junk events', (json) =>
      (json.trackingEvents?.items ?? []).some((item: any) => item.name === 'junk-ok')
    )
    await h.must(
      'node ace flush_page_views (after the junk)',
      'node',
      ['ace', 'flush_page_views'],
      {
        cwd: appDir,
      }
    )
    const stored = h.query(
      `SELECT dimension, value FROM tracking_dimension_stats WHERE date LIKE '${today()}%' AND dimension IN ('event', 'event_prop', 'event_page')`
    )
    const longest = Math.max(...stored.map((row) => String(row.value).length))
    const names = stored.filter((row) => row.dimension === 'event').map((row) => String(row.value))
    const longName = 'n'.repeat(120)
    const propsOfLong = stored.filter(
      (row) => row.dimension === 'event_prop' && String(row.value).startsWith(`${longName}\u001f`)
    )
    if (
      longest > 322 ||
      !names.includes(longName) ||
      names.some((name) => name.length > 120) ||
      !names.includes('junk-ok') ||
      names.includes('junk-types') ||
      propsOfLong.length !== 10
    )
      h.fail(
        `junk stored: ${JSON.stringify(stored.map((row) => [row.dimension, String(row.value).slice(0, 60), String(row.value).length]))}`
      )
    h.ok(
      `junk events (a 10 KB name, 50 props, objects, arrays, null, props that are no object, a number as name): 200 each; stored: the name cut to 120, its first 10 props, the longest value ${longest} characters; refused ones not stored`
    )
  } finally {
    exitCode = await h.stopServer(server)
  }
  if (exitCode !== 0) h.fail(`the server exited with ${exitCode} on SIGTERM`, logs())
  if (/"level":\s*(50|60)/.test(logs())) h.fail('the server logged an error', logs())
  if (!logs().includes('[tracking] ')) h.fail('the junk events were not logged', logs())
  h.ok('the server stops cleanly; the bad events were logged as warnings, no error')
}
