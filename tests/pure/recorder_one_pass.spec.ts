import { test } from '@japa/runner'
import { MAX_PATH_LENGTH, normalizePath, TrackingRecorder } from '../../src/recorder.ts'
import { resolveSettings } from '../../src/settings.ts'
import { WriteBuffer } from '../../src/write_buffer.ts'
import { MemoryStore } from '../../src/stores/memory_store.ts'
import type { TrackingConfig } from '../../src/types.ts'

/*
 * record() runs the rules of isEligible() and the steps of describe() in one
 * pass (#13 item 15): these tests hold the two to the same answers.
 */

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0'

function setup(config: TrackingConfig, now?: () => number) {
  const settings = resolveSettings(config)
  const store = new MemoryStore({ ttlSeconds: 3600 })
  const buffer = new WriteBuffer(store, { bufferMs: 60_000, maxEntries: 1_000_000 })
  return { recorder: new TrackingRecorder(settings, buffer, { now }), store, buffer }
}

interface FakeRequest {
  url: string
  ip?: string
  ua?: string | null
  user?: { id: unknown } | null
  route?: string
  headers?: Record<string, string>
}

function ctxOf(options: FakeRequest) {
  const headers: Record<string, string> = { ...options.headers }
  if (options.ua !== null) headers['user-agent'] = options.ua ?? BROWSER
  return {
    request: {
      url: () => options.url,
      method: () => 'GET',
      ip: () => options.ip ?? '203.0.113.7',
      header: (name: string) => headers[name],
      request: { headers, url: options.url },
    },
    response: { getStatus: () => 200 },
    route: options.route ? { pattern: options.route } : undefined,
    auth: options.user === undefined ? undefined : { user: options.user },
  } as any
}

const requests: FakeRequest[] = [
  { url: '/posts/1' },
  { url: '/posts/1?utm=x#top' },
  { url: '/about/' },
  { url: '/about//' },
  { url: '' },
  { url: 'no-slash' },
  { url: '/café' },
  { url: '/a b~' },
  { url: '/' + 'x'.repeat(MAX_PATH_LENGTH - 1) },
  { url: '/' + 'x'.repeat(MAX_PATH_LENGTH) },
  { url: '/admin/x' },
  { url: '/adm' },
  { url: '/assets/app.js' },
  { url: '/x?/assets/' },
  { url: '/posts/2', user: { id: 7 } },
  { url: '/posts/3', user: { id: null } },
  { url: '/posts/4', ua: null },
  { url: '/posts/5', ua: '' },
  { url: '/posts/6', ua: 'Googlebot/2.1 (+http://www.google.com/bot.html)' },
  { url: '/posts/7', headers: { 'sec-purpose': 'prefetch' } },
  { url: '/posts/8', headers: { 'x-moz': 'prefetch' } },
  { url: '/posts/9', route: '/posts/:id' },
]

const configs: Record<string, TrackingConfig> = {
  'defaults': {},
  'guests tracked': { trackAnonymous: true },
  'bots kept, strip, skip /admin': {
    trackAnonymous: true,
    ignoreBots: false,
    trailingSlash: 'strip',
    skipPrefixes: ['/admin/', '/a', '/ä/'],
  },
  'by route': { trackAnonymous: true, groupBy: 'route' },
  'visitorId hook': { visitorId: (ctx) => ctx.request.header('user-agent')?.slice(0, 7) },
}

test.group('record() in one pass', () => {
  test('{$self}: record() counts what isEligible() and describe() say')
    .with(Object.keys(configs))
    .run(async ({ assert }, name) => {
      const { recorder, store, buffer } = setup(configs[name])
      const expected = new Map<string, number>()
      const visitors = new Set<string>()
      for (const request of requests) {
        const ctx = ctxOf(request)
        const hit = recorder.describe(ctx)
        const counted =
          recorder.isEligible(ctx) && (hit.path === request.url || !recorder.isSkipped(hit.path))
        assert.equal(recorder.record(ctx), counted, `${name}: ${request.url}`)
        if (!counted) continue
        expected.set(hit.path, (expected.get(hit.path) ?? 0) + 1)
        if (hit.visitor || hit.anonymous) visitors.add(`${hit.visitor}|${hit.anonymous}`)
      }
      await buffer.drain()
      const day = recorder.dayOf(Date.now())
      assert.deepEqual(
        [...(await store.getDaily(day))].sort(),
        [...expected].sort(),
        `${name}: stored views`
      )
      assert.equal(await store.getUniqueCount(day), visitors.size, `${name}: visitors`)
    })

  test('skipped prefixes match as startsWith does, whatever their second character', ({
    assert,
  }) => {
    const prefixes = ['/', '/admin/', '/a', '/ä/', '/😀', '/.well-known/']
    const { recorder } = setup({ skipPrefixes: prefixes })
    const only = setup({ skipPrefixes: prefixes.slice(1) }).recorder
    const paths = [
      '',
      '/',
      '/admin',
      '/admin/',
      '/about',
      '/ä/x',
      '/äx',
      '/😀',
      '/😁',
      '/.well-known/x',
    ]
    for (const path of paths) {
      assert.equal(recorder.isSkipped(path), path.startsWith('/'), path)
      const expected = prefixes.slice(1).some((prefix) => path.startsWith(prefix))
      assert.equal(only.isSkipped(path), expected, path)
    }
  })

  test('past the cache bounds every guest is still told apart, and bots still seen', async ({
    assert,
  }) => {
    /* dimensions off: the entries counted below are the paths and the visitors alone */
    const { recorder, store, buffer } = setup({ trackAnonymous: true, dimensions: false }, () =>
      Date.UTC(2026, 0, 5, 12)
    )
    /* 5,000 ip addresses with one agent, then 2,500 agents from one address, twice over */
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 5000; i++) {
        assert.isTrue(recorder.record(ctxOf({ url: '/', ip: `10.0.${i >> 8}.${i & 255}` })))
      }
      for (let i = 0; i < 2500; i++) {
        assert.isTrue(recorder.record(ctxOf({ url: '/', ua: `${BROWSER} build/${i}` })))
        assert.isFalse(recorder.record(ctxOf({ url: '/', ua: `Googlebot/${i}` })))
      }
    }
    /*
     * distinct entries: the path, then 7,500 guests of the day and 7,500 of
     * the minute, and each guest's visit segment with its one path
     */
    assert.equal(buffer.size, 1 + 7500 + 7500 + 2 * 7500)
    await buffer.drain()
    assert.equal(await store.getDayTotal('2026-01-05'), 15_000)
  })

  test('normalizePath hands a plain path back as is and still cleans the rest', ({ assert }) => {
    const plain = '/' + 'a'.repeat(MAX_PATH_LENGTH - 1)
    assert.strictEqual(normalizePath(plain), plain)
    assert.lengthOf(normalizePath(plain + 'b'), MAX_PATH_LENGTH)
    assert.equal(normalizePath('/a b~!$&()*+,;=:@'), '/a b~!$&()*+,;=:@')
    assert.equal(normalizePath('/a?b'), '/a')
    assert.equal(normalizePath('/a#b'), '/a')
    assert.equal(normalizePath('/a\x7fb\x1fc'), '/abc')
    assert.equal(normalizePath('a'), '/a')
  })
})
