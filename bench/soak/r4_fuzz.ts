/*
|--------------------------------------------------------------------------
| R4: fuzzed requests
|--------------------------------------------------------------------------
|
| Raw HTTP/1.1 requests over plain sockets (a client library would refuse
| most of them): very long paths, invalid percent-encoding, NUL, CR/LF,
| raw invalid UTF-8, unicode, huge user agents, forged X-Forwarded-For and
| Forwarded headers, garbage cookies. The demo app gets a catch-all page
| (/fuzz/*) so that fuzzed paths answer 200 and are recorded.
|
| Every user agent carries the marker "SoakUA" and every forged address
| is in 203.0.113.0/24, 198.51.100.0/24 or 2001:db8::/32 (documentation
| ranges): finding one of them (or 127.0.0.1, the real client) anywhere in
| Redis or SQL means an IP or a user agent was stored.
|
*/

import { createConnection } from 'node:net'
import { Redis } from 'ioredis'
import { flushPageViews } from '../../src/flush.ts'
import { RedisStore } from '../../src/stores/redis_store.ts'
import { TestRedisServer } from '../../tests/redis_server.ts'
import { formatNumber, type Report } from './checks.ts'
import { BROWSER_UA } from './load.ts'
import { DemoApp, appEnv } from './processes.ts'
import { KEYS, scanKeys } from './redis_counts.ts'
import { closeDatabase, openDatabase, truncateTracking } from './sql.ts'

const S = 'R4'
const MARKERS = ['SoakUA', '203.0.113.', '198.51.100.', '2001:db8', '127.0.0.1']

/** Sizes of R4 */
export interface FuzzOptions {
  requests: number
  concurrency: number
  seed: number
}

/** A small seeded PRNG (mulberry32): a failing run can be replayed with its seed */
function prng(seed: number) {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (max: number) => Math.floor(next() * max)
  const pick = <T>(list: readonly T[]): T => list[int(list.length)]
  return { next, int, pick }
}
type Rng = ReturnType<typeof prng>

const utf8 = (text: string) => Buffer.from(text, 'utf8')
const bytes = (...values: number[]) => Buffer.from(values)

/** Pieces of a fuzzed path, as raw bytes on the wire */
function pathPiece(rng: Rng): Buffer {
  const kind = rng.int(22)
  switch (kind) {
    case 0:
      return utf8('a'.repeat(400 + rng.int(3000)))
    case 1:
      return utf8('%F0%9F%98%80'.repeat(100 + rng.int(800)))
    case 2:
      return utf8('😀'.repeat(200 + rng.int(900)))
    case 3:
      return utf8(rng.pick(['%', '%z', '%zz', '%E2%82', '%C0%AF', '%FF%FE', '%ED%A0%80', '%G1']))
    case 4:
      return utf8(rng.pick(['%00', '%0D%0A', '%0a', '%09', '%7F', '%2F..%2F']))
    case 5:
      return rng.pick([bytes(0xff), bytes(0xc0, 0xaf), bytes(0xed, 0xa0, 0x80), bytes(0xfe, 0x41)])
    case 6:
      return utf8(rng.pick(['日本語', 'مرحبا', 'e\u0301', 'ß', '\u202Eevil', 'Ω≈ç√', '\uFEFF']))
    case 7:
      return rng.pick([bytes(0x00), bytes(0x0d, 0x0a), bytes(0x09), bytes(0x7f), bytes(0x0b)])
    case 8:
      return utf8(rng.pick(['../', './', '//', '\\', '..%2f', '%2e%2e/', ';jsessionid=1']))
    case 9:
      return utf8(`?${rng.pick(['a=%zz', 'q=😀', 'x='.padEnd(600, 'y'), 'utm=1&&&', ''])}`)
    case 10:
      return utf8(`#${rng.pick(['frag', '😀', '%zz'])}`)
    default: {
      const alphabet = "abcxyz0189-._~!$&'()*+,;=:@/"
      let out = ''
      for (let i = 1 + rng.int(24); i > 0; i--) out += alphabet[rng.int(alphabet.length)]
      return utf8(out)
    }
  }
}

function fuzzTarget(rng: Rng): Buffer {
  const pieces: Buffer[] = []
  for (let i = 1 + rng.int(3); i > 0; i--) pieces.push(pathPiece(rng))
  const junk = Buffer.concat(pieces)
  const roll = rng.int(20)
  if (roll < 10) return Buffer.concat([utf8('/fuzz/'), junk])
  if (roll < 14) return Buffer.concat([utf8(`${rng.pick(['/', '/about', '/posts/1'])}?`), junk])
  if (roll < 16) return Buffer.concat([utf8('/posts/'), junk])
  if (roll < 17) return Buffer.concat([utf8('http://127.0.0.1/fuzz/'), junk])
  if (roll < 18) return junk
  return Buffer.concat([utf8('/'), junk])
}

function forgedAddress(rng: Rng): string {
  return rng.pick([
    `203.0.113.${rng.int(256)}`,
    `198.51.100.${rng.int(256)}, 203.0.113.${rng.int(256)}`,
    `2001:db8::${rng.int(65536).toString(16)}`,
    `::ffff:203.0.113.${rng.int(256)}`,
    `203.0.113.${rng.int(256)}:${rng.int(65536)}`,
    `unknown, 198.51.100.${rng.int(256)}`,
    Array.from({ length: 50 }, (_, i) => `198.51.100.${i}`).join(', '),
  ])
}

function fuzzHeaders(rng: Rng): Buffer[] {
  const token = rng.int(1e9).toString(36)
  const headers: Buffer[] = [utf8('Host: 127.0.0.1\r\n')]
  const ua = rng.int(8)
  if (ua === 0) headers.push(utf8(`User-Agent: ${BROWSER_UA} SoakUA-${token}\r\n`))
  else if (ua === 1)
    headers.push(
      utf8(`User-Agent: SoakUA-${token} ${BROWSER_UA} ${'x'.repeat(2000 + rng.int(10_000))}\r\n`)
    )
  else if (ua === 2) headers.push(utf8(`User-Agent: ${BROWSER_UA} SoakUA-${token} 日本語 😀\r\n`))
  else if (ua === 3)
    headers.push(
      utf8(`User-Agent: Googlebot/2.1 (+http://www.google.com/bot.html) SoakUA-${token}\r\n`)
    )
  else if (ua === 4)
    headers.push(
      Buffer.concat([utf8(`User-Agent: SoakUA-${token} `), bytes(0xff, 0xfe, 0x00), utf8('\r\n')])
    )
  else if (ua === 5) headers.push(utf8('User-Agent: \r\n'))
  else if (ua === 6) headers.push(utf8(`User-Agent: ${BROWSER_UA} SoakUA-${token}\r\n`))
  if (rng.int(2)) headers.push(utf8(`X-Forwarded-For: ${forgedAddress(rng)}\r\n`))
  if (!rng.int(4)) headers.push(utf8(`X-Real-IP: 198.51.100.${rng.int(256)}\r\n`))
  if (!rng.int(4)) headers.push(utf8(`Forwarded: for="[2001:db8::${rng.int(999)}]";proto=http\r\n`))
  if (!rng.int(6))
    headers.push(
      utf8(`Cookie: adonis-session=${rng.pick(['garbage', '%zz', 'e30.'.repeat(50)])}\r\n`)
    )
  if (!rng.int(10)) headers.push(utf8('Sec-Purpose: prefetch\r\n'))
  if (!rng.int(10)) headers.push(utf8(`Accept-Language: ${rng.pick(['😀', '*;q=x', 'de-DE'])}\r\n`))
  return headers
}

/** Sends one raw request; resolves with the status (0: no response) */
function rawRequest(port: number, head: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let received = ''
    let settled = false
    const done = () => {
      if (settled) return
      settled = true
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(received)
      resolve(match ? Number(match[1]) : 0)
      socket.destroy()
    }
    socket.setTimeout(15_000, done)
    socket.on('data', (chunk) => {
      if (received.length < 64) received += chunk.toString('latin1')
    })
    socket.on('end', done)
    socket.on('close', done)
    socket.on('error', done)
    socket.write(head)
  })
}

/** UTF-8 validity without replacement characters */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })
function pathProblem(raw: Buffer): string | null {
  let text: string
  try {
    text = strictUtf8.decode(raw)
  } catch {
    return 'invalid UTF-8'
  }
  if (Array.from(text).length > 500) return `${Array.from(text).length} characters`
  if (!text.startsWith('/')) return 'does not start with /'
  if (text.includes('\u0000')) return 'contains NUL'
  return null
}

/** Every byte Redis holds, key names included, as one latin1 string */
async function dumpRedis(client: Redis): Promise<string> {
  const parts: string[] = []
  for (const key of await scanKeys(client, '*')) {
    parts.push(key)
    const type = await client.type(key)
    if (type === 'string')
      parts.push(((await client.getBuffer(key)) ?? Buffer.alloc(0)).toString('latin1'))
    else if (type === 'hash')
      for (const [field, value] of Object.entries(await client.hgetallBuffer(key)))
        parts.push(field, value.toString('latin1'))
    else if (type === 'set') parts.push(...(await client.smembers(key)))
    else if (type === 'list') parts.push(...(await client.lrange(key, 0, -1)))
    else if (type === 'zset') parts.push(...(await client.zrange(key, 0, -1)))
  }
  return parts.join('\n')
}

export async function fuzz(report: Report, options: FuzzOptions) {
  const redisServer = await new TestRedisServer().start()
  const probe = new Redis({ host: '127.0.0.1', port: redisServer.port })
  const database = openDatabase('sqlite')
  let app: DemoApp | undefined
  try {
    await truncateTracking(database)
    app = await DemoApp.start(
      appEnv({ db: 'sqlite', redisPort: redisServer.port, extra: { SOAK_CATCH_ALL: '1' } })
    )
    const rng = prng(options.seed)
    const statuses = new Map<number, number>()
    const serverErrors: string[] = []
    let next = 0
    const worker = async () => {
      while (next < options.requests) {
        next++
        const method = rng.int(10) === 0 ? 'HEAD' : 'GET'
        const target = fuzzTarget(rng)
        const head = Buffer.concat([
          utf8(`${method} `),
          target,
          utf8(' HTTP/1.1\r\n'),
          ...fuzzHeaders(rng),
          utf8('Connection: close\r\n\r\n'),
        ])
        const status = await rawRequest(app!.port, head)
        statuses.set(status, (statuses.get(status) ?? 0) + 1)
        if (status >= 500 && serverErrors.length < 5) {
          serverErrors.push(`${status} ${method} ${target.toString('latin1').slice(0, 120)}`)
        }
      }
    }
    const startedAt = performance.now()
    await Promise.all(Array.from({ length: options.concurrency }, worker))
    const seconds = (performance.now() - startedAt) / 1000

    const still = await rawRequest(
      app.port,
      utf8(
        `GET /about HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: ${BROWSER_UA}\r\nConnection: close\r\n\r\n`
      )
    )
    const appErrors = app.output.filter((line) => /"level":(50|60)/.test(line))
    const exit = await app.stop('SIGTERM')

    const histogram = [...statuses]
      .sort((a, b) => a[0] - b[0])
      .map(([status, count]) => `${status === 0 ? 'no response' : status}: ${formatNumber(count)}`)
      .join(', ')
    report.figure(
      S,
      'requests',
      `${formatNumber(options.requests)} in ${formatNumber(seconds)} s (seed ${options.seed})`
    )
    report.figure(S, 'statuses', histogram)
    const fiveXX = [...statuses].filter(([status]) => status >= 500).reduce((s, [, n]) => s + n, 0)
    report.check(
      S,
      '5xx responses',
      fiveXX === 0,
      `${fiveXX}${serverErrors.length ? ` (${serverErrors.join(' | ')})` : ''}`,
      '0'
    )
    report.check(
      S,
      'app still serves and logged no error',
      still === 200 && appErrors.length === 0 && exit.code === 0,
      `GET /about ${still}, ${appErrors.length} error log lines, exit ${exit.code ?? exit.signal}`,
      '200, 0, exit 0'
    )

    /* paths as Redis holds them (the app drained on SIGTERM) */
    const redisPaths: Buffer[] = []
    for (const key of await scanKeys(probe, `${KEYS.tag}:views:*`)) {
      const flat = await probe.callBuffer('HKEYS', key)
      redisPaths.push(...(flat as Buffer[]))
    }
    const redisBad = redisPaths
      .map((path) => [path, pathProblem(path)] as const)
      .filter(([, problem]) => problem)

    const redisBeforeFlush = await dumpRedis(probe)

    /* then into SQL */
    const store = new RedisStore({ client: () => probe, keyPrefix: 'tracking', ttlSeconds: 86_400 })
    const flushed = await flushPageViews({ store, settings: { timezone: 'UTC' } }, database)
    const rows = await database.connection().from('tracking_page_views').select('path')
    const sqlBad = rows
      .map((row) => [String(row.path), pathProblem(Buffer.from(String(row.path), 'utf8'))] as const)
      .filter(([, problem]) => problem)
    const fuzzRows = rows.filter((row) => String(row.path).startsWith('/fuzz/')).length

    report.figure(
      S,
      'stored',
      `${formatNumber(redisPaths.length)} distinct paths in Redis, ${formatNumber(flushed.views)} views flushed into ${formatNumber(rows.length)} SQL rows (${formatNumber(fuzzRows)} under /fuzz/)`
    )
    report.check(
      S,
      'stored paths valid (Redis)',
      redisPaths.length > 0 && redisBad.length === 0,
      `${redisBad.length} bad of ${formatNumber(redisPaths.length)}${redisBad.length ? ` (${redisBad[0][1]}: ${redisBad[0][0].toString('latin1').slice(0, 80)})` : ''}`,
      'all valid UTF-8, <= 500 chars, start with /, no NUL'
    )
    report.check(
      S,
      'stored paths valid (SQL)',
      rows.length > 0 && sqlBad.length === 0,
      `${sqlBad.length} bad of ${formatNumber(rows.length)}${sqlBad.length ? ` (${sqlBad[0][1]}: ${sqlBad[0][0].slice(0, 80)})` : ''}`,
      'all valid UTF-8, <= 500 chars, start with /, no NUL'
    )

    /* no IP and no user agent anywhere */
    const redisDump = `${redisBeforeFlush}\n${await dumpRedis(probe)}`
    const client = database.connection()
    const tableRows: Array<{ name: string }> = await client.rawQuery(
      "select name from sqlite_master where type = 'table'"
    )
    const tables = tableRows.map((row) => row.name)
    const sqlParts: string[] = []
    for (const table of tables) {
      for (const row of await client.from(table).select('*')) {
        for (const value of Object.values(row)) {
          sqlParts.push(Buffer.isBuffer(value) ? value.toString('latin1') : String(value))
        }
      }
    }
    const sqlDump = sqlParts.join('\n')
    const found = MARKERS.flatMap((marker) => [
      ...(redisDump.includes(marker) ? [`Redis: ${marker}`] : []),
      ...(sqlDump.includes(marker) ? [`SQL: ${marker}`] : []),
    ])
    report.figure(
      S,
      'searched',
      `${formatNumber(redisDump.length)} bytes of Redis (every key and value, before and after the flush), ${formatNumber(sqlDump.length)} bytes of SQL (${tables.length} tables) for ${MARKERS.join(' ')}`
    )
    report.check(
      S,
      'no IP or user agent stored',
      found.length === 0,
      found.length ? found.join(', ') : 'none found',
      'none found'
    )
  } finally {
    probe.disconnect()
    await app?.stop('SIGKILL')
    await closeDatabase(database)
    await redisServer.stop()
  }
}
