import { test } from '@japa/runner'
import {
  decodeRequestTarget,
  normalizePath,
  MAX_PATH_LENGTH,
  stripTrailingSlash,
  TrackingRecorder,
} from '../../src/recorder.ts'
import { resolveSettings } from '../../src/settings.ts'
import { WriteBuffer } from '../../src/write_buffer.ts'
import { MemoryStore } from '../../src/stores/memory_store.ts'

function recorderWith(config: Parameters<typeof resolveSettings>[0], now?: () => number) {
  const settings = resolveSettings(config)
  const store = new MemoryStore({ ttlSeconds: 3600 })
  const buffer = new WriteBuffer(store, { bufferMs: 0, maxEntries: 100 })
  return { recorder: new TrackingRecorder(settings, buffer, { now }), store, buffer }
}

/** The part of an HttpContext the recorder reads */
function fakeCtx(options: {
  url?: string
  /** the target as Node's parser handed it over (default: the url) */
  rawUrl?: string
  user?: { id: number } | null
  ip?: string
  ua?: string
  /** the socket's address and X-Forwarded-For, when the test needs them */
  socket?: string
  forwardedFor?: string
}) {
  const headers: Record<string, string> = {
    'user-agent': options.ua ?? 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
  }
  if (options.forwardedFor) headers['x-forwarded-for'] = options.forwardedFor
  return {
    request: {
      url: () => options.url ?? '/',
      method: () => 'GET',
      ip: () => options.ip ?? '203.0.113.7',
      header: (name: string) => (headers as Record<string, string>)[name],
      request: {
        headers,
        url: options.rawUrl ?? options.url ?? '/',
        socket: options.socket ? { remoteAddress: options.socket } : undefined,
      },
    },
    response: { getStatus: () => 200 },
    auth: options.user === undefined ? undefined : { user: options.user },
  } as any
}

test.group('normalizePath', () => {
  test('empty becomes "/" and the query string and fragment are dropped', ({ assert }) => {
    assert.equal(normalizePath(''), '/')
    assert.equal(normalizePath(undefined), '/')
    assert.equal(normalizePath('?a=1'), '/')
    assert.equal(normalizePath('/posts/1?utm_source=x#top'), '/posts/1')
  })

  test('a 3,000 character path is cut to 500 characters', ({ assert }) => {
    const path = normalizePath('/' + 'a'.repeat(2999))
    assert.lengthOf(path, MAX_PATH_LENGTH)
    assert.isTrue(path.startsWith('/aaa'))
  })

  test('cutting never splits a character or a percent escape', ({ assert }) => {
    const emoji = normalizePath('/' + '😀'.repeat(600))
    assert.equal(Array.from(emoji).length, MAX_PATH_LENGTH)
    assert.isTrue(emoji.isWellFormed())
    const escaped = normalizePath('/' + 'a'.repeat(497) + '%C3%A9')
    assert.notMatch(escaped, /%[0-9A-F]?$/)
    assert.isAtMost(escaped.length, MAX_PATH_LENGTH)
  })

  test('a cut never leaves half of an escaped UTF-8 character', ({ assert }) => {
    const emoji = encodeURIComponent('😀')
    const cut = normalizePath(`/aaaa${emoji.repeat(100)}`)
    assert.equal(cut, `/aaaa${emoji.repeat(41)}`)
    assert.equal(decodeURIComponent(cut), `/aaaa${'😀'.repeat(41)}`)
    const e = encodeURIComponent('é')
    assert.equal(normalizePath(`/${'a'.repeat(494)}${e}${e}`), `/${'a'.repeat(494)}`)
    assert.equal(normalizePath(`/${'a'.repeat(492)}${e}${e}`), `/${'a'.repeat(492)}${e}`)
    /* escapes that are not UTF-8 lead bytes are left as they are */
    assert.equal(normalizePath(`/${'a'.repeat(496)}%2F%2Fzz`), `/${'a'.repeat(496)}%2F`)
  })

  test('raw bytes become valid UTF-8 without control characters', ({ assert }) => {
    const latin1 = Buffer.from('/café', 'utf8').toString('latin1')
    assert.equal(normalizePath(decodeRequestTarget(latin1)), '/café')
    assert.equal(normalizePath('/café'), '/café')
    const invalid = normalizePath(decodeRequestTarget('/\xff\xfe/x'))
    assert.equal(invalid, '/\ufffd\ufffd/x')
    assert.equal(normalizePath('/a\u0000b\r\nc\u00e9'), '/abc\u00e9')
    // eslint-disable-next-line no-control-regex -- asserting control characters are gone
    assert.notMatch(normalizePath('/a\u0000b\r\nc\u00e9'), /[\x00-\x1f]/)
    assert.isTrue(normalizePath('/\ud800x').isWellFormed())
  })
})

test.group('normalizePath | bidirectional controls and trailing slashes', () => {
  test('bidirectional controls are removed: {name}')
    .with([
      {
        name: 'overrides and embeddings',
        raw: '/\u202Eexe.gpj\u202C/\u202A\u202B\u202Dx',
        path: '/exe.gpj/x',
      },
      { name: 'isolates', raw: '/\u2066a\u2067b\u2068c\u2069', path: '/abc' },
      { name: 'marks', raw: '/\u200Ea\u200Fb\u061Cc', path: '/abc' },
      { name: 'only controls', raw: '\u202E', path: '/' },
    ])
    .run(({ assert }, { raw, path }) => {
      assert.equal(normalizePath(raw), path)
      /* the same bytes as they arrive on the wire */
      assert.equal(normalizePath(decodeRequestTarget(Buffer.from(raw).toString('latin1'))), path)
    })

  test('other right-to-left text and percent escapes stay as they are', ({ assert }) => {
    assert.equal(
      normalizePath('/\u05E9\u05DC\u05D5\u05DD/\u0645\u0631\u062D\u0628\u0627'),
      '/\u05E9\u05DC\u05D5\u05DD/\u0645\u0631\u062D\u0628\u0627'
    )
    assert.equal(normalizePath('/%E2%80%AEx'), '/%E2%80%AEx')
  })

  test('a path AdonisJS decoded is kept; raw bytes of a lenient parser are read as UTF-8', ({
    assert,
  }) => {
    const { recorder } = recorderWith({})
    const decoded = fakeCtx({ url: '/caf\u00e9', rawUrl: '/caf%C3%A9', user: { id: 1 } })
    assert.equal(recorder.describe(decoded).path, '/caf\u00e9')
    const latin1 = Buffer.from('/caf\u00e9', 'utf8').toString('latin1')
    const raw = fakeCtx({ url: latin1, rawUrl: latin1, user: { id: 1 } })
    assert.equal(recorder.describe(raw).path, '/caf\u00e9')
  })

  test('stripTrailingSlash drops trailing slashes, never the root', ({ assert }) => {
    assert.equal(stripTrailingSlash('/about/'), '/about')
    assert.equal(stripTrailingSlash('/about//'), '/about')
    assert.equal(stripTrailingSlash('/a/b/'), '/a/b')
    assert.equal(stripTrailingSlash('/about'), '/about')
    assert.equal(stripTrailingSlash('/'), '/')
    assert.equal(stripTrailingSlash('//'), '/')
  })

  test('trailingSlash {trailingSlash}: /about/ and /about are {rows}')
    .with([
      {
        trailingSlash: 'keep' as const,
        rows: 'two pages',
        views: [
          ['/', 1],
          ['/about', 1],
          ['/about/', 2],
        ],
      },
      {
        trailingSlash: 'strip' as const,
        rows: 'one page',
        views: [
          ['/', 1],
          ['/about', 3],
        ],
      },
    ])
    .run(async ({ assert }, { trailingSlash, views }) => {
      const { recorder, store, buffer } = recorderWith({ trailingSlash })
      assert.isTrue(recorder.record(fakeCtx({ url: '/about/?ref=x', user: { id: 1 } })))
      assert.isTrue(recorder.record(fakeCtx({ url: '/about', user: { id: 1 } })))
      recorder.recordView({ path: '/about/' })
      recorder.recordView({ path: '/' })
      await buffer.drain()
      const day = recorder.dayOf(Date.now())
      const stored = [...(await store.getDaily(day))].sort(([a], [b]) => (a < b ? -1 : 1))
      assert.deepEqual(stored, views)
    })
})

test.group('TrackingRecorder', () => {
  test('23:30 UTC lands on the next day when the timezone is UTC+2', ({ assert }) => {
    const at = Date.UTC(2026, 2, 10, 23, 30)
    const { recorder } = recorderWith({ timezone: 'UTC+2' }, () => at)
    assert.equal(recorder.dayOf(at), '2026-03-11')
    const utc = recorderWith({ timezone: 'UTC' }, () => at).recorder
    assert.equal(utc.dayOf(at), '2026-03-10')
    assert.equal(utc.dayOf(at + 31 * 60_000), '2026-03-11')
  })

  test('seed parity: "/" for an empty path, user id as a string, no visitor for untracked anonymous', async ({
    assert,
  }) => {
    const { recorder, store, buffer } = recorderWith({})
    const hit = recorder.describe(fakeCtx({ url: '', user: { id: 42 } }))
    assert.equal(hit.path, '/')
    assert.strictEqual(hit.visitor, '42')
    const anonymous = recorder.describe(fakeCtx({ url: '/a', user: null }))
    assert.isNull(anonymous.visitor)
    assert.isNull(anonymous.anonymous)
    assert.isFalse(recorder.isEligible(fakeCtx({ url: '/a', user: null })))

    /* what reaches the store: the view under "/", one visitor whether the id is 42 or "42" */
    assert.isTrue(recorder.record(fakeCtx({ url: '', user: { id: 42 } })))
    assert.isTrue(recorder.record(fakeCtx({ url: '?page=2', user: { id: '42' as any } })))
    assert.isFalse(recorder.record(fakeCtx({ url: '/a', user: null })))
    recorder.recordView({ path: '' })
    await buffer.drain()
    const day = recorder.dayOf(Date.now())
    assert.deepEqual([...(await store.getDaily(day))], [['/', 3]])
    assert.equal(await store.getUniqueCount(day), 1)
  })

  test('anonymous visitors are hashed, never kept as ip or user agent', async ({ assert }) => {
    const { recorder, store, buffer } = recorderWith({ trackAnonymous: true })
    const ctx = fakeCtx({
      url: '/a',
      ip: '198.51.100.23',
      ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/131.0',
    })
    const hit = recorder.describe(ctx)
    assert.isNull(hit.visitor)
    assert.isString(hit.anonymous)
    assert.notInclude(hit.anonymous!, '198.51.100.23')
    assert.isTrue(recorder.record(ctx))
    assert.isTrue(
      recorder.record(
        fakeCtx({
          url: '/b',
          ip: '198.51.100.23',
          ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/131.0',
        })
      )
    )
    assert.isTrue(
      recorder.record(
        fakeCtx({
          url: '/b',
          ip: '198.51.100.24',
          ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/131.0',
        })
      )
    )
    await buffer.drain()
    const day = recorder.dayOf(Date.now())
    assert.equal(await store.getDayTotal(day), 3)
    assert.equal(await store.getUniqueCount(day), 2)
  })

  test('guests are told apart by request.ip(): behind a proxy and direct', async ({ assert }) => {
    const { recorder, store, buffer } = recorderWith({ trackAnonymous: true })
    const visits = [
      /* one proxy connection, two clients: request.ip() reads X-Forwarded-For */
      { socket: '127.0.0.1', forwardedFor: '198.51.100.1', ip: '198.51.100.1' },
      { socket: '127.0.0.1', forwardedFor: '198.51.100.2', ip: '198.51.100.2' },
      /* direct clients: request.ip() is the socket's address */
      { socket: '192.0.2.1', ip: '192.0.2.1' },
      { socket: '192.0.2.2', ip: '192.0.2.2' },
      { socket: '192.0.2.1', ip: '192.0.2.1' },
    ]
    for (const visit of visits) assert.isTrue(recorder.record(fakeCtx({ url: '/a', ...visit })))
    await buffer.drain()
    const day = recorder.dayOf(Date.now())
    assert.equal(await store.getDayTotal(day), 5)
    assert.equal(await store.getUniqueCount(day), 4)
  })

  test('the visitorId hook replaces the built-in identity', ({ assert }) => {
    const { recorder } = recorderWith({ visitorId: (ctx) => `team-${ctx.request.ip()}` })
    const ctx = fakeCtx({ url: '/a', user: null, ip: '10.1.1.1' })
    assert.equal(recorder.describe(ctx).visitor, 'team-10.1.1.1')
    assert.isTrue(recorder.isEligible(ctx))
  })

  test('the bot verdict comes from the isbot list and prefetches are ignored', ({ assert }) => {
    const { recorder } = recorderWith({ trackAnonymous: true })
    assert.isTrue(
      recorder.isBot('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)')
    )
    assert.isTrue(recorder.isBot(''))
    assert.isFalse(recorder.isBot('Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0'))
    const ctx = fakeCtx({ url: '/a' })
    /* control: the same request without the header is eligible */
    assert.isTrue(recorder.isEligible(ctx))
    ctx.request.request.headers['sec-purpose'] = 'prefetch;prerender'
    assert.isFalse(recorder.isEligible(ctx))
  })
})

/**
 * Zones whose clocks skip or repeat midnight, with the 2025 days around
 * their changes: `skipped` has no 00:00 (clocks go from 23:59 to 01:00),
 * `repeated` ends with its 23:00 hour twice
 */
const MIDNIGHT_DST_ZONES = [
  {
    zone: 'America/Santiago',
    skipped: '2025-09-07',
    repeated: '2025-04-05',
    /* 00:05 on the day after the skipped midnight (the reported request) */
    dayAfter: { at: '2025-09-08T03:05:00Z', day: '2025-09-08' },
  },
  {
    zone: 'America/Havana',
    skipped: '2025-03-09',
    repeated: '2025-11-01',
    dayAfter: { at: '2025-03-10T04:05:00Z', day: '2025-03-10' },
  },
  {
    zone: 'Asia/Beirut',
    skipped: '2025-03-30',
    repeated: '2025-10-25',
    dayAfter: { at: '2025-03-30T21:05:00Z', day: '2025-03-31' },
  },
  {
    zone: 'Africa/Cairo',
    skipped: '2025-04-25',
    repeated: '2025-10-30',
    dayAfter: { at: '2025-04-25T21:05:00Z', day: '2025-04-26' },
  },
]

/** The calendar day (YYYY-MM-DD) of instants in a zone, as Intl (ICU) sees it */
function intlDays(zone: string): (epochMs: number) => string {
  const format = new Intl.DateTimeFormat('en-CA', { timeZone: zone })
  return (epochMs) => format.format(epochMs)
}

test.group('TrackingRecorder | days across DST changes at midnight', () => {
  test('{zone}: a request at {dayAfter.at} is counted on {dayAfter.day}')
    .with(MIDNIGHT_DST_ZONES)
    .run(async ({ assert }, { zone, skipped, dayAfter }) => {
      /* the recorder saw the skipped day first, as a running app does */
      let now = Date.parse(`${skipped}T12:00:00Z`)
      const { recorder, store, buffer } = recorderWith({ timezone: zone }, () => now)
      recorder.recordView({ path: '/noon' })
      now = Date.parse(dayAfter.at)
      recorder.recordView({ path: '/after-midnight' })
      await buffer.drain()
      assert.deepEqual([...(await store.getDaily(skipped))], [['/noon', 1]])
      assert.deepEqual([...(await store.getDaily(dayAfter.day))], [['/after-midnight', 1]])
    })

  test('{zone}: every 5 minutes for 3 days around each change lands on its local day')
    .with(MIDNIGHT_DST_ZONES)
    .run(({ assert }, { zone, skipped, repeated }) => {
      const { recorder } = recorderWith({ timezone: zone })
      const intlDay = intlDays(zone)
      for (const day of [skipped, repeated]) {
        const start = Date.parse(`${day}T00:00:00Z`) - 24 * 3600_000
        const wrong: string[] = []
        const seen = new Set<string>()
        for (let at = start; at < start + 3 * 24 * 3600_000; at += 5 * 60_000) {
          const got = recorder.dayOf(at)
          seen.add(got)
          if (got !== intlDay(at)) wrong.push(`${new Date(at).toISOString()}: ${got}`)
        }
        assert.deepEqual(wrong, [])
        assert.include([...seen], day)
      }
    })
})
