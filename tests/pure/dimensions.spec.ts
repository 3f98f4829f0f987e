import { test } from '@japa/runner'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TrackingRecorder } from '../../src/recorder.ts'
import { resolveSettings } from '../../src/settings.ts'
import { errors } from '../../index.ts'
import { deriveDimensions, ALL_GROUPS, DimensionDeriver } from '../../src/dimensions/derive.ts'
import { MAX_VALUE_LENGTH, splitDimensionKey } from '../../src/dimensions/names.ts'
import type { TrackingConfig } from '../../src/types.ts'
import type { WriteBuffer } from '../../src/write_buffer.ts'
import { buildCountryMmdb } from './mmdb_writer.ts'

const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0'
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1'
const CHROME_ANDROID =
  'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36'
const SAFARI_IPAD =
  'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1'
const CHROME_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

/** The derived keys as { dimension: value } (each dimension at most once) */
function asRecord(keys: readonly string[] | null): Record<string, string> {
  const out: Record<string, string> = {}
  for (const key of keys ?? []) {
    const [dimension, value] = splitDimensionKey(key)
    if (dimension in out) throw new Error(`${dimension} twice in ${keys}`)
    out[dimension] = value
  }
  return out
}

function derive(headers: Record<string, string>, target = '/', config: TrackingConfig = {}) {
  const settings = resolveSettings({ store: 'memory', ...config })
  return asRecord(
    deriveDimensions(
      {
        headers: { 'host': 'app.test', 'user-agent': FIREFOX_LINUX, ...headers },
        target,
        ip: '203.0.113.7',
      },
      {
        groups: settings.dimensions,
        ownHosts: settings.ownHosts,
        countryHeader: settings.countryHeader,
        geoip: settings.geoip,
      }
    )
  )
}

function invalid(config: unknown) {
  try {
    resolveSettings(config as TrackingConfig)
  } catch (error) {
    if (error instanceof errors.E_TRACKING_INVALID_CONFIG) return error
    throw error
  }
  throw new Error('expected E_TRACKING_INVALID_CONFIG, nothing was thrown')
}

interface AddViewCall {
  day: string
  path: string
  visitor: string | null
  anonymous: string | null
  dimensions: readonly string[] | null
}

/**
 * A write buffer that keeps what addView() was given. Like the real one, it
 * asks the recorder for its queued views before it is read (feedFrom): any
 * read of `calls` sees every view recorded so far.
 */
function capturingBuffer() {
  const calls: AddViewCall[] = []
  let feed = () => {}
  const buffer = {
    feedFrom(feeder: () => void) {
      feed = feeder
    },
    addView(
      day: string,
      path: string,
      visitor: string | null,
      anonymous: string | null,
      _minute: number,
      dimensions: readonly string[] | null
    ) {
      calls.push({ day, path, visitor, anonymous, dimensions })
    },
  } as unknown as WriteBuffer
  const fed = new Proxy(calls, {
    get(target, property, receiver) {
      feed()
      return Reflect.get(target, property, receiver)
    },
  })
  return { calls: fed, buffer }
}

function recorderOf(config: TrackingConfig, logger?: { warn(message: string): void }) {
  const settings = resolveSettings({ store: 'memory', trackAnonymous: true, ...config })
  const { calls, buffer } = capturingBuffer()
  return { recorder: new TrackingRecorder(settings, buffer, { logger }), calls }
}

function ctxOf(target: string, headers: Record<string, string> = {}, ip = '203.0.113.7') {
  const all: Record<string, string> = {
    'host': 'app.test',
    'user-agent': FIREFOX_LINUX,
    ...headers,
  }
  const path = target.split('?')[0]
  return {
    request: {
      url: () => path,
      method: () => 'GET',
      ip: () => ip,
      header: (name: string) => all[name.toLowerCase()],
      request: { headers: all, url: target, socket: { remoteAddress: ip } },
    },
    response: { getStatus: () => 200 },
  } as any
}

test.group('Dimensions | sources and channels', () => {
  test('a Google search is Organic Search from google.com', ({ assert }) => {
    const dims = derive({ referer: 'https://www.google.com/search?q=x' })
    assert.equal(dims.source, 'google.com')
    assert.equal(dims.channel, 'Organic Search')
    assert.equal(derive({ referer: 'https://www.google.co.uk/' }).source, 'google.co.uk')
    assert.equal(derive({ referer: 'https://www.google.co.uk/' }).channel, 'Organic Search')
  })

  test('Hacker News is a Referral from ycombinator.com', ({ assert }) => {
    const dims = derive({ referer: 'https://news.ycombinator.com/item?id=1' })
    assert.equal(dims.source, 'ycombinator.com')
    assert.equal(dims.channel, 'Referral')
  })

  test("a referrer on the app's own host is internal: no source and no channel", ({ assert }) => {
    const dims = derive({ 'referer': 'https://app.test/pricing?x=1', 'accept-language': 'fr' })
    assert.notProperty(dims, 'source')
    assert.notProperty(dims, 'channel')
    assert.equal(dims.language, 'fr')
    assert.equal(dims.browser, 'Firefox')
    /* the port and the case do not matter */
    assert.notProperty(
      derive({ host: 'App.Test:3333', referer: 'http://app.test:3333/' }),
      'source'
    )
    /* ownHosts: more hosts of the app, exact or with subdomains */
    const config = { ownHosts: ['www.example.com', '*.example.org'] }
    assert.notProperty(derive({ referer: 'https://www.example.com/a' }, '/', config), 'source')
    assert.notProperty(derive({ referer: 'https://docs.example.org/a' }, '/', config), 'source')
    assert.notProperty(derive({ referer: 'https://example.org/' }, '/', config), 'source')
    assert.equal(derive({ referer: 'https://example.com/' }, '/', config).source, 'example.com')
  })

  test('no referrer is Direct / None, channel Direct', ({ assert }) => {
    const dims = derive({})
    assert.equal(dims.source, 'Direct / None')
    assert.equal(dims.channel, 'Direct')
  })

  test('utm_source=newsletter&utm_medium=email&utm_campaign=launch is Email', ({ assert }) => {
    const dims = derive({}, '/?utm_source=newsletter&utm_medium=email&utm_campaign=launch')
    assert.deepEqual(
      { ...dims },
      {
        source: 'newsletter',
        channel: 'Email',
        utm_source: 'newsletter',
        utm_medium: 'email',
        utm_campaign: 'launch',
        browser: 'Firefox',
        browser_version: 'Firefox 120',
        os: 'Linux',
        os_version: 'Linux',
        device: 'desktop',
        language: 'Unknown',
      }
    )
  })

  test('the channel table: paid, social, email, referral, campaign', ({ assert }) => {
    const channel = (target: string, referer?: string) =>
      derive(referer ? { referer } : {}, target).channel
    assert.equal(channel('/?utm_source=google&utm_medium=cpc'), 'Paid Search')
    assert.equal(channel('/?utm_source=bing&utm_medium=ppc'), 'Paid Search')
    assert.equal(channel('/?utm_source=facebook&utm_medium=paid_social'), 'Paid Social')
    assert.equal(channel('/?utm_source=instagram&utm_medium=cpc'), 'Paid Social')
    assert.equal(channel('/', 'https://t.co/abc'), 'Organic Social')
    assert.equal(channel('/', 'https://www.reddit.com/r/node/'), 'Organic Social')
    assert.equal(channel('/?utm_source=mastodon&utm_medium=social'), 'Organic Social')
    assert.equal(channel('/', 'https://duckduckgo.com/'), 'Organic Search')
    assert.equal(channel('/', 'https://mail.google.com/mail/u/0/'), 'Email')
    assert.equal(channel('/?utm_medium=e-mail'), 'Email')
    assert.equal(channel('/?ref=producthunt'), 'Referral')
    assert.equal(channel('/?utm_source=partner&utm_medium=referral'), 'Referral')
    assert.equal(channel('/?utm_source=partner'), 'Campaign')
    assert.equal(channel('/?utm_campaign=spring'), 'Campaign')
    assert.equal(channel('/', 'not a url'), 'Referral')
  })

  test('utm_source, ref and source win over the Referer; a URL source keeps only its domain', ({
    assert,
  }) => {
    const referer = 'https://news.ycombinator.com/item?id=1'
    assert.equal(derive({ referer }, '/?utm_source=newsletter').source, 'newsletter')
    assert.equal(derive({ referer }, '/?ref=producthunt').source, 'producthunt')
    assert.equal(derive({ referer }, '/?source=github.com').source, 'github.com')
    const url = derive({}, '/?ref=https%3A%2F%2Fwww.example.com%2Fsecret%3Ftoken%3D1')
    assert.equal(url.source, 'example.com')
    assert.equal(derive({}, '/?utm_source=blog.example.co.uk').source, 'example.co.uk')
    /* a referrer with an IP host: the address is not kept */
    assert.equal(derive({ referer: 'http://198.51.100.4/x' }).source, 'IP address')
  })

  test('utm values are trimmed, cut, well formed and without control characters', ({ assert }) => {
    const dims = derive(
      {},
      `/?utm_campaign=%20%20launch%20&utm_term=a%E2%80%AEb%00c&utm_content=${encodeURIComponent('é'.repeat(150))}&utm_medium=%FF`
    )
    assert.equal(dims.utm_campaign, 'launch')
    assert.equal(dims.utm_term, 'abc')
    assert.equal(dims.utm_content, 'é'.repeat(MAX_VALUE_LENGTH))
    assert.equal(dims.utm_medium, '\ufffd')
    assert.notProperty(derive({}, '/?utm_term=%20%20'), 'utm_term')
    /* raw bytes of a lenient parser (latin1) are read as UTF-8 */
    const raw = Buffer.from('/?utm_campaign=café', 'utf8').toString('latin1')
    assert.equal(derive({}, raw).utm_campaign, 'café')
  })
})

test.group('Dimensions | browsers, systems, devices, countries, languages', () => {
  test('Firefox on Linux, Safari on iPhone, Chrome on Android, Safari on iPad', ({ assert }) => {
    const of = (ua: string) => {
      const {
        browser,
        browser_version: bv,
        os,
        os_version: ov,
        device,
      } = derive({
        'user-agent': ua,
      })
      return { browser, bv, os, ov, device }
    }
    assert.deepEqual(of(FIREFOX_LINUX), {
      browser: 'Firefox',
      bv: 'Firefox 120',
      os: 'Linux',
      ov: 'Linux',
      device: 'desktop',
    })
    assert.deepEqual(of(SAFARI_IPHONE), {
      browser: 'Safari',
      bv: 'Safari 17',
      os: 'iOS',
      ov: 'iOS 17.4',
      device: 'mobile',
    })
    assert.deepEqual(of(CHROME_ANDROID), {
      browser: 'Chrome',
      bv: 'Chrome 124',
      os: 'Android',
      ov: 'Android 10',
      device: 'mobile',
    })
    assert.deepEqual(of(SAFARI_IPAD), {
      browser: 'Safari',
      bv: 'Safari 17',
      os: 'iOS',
      ov: 'iOS 17.4',
      device: 'tablet',
    })
    assert.deepEqual(of(CHROME_WINDOWS), {
      browser: 'Chrome',
      bv: 'Chrome 131',
      os: 'Windows',
      ov: 'Windows 10',
      device: 'desktop',
    })
    assert.equal(of('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Safari/605.1.15').os, 'macOS')
    assert.deepEqual(of(''), {
      browser: 'Unknown',
      bv: 'Unknown',
      os: 'Unknown',
      ov: 'Unknown',
      device: 'other',
    })
  })

  test('low-entropy client hints: Sec-CH-UA-Mobile and Sec-CH-UA-Platform', ({ assert }) => {
    const reduced =
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
    const mobile = derive({ 'user-agent': reduced, 'sec-ch-ua-mobile': '?1' })
    assert.equal(mobile.device, 'mobile')
    const windows = derive({
      'user-agent': reduced,
      'sec-ch-ua-mobile': '?0',
      'sec-ch-ua-platform': '"Windows"',
    })
    assert.equal(windows.os, 'Windows')
    assert.equal(windows.os_version, 'Windows')
    assert.equal(windows.device, 'desktop')
    const mac = derive({ 'user-agent': CHROME_WINDOWS, 'sec-ch-ua-platform': '"macOS"' })
    assert.equal(mac.os, 'macOS')
    /* the hint agrees with the user agent: its version stays */
    const same = derive({ 'user-agent': CHROME_ANDROID, 'sec-ch-ua-platform': '"Android"' })
    assert.equal(same.os_version, 'Android 10')
  })

  test('CF-IPCountry: DE is DE; XX, T1 and junk are Unknown; off without a source', ({
    assert,
  }) => {
    const config = { countryHeader: 'CF-IPCountry' }
    assert.equal(derive({ 'cf-ipcountry': 'DE' }, '/', config).country, 'DE')
    assert.equal(derive({ 'cf-ipcountry': ' de ' }, '/', config).country, 'DE')
    for (const junk of ['XX', 'T1', 'DEU', '', '1', 'é'.repeat(300)]) {
      assert.equal(derive({ 'cf-ipcountry': junk }, '/', config).country, 'Unknown')
    }
    assert.equal(derive({}, '/', config).country, 'Unknown')
    assert.notProperty(derive({ 'cf-ipcountry': 'DE' }), 'country')
  })

  test('Accept-Language fr-FR,fr;q=0.9 is fr; none or junk is Unknown', ({ assert }) => {
    assert.equal(derive({ 'accept-language': 'fr-FR,fr;q=0.9' }).language, 'fr')
    assert.equal(derive({ 'accept-language': 'EN_us' }).language, 'en')
    assert.equal(derive({ 'accept-language': 'de;q=0.8' }).language, 'de')
    assert.equal(derive({}).language, 'Unknown')
    for (const junk of ['*', '', '12-AB', 'x'.repeat(500), 'verylongword']) {
      assert.equal(derive({ 'accept-language': junk }).language, 'Unknown')
    }
  })

  test('country from a MaxMind database, looked up in memory by the client IP', ({ assert }) => {
    const dir = mkdtempSync(join(tmpdir(), 'tracking-geoip-'))
    try {
      const path = join(dir, 'countries.mmdb')
      writeFileSync(path, buildCountryMmdb({ '203.0.113.0/24': 'DE', '198.51.100.0/24': 'fr' }))
      const settings = resolveSettings({ store: 'memory', geoipDatabase: path })
      assert.isTrue(settings.dimensions.countries)
      assert.equal(settings.geoipDatabase, path)
      const deriver = new DimensionDeriver({ groups: settings.dimensions, geoip: settings.geoip })
      const country = (ip: string, headers = {}) =>
        asRecord(deriver.derive({ host: 'app.test', ...headers }, '/', ip)).country
      assert.equal(country('203.0.113.7'), 'DE')
      assert.equal(country('::ffff:203.0.113.200'), 'DE')
      assert.equal(country('198.51.100.1'), 'FR')
      assert.equal(country('192.0.2.1'), 'Unknown')
      assert.equal(country('2001:db8::1'), 'Unknown')
      assert.equal(country('not an ip'), 'Unknown')

      /* a trusted header answers first; the database when it does not tell */
      const both = resolveSettings({
        store: 'memory',
        geoipDatabase: path,
        countryHeader: 'CF-IPCountry',
      })
      const recorder = recorderOf({ geoipDatabase: path, countryHeader: 'CF-IPCountry' })
      assert.isTrue(both.dimensions.countries)
      recorder.recorder.record(ctxOf('/', { 'cf-ipcountry': 'JP' }, '203.0.113.9'))
      recorder.recorder.record(ctxOf('/', { 'cf-ipcountry': 'XX' }, '203.0.113.9'))
      recorder.recorder.record(ctxOf('/', {}, '192.0.2.1'))
      assert.deepEqual(
        recorder.calls.map((call) => asRecord(call.dimensions).country),
        ['JP', 'DE', 'Unknown']
      )

      /* relative paths are resolved from the app root */
      const relative = resolveSettings(
        { store: 'memory', geoipDatabase: 'countries.mmdb' },
        undefined,
        { appRoot: dir }
      )
      assert.equal(relative.geoipDatabase, path)

      /* a file that is no database fails at boot, naming the key */
      writeFileSync(join(dir, 'junk.mmdb'), 'not a database')
      const error = invalid({ geoipDatabase: join(dir, 'junk.mmdb') })
      assert.include(error.message, '"geoipDatabase"')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

test.group('Dimensions | junk and privacy', () => {
  test('10,000 distinct junk referrers, utm values, agents and headers never throw', ({
    assert,
  }) => {
    let seed = 42
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
      return seed
    }
    const junk = (length: number) =>
      Array.from({ length }, () => String.fromCharCode(random() % 0x10000)).join('')
    const { recorder, calls } = recorderOf({
      countryHeader: 'CF-IPCountry',
      ignoreBots: false,
    })
    const bytes = (length: number) =>
      Array.from({ length }, () => `%${(random() % 256).toString(16).padStart(2, '0')}`).join('')
    for (let i = 0; i < 10_000; i++) {
      const referer =
        i % 3 === 0
          ? `https://${junk(20)}.example/${junk(50)}`
          : i % 3 === 1
            ? `https://a${i}.${'x'.repeat(i % 200)}.com/p?q=${i}`
            : junk(300)
      const target = `/?utm_source=${bytes(150)}&utm_medium=${encodeURIComponent(junk(40).toWellFormed())}&utm_campaign=c${i}${'y'.repeat(i % 300)}&ref=${bytes(20)}`
      const ctx = ctxOf(target, {
        'referer': referer,
        'user-agent': junk(i % 500),
        'accept-language': junk(30),
        'cf-ipcountry': junk(2),
        'sec-ch-ua-platform': junk(10),
        'sec-ch-ua-mobile': junk(2),
      })
      assert.isTrue(recorder.record(ctx))
    }
    assert.lengthOf(calls, 10_000)
    // eslint-disable-next-line no-control-regex -- control characters are what is checked
    const CONTROL = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/
    for (const call of calls) {
      for (const key of call.dimensions!) {
        const [, value] = splitDimensionKey(key)
        if (value.length > MAX_VALUE_LENGTH || value === '' || !value.isWellFormed()) {
          assert.fail(`bad value ${JSON.stringify(value)}`)
        }
        if (CONTROL.test(value)) assert.fail(`control character in ${JSON.stringify(value)}`)
      }
    }
  })

  test('no user agent string, referrer path or query, or IP address is in the dimensions', ({
    assert,
  }) => {
    const { recorder, calls } = recorderOf({ countryHeader: 'CF-IPCountry' })
    const ip = '203.0.113.77'
    const referer = 'https://news.ycombinator.com/item?id=123456&secret=token'
    recorder.record(
      ctxOf('/landing?utm_source=newsletter&email=alice%40example.com', { referer }, ip)
    )
    recorder.record(ctxOf('/a', { referer, 'user-agent': SAFARI_IPHONE }, ip))
    const all = calls.flatMap((call) => call.dimensions!).join('\n')
    for (const secret of [
      ip,
      FIREFOX_LINUX,
      SAFARI_IPHONE,
      'item?id',
      '123456',
      'token',
      'alice',
      'news.ycombinator.com/',
      'AppleWebKit',
      'Gecko',
    ]) {
      assert.notInclude(all, secret)
    }
  })
})

test.group('Dimensions | record()', () => {
  test('record() passes the dimension keys as the 6th argument of addView', ({ assert }) => {
    const { recorder, calls } = recorderOf({ countryHeader: 'CF-IPCountry' })
    assert.isTrue(
      recorder.record(
        ctxOf('/?utm_source=newsletter&utm_medium=email&utm_campaign=launch', {
          'user-agent': SAFARI_IPHONE,
          'cf-ipcountry': 'DE',
          'accept-language': 'fr-FR,fr;q=0.9',
        })
      )
    )
    assert.lengthOf(calls, 1)
    assert.equal(calls[0].path, '/')
    assert.deepEqual(calls[0].dimensions, [
      'source:newsletter',
      'channel:Email',
      'utm_source:newsletter',
      'utm_medium:email',
      'utm_campaign:launch',
      'browser:Safari',
      'browser_version:Safari 17',
      'os:iOS',
      'os_version:iOS 17.4',
      'device:mobile',
      'country:DE',
      'language:fr',
    ])
    assert.deepEqual(recorder.dimensions(ctxOf('/')), [
      'source:Direct / None',
      'channel:Direct',
      'browser:Firefox',
      'browser_version:Firefox 120',
      'os:Linux',
      'os_version:Linux',
      'device:desktop',
      'country:Unknown',
      'language:Unknown',
    ])
  })

  test('the acceptance mix, counted through record()', ({ assert }) => {
    const { recorder, calls } = recorderOf({ countryHeader: 'CF-IPCountry' })
    const views: [string, Record<string, string>][] = [
      ['/', { 'referer': 'https://www.google.com/search?q=x', 'user-agent': FIREFOX_LINUX }],
      ['/', { 'referer': 'https://news.ycombinator.com/item?id=1', 'user-agent': SAFARI_IPHONE }],
      ['/', { 'referer': 'https://app.test/', 'user-agent': CHROME_ANDROID }],
      ['/', { 'user-agent': SAFARI_IPAD }],
      ['/?utm_source=newsletter&utm_medium=email&utm_campaign=launch', {}],
    ]
    for (const [target, headers] of views) {
      recorder.record(
        ctxOf(target, { 'cf-ipcountry': 'DE', 'accept-language': 'fr-FR,fr;q=0.9', ...headers })
      )
    }
    const counts: Record<string, number> = {}
    for (const key of calls.flatMap((call) => call.dimensions!)) {
      counts[key] = (counts[key] ?? 0) + 1
    }
    assert.deepEqual(counts, {
      'source:google.com': 1,
      'channel:Organic Search': 1,
      'source:ycombinator.com': 1,
      'channel:Referral': 1,
      'source:Direct / None': 1,
      'channel:Direct': 1,
      'source:newsletter': 1,
      'channel:Email': 1,
      'utm_source:newsletter': 1,
      'utm_medium:email': 1,
      'utm_campaign:launch': 1,
      'browser:Firefox': 2,
      'browser_version:Firefox 120': 2,
      'browser:Safari': 2,
      'browser_version:Safari 17': 2,
      'browser:Chrome': 1,
      'browser_version:Chrome 124': 1,
      'os:Linux': 2,
      'os_version:Linux': 2,
      'os:iOS': 2,
      'os_version:iOS 17.4': 2,
      'os:Android': 1,
      'os_version:Android 10': 1,
      'device:desktop': 2,
      'device:mobile': 2,
      'device:tablet': 1,
      'country:DE': 5,
      'language:fr': 5,
    })
  })

  test('dimensions: false passes null; a switch turns its group off', ({ assert }) => {
    const off = recorderOf({ dimensions: false })
    assert.isTrue(off.recorder.record(ctxOf('/')))
    assert.isNull(off.calls[0].dimensions)
    const some = recorderOf({ dimensions: { browsers: false, sources: false } })
    some.recorder.record(ctxOf('/?utm_campaign=x', { referer: 'https://github.com/' }))
    assert.deepEqual(some.calls[0].dimensions, [
      'utm_campaign:x',
      'os:Linux',
      'os_version:Linux',
      'device:desktop',
      'language:Unknown',
    ])
  })

  test('the user agent part is remembered per agent and hints', ({ assert }) => {
    const { recorder, calls } = recorderOf({})
    recorder.record(ctxOf('/', { 'user-agent': CHROME_WINDOWS }))
    recorder.record(ctxOf('/', { 'user-agent': CHROME_WINDOWS, 'sec-ch-ua-mobile': '?1' }))
    recorder.record(ctxOf('/', { 'user-agent': CHROME_WINDOWS }))
    assert.deepEqual(
      calls.map((call) => asRecord(call.dimensions).device),
      ['desktop', 'mobile', 'desktop']
    )
  })

  test('views with the same values share one frozen key list; other values get their own', ({
    assert,
  }) => {
    const { recorder, calls } = recorderOf({ countryHeader: 'CF-IPCountry' })
    const google = { 'referer': 'https://www.google.com/search?q=x', 'cf-ipcountry': 'DE' }
    recorder.record(ctxOf('/', { ...google, 'user-agent': FIREFOX_LINUX }))
    recorder.record(ctxOf('/b', { ...google, 'user-agent': FIREFOX_LINUX }))
    recorder.record(ctxOf('/', { ...google, 'user-agent': FIREFOX_LINUX, 'cf-ipcountry': 'FR' }))
    recorder.record(ctxOf('/?utm_source=x', { ...google, 'user-agent': FIREFOX_LINUX }))
    recorder.record(ctxOf('/?utm_source=x', { ...google, 'user-agent': FIREFOX_LINUX }))
    const [first, second, france, tagged, taggedAgain] = calls.map((call) => call.dimensions)
    assert.strictEqual(first, second)
    assert.isTrue(Object.isFrozen(first))
    assert.notStrictEqual(first, france)
    assert.equal(asRecord(france).country, 'FR')
    assert.equal(asRecord(first).country, 'DE')
    assert.strictEqual(tagged, taggedAgain)
    assert.equal(asRecord(tagged).source, 'x')
    /* a caller changing a list cannot change what was counted */
    assert.throws(() => (first as string[]).push('device:tablet'))
  })

  test('honorDoNotTrack: DNT: 1 and Sec-GPC: 1 are not counted (counted by default)', ({
    assert,
  }) => {
    const honoring = recorderOf({ honorDoNotTrack: true })
    assert.isFalse(honoring.recorder.record(ctxOf('/', { dnt: '1' })))
    assert.isFalse(honoring.recorder.record(ctxOf('/', { 'sec-gpc': '1' })))
    assert.isFalse(honoring.recorder.isEligible(ctxOf('/', { dnt: '1' })))
    assert.isTrue(honoring.recorder.record(ctxOf('/', { dnt: '0' })))
    assert.isTrue(honoring.recorder.record(ctxOf('/')))
    assert.lengthOf(honoring.calls, 2)
    const defaults = recorderOf({})
    assert.isTrue(defaults.recorder.record(ctxOf('/', { 'dnt': '1', 'sec-gpc': '1' })))
    assert.lengthOf(defaults.calls, 1)
  })

  test('exclude(ctx) returning true skips the request', ({ assert }) => {
    const { recorder, calls } = recorderOf({
      exclude: (ctx) => ctx.request.ip() === '10.0.0.1',
    })
    assert.isFalse(recorder.record(ctxOf('/', {}, '10.0.0.1')))
    assert.isFalse(recorder.isEligible(ctxOf('/', {}, '10.0.0.1')))
    assert.isTrue(recorder.record(ctxOf('/', {}, '10.0.0.2')))
    assert.lengthOf(calls, 1)
  })

  test('a throwing exclude counts nothing and is logged once; a promise is counted and logged', ({
    assert,
  }) => {
    const warnings: string[] = []
    const logger = { warn: (message: string) => warnings.push(message) }
    const throwing = recorderOf(
      {
        exclude: () => {
          throw new Error('boom')
        },
      },
      logger
    )
    assert.isFalse(throwing.recorder.record(ctxOf('/')))
    assert.isFalse(throwing.recorder.record(ctxOf('/b')))
    assert.lengthOf(throwing.calls, 0)
    assert.lengthOf(warnings, 1)
    assert.include(warnings[0], 'boom')

    const promising = recorderOf({ exclude: (() => Promise.resolve(true)) as any }, logger)
    assert.isTrue(promising.recorder.record(ctxOf('/')))
    assert.isTrue(promising.recorder.record(ctxOf('/')))
    assert.lengthOf(promising.calls, 2)
    assert.lengthOf(warnings, 2)
    assert.include(warnings[1], 'promise')
  })
})

test.group('Dimensions | config', () => {
  test('defaults: every group on but countries, which needs a country source', ({ assert }) => {
    const settings = resolveSettings({ store: 'memory' })
    assert.deepEqual(
      { ...settings.dimensions },
      {
        sources: true,
        campaigns: true,
        browsers: true,
        os: true,
        devices: true,
        countries: false,
        languages: true,
      }
    )
    assert.include(settings, {
      ownHosts: null,
      countryHeader: null,
      geoipDatabase: null,
      geoip: null,
      exclude: null,
      honorDoNotTrack: false,
      maxValuesPerDimension: 1000,
    })
    const withHeader = resolveSettings({ store: 'memory', countryHeader: 'CF-IPCountry' })
    assert.isTrue(withHeader.dimensions.countries)
    assert.isFalse(
      resolveSettings({ countryHeader: 'CF-IPCountry', dimensions: { countries: false } })
        .dimensions.countries
    )
    assert.isTrue(
      Object.values(resolveSettings({ dimensions: false }).dimensions).every((on) => !on)
    )
    assert.deepEqual(
      { ...resolveSettings({ dimensions: true }).dimensions },
      {
        ...settings.dimensions,
      }
    )
    assert.equal(resolveSettings({ maxValuesPerDimension: 5 }).maxValuesPerDimension, 5)
    assert.deepEqual(resolveSettings({ ownHosts: ['Example.com', '*.example.org'] }).ownHosts, [
      'example.com',
      '*.example.org',
    ])
    assert.equal(ALL_GROUPS.sources, true)
  })

  test('config mistakes fail at boot naming the key', ({ assert }) => {
    const cases: [unknown, string][] = [
      [{ dimensions: 'yes' }, '"dimensions"'],
      [{ dimensions: { browser: false } }, '"dimensions.browser"'],
      [{ dimensions: { browsers: 'no' } }, '"dimensions.browsers"'],
      [{ dimensions: { countries: true } }, '"dimensions.countries"'],
      [{ ownHosts: 'example.com' }, '"ownHosts"'],
      [{ ownHosts: ['https://example.com/'] }, '"ownHosts[0]"'],
      [{ countryHeader: 'CF IPCountry' }, '"countryHeader"'],
      [{ countryHeader: 42 }, '"countryHeader"'],
      [{ geoipDatabase: '/nonexistent/GeoLite2-Country.mmdb' }, '"geoipDatabase"'],
      [{ exclude: true }, '"exclude"'],
      [{ exclude: async () => true }, '"exclude"'],
      [{ honorDoNotTrack: 'yes' }, '"honorDoNotTrack"'],
      [{ maxValuesPerDimension: 0 }, '"maxValuesPerDimension"'],
      [{ maxValuesPerDimension: 1.5 }, '"maxValuesPerDimension"'],
    ]
    for (const [config, key] of cases) {
      const error = invalid(config)
      assert.equal(error.code, 'E_TRACKING_INVALID_CONFIG')
      assert.include(error.message, key, JSON.stringify(config))
    }
  })
})
