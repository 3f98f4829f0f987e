/*
|--------------------------------------------------------------------------
| Events and goals without Redis or SQL
|--------------------------------------------------------------------------
|
| The goals config (validated at boot, E_TRACKING_INVALID_CONFIG naming the
| key), the path patterns, and what tracking.event() / recordEvent() hand
| to the write buffer: the limits, the stringified values, the request's
| eligibility and visitor. Counted through the memory store.
|
*/

import { test } from '@japa/runner'
import * as errors from '../../src/errors.ts'
import { resolveSettings } from '../../src/settings.ts'
import { TrackingManager } from '../../src/manager.ts'
import { MemoryStore } from '../../src/stores/memory_store.ts'
import { compileGoalPath, PathGoals } from '../../src/goals.ts'
import type { TrackingConfig } from '../../src/types.ts'
import {
  EVENT_PART_SEPARATOR,
  MAX_EVENT_NAME_LENGTH,
  MAX_EVENT_PROPS,
  MAX_PROP_LENGTH,
  splitEventProp,
} from '../../src/dimensions/names.ts'

const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0'
const BOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'
const NOW = Date.parse('2026-05-04T12:00:00Z')
const DAY = '2026-05-04'

function configError(config: TrackingConfig) {
  try {
    resolveSettings(config)
  } catch (error) {
    if (error instanceof errors.E_TRACKING_INVALID_CONFIG) return error
    throw error
  }
  throw new Error('expected E_TRACKING_INVALID_CONFIG, nothing was thrown')
}

/** A manager on the memory store whose buffer sends at once; `warnings` collects the log */
function trackingWith(config: TrackingConfig = {}) {
  const settings = resolveSettings({ store: 'memory', bufferMs: 0, ...config })
  const store = new MemoryStore({ ttlSeconds: 3600 })
  const warnings: string[] = []
  const logger = { warn: (message: string) => warnings.push(message) } as any
  const manager = new TrackingManager(settings, store, { now: () => NOW, logger })
  return { manager, store, warnings }
}

/** The part of an HttpContext the recorder reads */
function fakeCtx(
  options: {
    user?: number | null
    ua?: string
    ip?: string
    url?: string
    method?: string
    status?: number
    headers?: Record<string, string>
  } = {}
) {
  const headers: Record<string, string> = { 'user-agent': options.ua ?? UA, ...options.headers }
  return {
    request: {
      url: () => options.url ?? '/signup',
      method: () => options.method ?? 'POST',
      ip: () => options.ip ?? '203.0.113.7',
      header: (name: string) => headers[name],
      request: { headers, url: options.url ?? '/signup' },
    },
    response: { getStatus: () => options.status ?? 201 },
    auth:
      options.user === undefined ? undefined : { user: options.user ? { id: options.user } : null },
  } as any
}

/** The live counts of an event dimension today */
async function counts(
  store: MemoryStore,
  dimension: 'event' | 'event_prop' | 'event_page' | 'goal'
) {
  return Object.fromEntries(await store.getDimension(DAY, dimension))
}

test.group('Goals config', () => {
  test('event and path goals are kept in config order', ({ assert }) => {
    const settings = resolveSettings({
      goals: [
        { name: 'Signup', event: 'signup' },
        { name: 'Pricing', path: '/pricing' },
        { name: 'Docs', path: '/docs/*' },
      ],
    })
    assert.deepEqual(settings.goals, [
      { name: 'Signup', event: 'signup', path: null },
      { name: 'Pricing', event: null, path: '/pricing' },
      { name: 'Docs', event: null, path: '/docs/*' },
    ])
    assert.isTrue(Object.isFrozen(settings.goals))
    assert.deepEqual(resolveSettings({}).goals, [])
  })

  const mistakes: Array<{ title: string; goals: unknown; key: string }> = [
    { title: 'goals that are not an array', goals: { name: 'Signup' }, key: 'goals' },
    { title: 'a goal that is not an object', goals: ['signup'], key: 'goals[0]' },
    {
      title: 'a goal with both event and path',
      goals: [{ name: 'A', event: 'a', path: '/a' }],
      key: 'goals[0]',
    },
    { title: 'a goal with neither event nor path', goals: [{ name: 'A' }], key: 'goals[0]' },
    { title: 'a goal without a name', goals: [{ event: 'a' }], key: 'goals[0].name' },
    {
      title: 'a name of 101 characters',
      goals: [{ name: 'n'.repeat(101), event: 'a' }],
      key: 'goals[0].name',
    },
    {
      title: 'a duplicate name',
      goals: [
        { name: 'Signup', event: 'signup' },
        { name: 'Signup', path: '/signup' },
      ],
      key: 'goals[1].name',
    },
    {
      title: 'a path without a leading "/"',
      goals: [{ name: 'A', path: 'pricing' }],
      key: 'goals[0].path',
    },
    {
      title: 'a path with a query string',
      goals: [{ name: 'A', path: '/p?x=1' }],
      key: 'goals[0].path',
    },
    {
      title: 'a path of 301 characters',
      goals: [{ name: 'A', path: `/${'p'.repeat(300)}` }],
      key: 'goals[0].path',
    },
    { title: 'an empty event name', goals: [{ name: 'A', event: '' }], key: 'goals[0].event' },
    {
      title: 'an event name of 121 characters',
      goals: [{ name: 'A', event: 'e'.repeat(121) }],
      key: 'goals[0].event',
    },
    {
      title: 'an event name with surrounding spaces',
      goals: [{ name: 'A', event: ' signup ' }],
      key: 'goals[0].event',
    },
    {
      title: 'an unknown key in a goal',
      goals: [{ name: 'A', event: 'a', url: '/a' }],
      key: 'goals[0].url',
    },
    {
      title: '101 goals',
      goals: Array.from({ length: 101 }, (_, i) => ({ name: `G${i}`, event: `e${i}` })),
      key: 'goals',
    },
  ]
  for (const mistake of mistakes) {
    test(`${mistake.title}: E_TRACKING_INVALID_CONFIG naming "${mistake.key}"`, ({ assert }) => {
      const error = configError({ goals: mistake.goals as TrackingConfig['goals'] })
      assert.equal(error.code, 'E_TRACKING_INVALID_CONFIG')
      assert.include(error.message, `"${mistake.key}"`)
    })
  }

  test('the legacy cabinet section may declare goals too', ({ assert }) => {
    const settings = resolveSettings({}, { goals: [{ name: 'Signup', event: 'signup' }] })
    assert.deepEqual(settings.goals, [{ name: 'Signup', event: 'signup', path: null }])
  })
})

test.group('Goal paths', () => {
  test('"*" matches any run of characters, "/" included, or none', ({ assert }) => {
    const docs = compileGoalPath('/docs/*')
    assert.isTrue(docs.test('/docs/'))
    assert.isTrue(docs.test('/docs/intro'))
    assert.isTrue(docs.test('/docs/a/b/c'))
    assert.isFalse(docs.test('/docs'))
    assert.isFalse(docs.test('/documents'))
    assert.isFalse(docs.test('/en/docs/intro'))
    const exact = compileGoalPath('/pricing')
    assert.isTrue(exact.test('/pricing'))
    assert.isFalse(exact.test('/pricing/'))
    assert.isFalse(exact.test('/pricing/team'))
    const middle = compileGoalPath('/posts/*/comments')
    assert.isTrue(middle.test('/posts/1/comments'))
    assert.isTrue(middle.test('/posts/a/b/comments'))
    assert.isFalse(middle.test('/posts/1/comments/2'))
  })

  test('other characters match themselves: dots, brackets, plus signs', ({ assert }) => {
    const pattern = compileGoalPath('/file.(v1)+[x]$')
    assert.isTrue(pattern.test('/file.(v1)+[x]$'))
    assert.isFalse(pattern.test('/fileX(v1)+[x]$'))
  })

  test('a view carries one goal key per matching pattern; lists stay shared', ({ assert }) => {
    const goals = new PathGoals(
      resolveSettings({
        goals: [
          { name: 'Docs', path: '/docs/*' },
          { name: 'Intro', path: '/docs/intro' },
          { name: 'Docs again', path: '/docs/*' },
          { name: 'Signup', event: 'signup' },
        ],
      }).goals
    )
    assert.deepEqual(goals.keysOf('/docs/intro'), ['goal:/docs/*', 'goal:/docs/intro'])
    assert.deepEqual(goals.keysOf('/about'), [])
    const view = Object.freeze(['source:github.com'])
    const first = goals.withGoals('/docs/intro', view)
    assert.deepEqual(first, ['source:github.com', 'goal:/docs/*', 'goal:/docs/intro'])
    assert.strictEqual(goals.withGoals('/docs/intro', view), first)
    assert.strictEqual(goals.withGoals('/about', view), view)
    assert.deepEqual(goals.withGoals('/docs/x', null), ['goal:/docs/*'])
  })
})

test.group('Goal paths | through the recorder', () => {
  test('every path under a wildcard shares one key list: one buffer entry, not one per path', async ({
    assert,
  }) => {
    const { manager, store } = trackingWith({
      bufferMs: 60_000,
      goals: [
        { name: 'Docs', path: '/docs/*' },
        { name: 'Pricing', path: '/pricing' },
      ],
    })
    for (let i = 0; i < 500; i++) {
      assert.isTrue(
        manager.recorder.record(
          fakeCtx({ user: 1, url: `/docs/page-${i}`, method: 'GET', status: 200 })
        )
      )
    }
    /*
     * 500 paths, the day's visitor, the minute's visitor, one list and one
     * (visitor, list), and the visit segment with its 500 (visitor, path)
     * pairs: a list per path would add 500 more
     */
    assert.equal(manager.buffer.size, 1005)
    manager.recorder.record(fakeCtx({ user: 1, url: '/pricing', method: 'GET', status: 200 }))
    await manager.drain()
    assert.deepEqual(await counts(store, 'goal'), { '/docs/*': 500, '/pricing': 1 })
    await manager.shutdown()
  })
})

test.group('tracking.recordEvent()', () => {
  test('counts the event, its props (numbers and booleans as text) and its page', async ({
    assert,
  }) => {
    const { manager, store } = trackingWith()
    assert.isTrue(
      manager.recordEvent({
        name: 'signup',
        visitor: 7,
        path: '/pricing?ref=x',
        props: { plan: 'pro', seats: 3, trial: false },
      })
    )
    assert.isTrue(manager.recordEvent({ name: 'signup', visitor: '8', props: { plan: 'free' } }))
    await manager.drain()
    const s = EVENT_PART_SEPARATOR
    assert.deepEqual(await counts(store, 'event'), { signup: 2 })
    assert.deepEqual(await counts(store, 'event_prop'), {
      [`signup${s}plan${s}pro`]: 1,
      [`signup${s}plan${s}free`]: 1,
      [`signup${s}seats${s}3`]: 1,
      [`signup${s}trial${s}false`]: 1,
    })
    assert.deepEqual(await counts(store, 'event_page'), { [`signup${s}/pricing`]: 1 })
    /* no page view: the day's paths are untouched; the visitors count */
    assert.deepEqual(Object.fromEntries(await store.getDaily(DAY)), {})
    assert.equal(await store.getUniqueCount(DAY), 2)
    await manager.shutdown()
  })

  test('junk is cut to the limits and logged once: 50 props, a 10 KB name, objects and NaN', async ({
    assert,
  }) => {
    const { manager, store, warnings } = trackingWith()
    const props: Record<string, unknown> = {}
    for (let i = 0; i < 50; i++) props[`key-${i}-${'k'.repeat(200)}`] = 'v'.repeat(300)
    manager.recordEvent({ name: 'n'.repeat(10_000), props })
    manager.recordEvent({
      name: 'mixed',
      props: { a: { nested: true }, b: [1], c: null, d: Number.NaN, e: () => 1, f: 10n, ok: 1.5 },
    })
    await manager.drain()
    const names = Object.keys(await counts(store, 'event'))
    assert.sameMembers(names, ['n'.repeat(MAX_EVENT_NAME_LENGTH), 'mixed'])
    const stored = Object.keys(await counts(store, 'event_prop')).map((value) =>
      splitEventProp(value)!
    )
    const ofLong = stored.filter(([name]) => name.length === MAX_EVENT_NAME_LENGTH)
    assert.lengthOf(ofLong, MAX_EVENT_PROPS)
    for (const [, key, value] of ofLong) {
      assert.lengthOf(key, MAX_PROP_LENGTH)
      assert.lengthOf(value, MAX_PROP_LENGTH)
    }
    assert.deepEqual(
      stored.filter(([name]) => name === 'mixed'),
      [['mixed', 'ok', '1.5']]
    )
    assert.lengthOf(warnings, 1)
    assert.include(warnings[0], 'cut to 120')
    assert.include(warnings[0], '40 props beyond the first 10 dropped')
    await manager.shutdown()
  })

  test('refuses a missing name and input of the wrong type with a TypeError', ({ assert }) => {
    const { manager } = trackingWith()
    assert.throws(() => manager.recordEvent({ name: '' }), TypeError, /empty/)
    assert.throws(() => manager.recordEvent({ name: '  \u0000 ' }), TypeError, /empty/)
    assert.throws(() => manager.recordEvent({ name: 42 as any }), TypeError, /must be a string/)
    assert.throws(() => manager.recordEvent({ name: 'a', props: 'x' as any }), TypeError, /object/)
    assert.throws(() => manager.recordEvent({ name: 'a', props: [1] as any }), TypeError, /object/)
    assert.throws(
      () => manager.recordEvent({ name: 'a', visitor: {} as any }),
      TypeError,
      /visitor/
    )
    assert.throws(() => manager.recordEvent(null as any), TypeError)
  })

  test('nothing is counted when tracking is disabled', async ({ assert }) => {
    const { manager, store } = trackingWith({ enabled: false })
    assert.isFalse(manager.recordEvent({ name: 'signup' }))
    await manager.drain()
    assert.deepEqual(await counts(store, 'event'), {})
  })
})

test.group('tracking.event(ctx)', () => {
  test("counts for the request's user on any method and status, with the request path", async ({
    assert,
  }) => {
    const { manager, store } = trackingWith()
    assert.isTrue(manager.event(fakeCtx({ user: 1 }), 'signup', { plan: 'pro' }))
    assert.isTrue(manager.event(fakeCtx({ user: 2, status: 500 }), 'signup', { plan: 'pro' }))
    await manager.drain()
    assert.deepEqual(await counts(store, 'event'), { signup: 2 })
    assert.deepEqual(await counts(store, 'event_page'), {
      [`signup${EVENT_PART_SEPARATOR}/signup`]: 2,
    })
    assert.equal(await store.getUniqueCount(DAY), 2)
  })

  test('bots, guests without trackAnonymous, exclude() and DNT are not counted', async ({
    assert,
  }) => {
    const { manager, store } = trackingWith({
      honorDoNotTrack: true,
      exclude: (ctx) => ctx.request.header('x-team') === '1',
    })
    assert.isFalse(manager.event(fakeCtx({ user: 1, ua: BOT }), 'signup'))
    assert.isFalse(manager.event(fakeCtx({ user: null }), 'signup'))
    assert.isFalse(manager.event(fakeCtx({ user: 1, headers: { 'x-team': '1' } }), 'signup'))
    assert.isFalse(manager.event(fakeCtx({ user: 1, headers: { dnt: '1' } }), 'signup'))
    assert.isTrue(manager.event(fakeCtx({ user: 1 }), 'signup'))
    await manager.drain()
    assert.deepEqual(await counts(store, 'event'), { signup: 1 })
  })

  test('guests are counted with trackAnonymous, as one visitor per ip and user agent', async ({
    assert,
  }) => {
    const { manager, store } = trackingWith({ trackAnonymous: true })
    manager.event(fakeCtx({ ip: '198.51.100.1' }), 'download')
    manager.event(fakeCtx({ ip: '198.51.100.1' }), 'download')
    manager.event(fakeCtx({ ip: '198.51.100.2' }), 'download')
    await manager.drain()
    assert.deepEqual(await counts(store, 'event'), { download: 3 })
    assert.equal(await store.getUniqueCount(DAY), 2)
  })

  test('never throws at the request: bad input is refused and logged once a minute', async ({
    assert,
  }) => {
    const { manager, store, warnings } = trackingWith()
    const ctx = fakeCtx({ user: 1 })
    assert.isFalse(manager.event(ctx, undefined as any))
    assert.isFalse(manager.event(ctx, 'x', 'junk' as any))
    assert.isFalse(manager.event({} as any, 'signup'))
    assert.isTrue(manager.event(ctx, 'n'.repeat(10_000), { a: { b: 1 } } as any))
    await manager.drain()
    assert.lengthOf(warnings, 1)
    assert.include(warnings[0], 'the event name must be a string')
    assert.deepEqual(Object.keys(await counts(store, 'event')), ['n'.repeat(MAX_EVENT_NAME_LENGTH)])
  })

  test('the same event twice is one cached key list, counted by identity', async ({ assert }) => {
    const { manager, store } = trackingWith({ bufferMs: 60_000 })
    const ctx = fakeCtx({ user: 1 })
    for (let i = 0; i < 100; i++) manager.event(ctx, 'signup', { plan: 'pro', seats: 2 })
    /* one list and one (visitor, list): two entries, plus the day's visitor */
    assert.equal(manager.buffer.size, 3)
    await manager.drain()
    assert.deepEqual(await counts(store, 'event'), { signup: 100 })
  })
})
