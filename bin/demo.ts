/*
|--------------------------------------------------------------------------
| npm run demo
|--------------------------------------------------------------------------
|
| Prepares a fresh clone (.env with a random APP_KEY, tmp/, migrations, the
| two demo users), falls back to the memory store when Redis does not
| answer, then starts the demo app on http://localhost:3333. On a first
| start (no tracking rows in SQL, no live counts) it records 90 days of
| sample traffic (demo/sample_traffic.ts); `npm run demo -- --empty` starts
| without it.
|
*/

import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { parseEnv } from 'node:util'
import { Redis } from 'ioredis'
import { Ignitor, prettyPrintError } from '@adonisjs/core'
import { APP_ROOT, importer, runDemoMigrations } from './lib/demo_app.ts'

const envFile = new URL('.env', APP_ROOT)

/**
 * Writes .env from .env.example, with a random APP_KEY when it has none
 */
function ensureEnvFile() {
  let contents = existsSync(envFile)
    ? readFileSync(envFile, 'utf8')
    : readFileSync(new URL('.env.example', APP_ROOT), 'utf8')
  const created = !existsSync(envFile)
  if (!parseEnv(contents).APP_KEY) {
    const line = `APP_KEY=${randomBytes(32).toString('base64url')}`
    contents = /^APP_KEY=.*$/m.test(contents)
      ? contents.replace(/^APP_KEY=.*$/m, line)
      : `${contents.trimEnd()}\n${line}\n`
    writeFileSync(envFile, contents)
    console.log(created ? 'created .env with a random APP_KEY' : 'added a random APP_KEY to .env')
  }
  return parseEnv(contents)
}

/**
 * true when a Redis server answers PING at host:port within timeoutMs
 */
async function redisAnswers(host: string, port: number, timeoutMs = 800): Promise<boolean> {
  const client = new Redis({
    host,
    port,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

const fileEnv = ensureEnvFile()
const setting = (name: string, fallback: string) => process.env[name] || fileEnv[name] || fallback

const redisHost = setting('REDIS_HOST', '127.0.0.1')
const redisPort = Number(setting('REDIS_PORT', '6379'))
if (setting('TRACKING_STORE', 'redis') === 'redis') {
  if (await redisAnswers(redisHost, redisPort)) {
    console.log(`tracking store: redis at ${redisHost}:${redisPort}`)
  } else {
    process.env.TRACKING_STORE = 'memory'
    console.log(
      `Redis does not answer at ${redisHost}:${redisPort}: using the memory store (counts live in this process only)`
    )
  }
} else {
  console.log('tracking store: memory')
}

runDemoMigrations()

try {
  await new Ignitor(APP_ROOT, { importer })
    .tap((app) => {
      app.booting(async () => {
        await import('#start/env')
      })
      app.listen('SIGTERM', () => app.terminate())
      app.listen('SIGINT', () => app.terminate())
    })
    .httpServer()
    .start()
  const { seedDemoUsers } = await import('#demo/seed')
  await seedDemoUsers()
  if (process.argv.includes('--empty')) {
    console.log('sample: skipped (--empty)')
  } else {
    const { seedSampleTraffic } = await import('#demo/seed')
    await seedSampleTraffic(`http://localhost:${setting('PORT', '3333')}`)
  }
} catch (error) {
  process.exitCode = 1
  await prettyPrintError(error)
}

if (!process.exitCode) {
  const base = `http://localhost:${setting('PORT', '3333')}`
  console.log(`
adonis-tracking demo is running on ${base}

  pages       ${base}/  ${base}/about  ${base}/posts/1
  redirects   ${base}/old-home (302)  ${base}/moved (301)
  static      ${base}/assets/app.css (not counted)
  errors      ${base}/boom (500)
  login       ${base}/login
              staff@example.com / secret  (staff: may open the analytics page)
              user@example.com / secret   (not staff)
  account     ${base}/account (requires login)
  analytics   ${base}/cabinet/tracking (staff only)

Move counts into SQL with: node ace flush_page_views
Stop with Ctrl+C.
`)
}
