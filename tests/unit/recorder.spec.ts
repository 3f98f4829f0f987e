import { test } from '@japa/runner'
import {
  decodeRequestTarget,
  normalizePath,
  MAX_PATH_LENGTH,
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
      header: (name: string) => headers[name],
      request: { headers, socket: options.socket ? { remoteAddress: options.socket } : undefined },
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
    ctx.request.request.headers['sec-purpose'] = 'prefetch;prerender'
    assert.isFalse(recorder.isEligible(ctx))
  })
})
