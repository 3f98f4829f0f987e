/*
|--------------------------------------------------------------------------
| Child processes of the soak run: the demo app, ace, redis-server
|--------------------------------------------------------------------------
*/

import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis, type RedisOptions } from 'ioredis'
import { freePort } from '../../tests/redis_server.ts'

/** The repository root (the demo app) */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Node flags that load the TypeScript sources, as `npm run soak` does */
export const NODE_FLAGS = ['--conditions=tracking-source', '--import=@poppinss/ts-exec']

/** APP_KEY of every child of this run */
const APP_KEY = randomBytes(32).toString('base64url')

/** The SQL database of a scenario */
export type DbName = 'sqlite' | 'pg' | 'mysql'

/**
 * Environment of the demo app and of ace for one scenario
 */
/** The run's SQLite database, in tmp/ (never the demo's tmp/db.sqlite3) */
export const SOAK_SQLITE_FILE = 'soak.sqlite3'

export function appEnv(options: {
  db: DbName
  redisPort: number
  port?: number
  extra?: Record<string, string>
}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(options.port ?? 0),
    APP_KEY,
    LOG_LEVEL: 'warn',
    SESSION_DRIVER: 'cookie',
    TRACKING_STORE: 'redis',
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(options.redisPort),
    DB: options.db,
    DB_DATABASE: process.env.DB_DATABASE ?? 'test_soak',
    DB_SQLITE_FILE: SOAK_SQLITE_FILE,
    ...options.extra,
  }
}

/**
 * Runs `node ace <args>` to the end; returns its exit code and output
 */
export async function ace(
  args: string[],
  env: NodeJS.ProcessEnv
): Promise<{ code: number | null; output: string; ms: number }> {
  const started = performance.now()
  const child = spawn(process.execPath, [...NODE_FLAGS, 'ace.js', ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, output, ms: performance.now() - started }
}

/**
 * The demo app in a child process (bench/soak/server.ts)
 */
export class DemoApp {
  readonly port: number
  readonly output: string[] = []
  #child?: ChildProcess
  #exit?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  #rssSamples: number[] = []
  #sampler?: NodeJS.Timeout

  private constructor(port: number) {
    this.port = port
  }

  /** Starts the app and waits until it serves requests */
  static async start(env: NodeJS.ProcessEnv): Promise<DemoApp> {
    const app = new DemoApp(await freePort())
    const child = spawn(process.execPath, [...NODE_FLAGS, 'bench/soak/server.ts'], {
      cwd: ROOT,
      env: { ...env, PORT: String(app.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    app.#child = child
    app.#exit = once(child, 'exit').then(([code, signal]) => ({ code, signal }))
    let ready: () => void
    const isReady = new Promise<void>((resolve) => (ready = resolve))
    const collect = (chunk: Buffer) => {
      const text = chunk.toString()
      for (const line of text.split('\n')) if (line.trim()) app.output.push(line)
      if (text.includes('soak server ready')) ready()
    }
    child.stdout!.on('data', collect)
    child.stderr!.on('data', collect)
    const outcome = await Promise.race([
      isReady.then(() => 'ready' as const),
      app.#exit.then(() => 'exited' as const),
      sleep(60_000, null, { ref: false }).then(() => 'timeout' as const),
    ])
    if (outcome !== 'ready') {
      child.kill('SIGKILL')
      throw new Error(`the demo app did not start (${outcome}): ${app.output.join('\n')}`)
    }
    return app
  }

  get pid(): number {
    return this.#child!.pid!
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** Resident memory of the app now, in bytes (from /proc) */
  rss(): number {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8')
      const match = /VmRSS:\s+(\d+) kB/.exec(status)
      return match ? Number(match[1]) * 1024 : 0
    } catch {
      return 0
    }
  }

  /** Samples the resident memory every `everyMs` until stopSampling() */
  startSampling(everyMs = 100) {
    this.#rssSamples = []
    this.#sampler = setInterval(() => this.#rssSamples.push(this.rss()), everyMs)
  }

  /** Stops sampling; returns the samples (bytes) */
  stopSampling(): number[] {
    clearInterval(this.#sampler)
    return this.#rssSamples
  }

  /** Sends a signal (SIGTERM: graceful shutdown) and waits for the exit */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000) {
    const child = this.#child
    if (!child || child.exitCode !== null || child.signalCode !== null) return this.#exit!
    child.kill(signal)
    const outcome = await Promise.race([this.#exit!, sleep(timeoutMs, null, { ref: false })])
    if (outcome) return outcome
    child.kill('SIGKILL')
    return this.#exit!
  }

  /** Page views the app logged as dropped by its bounded write buffer */
  droppedViews(): number {
    return this.output
      .map((line) => /dropped (\d+) page views/.exec(line))
      .reduce((sum, match) => sum + (match ? Number(match[1]) : 0), 0)
  }

  /** Resolves when the process has exited */
  exited() {
    return this.#exit!
  }
}

/**
 * A redis-server owned by the soak run, on its own port, whose data can
 * survive a stop: `stop()` is SHUTDOWN SAVE, `start()` loads the dump again.
 * (tests/redis_server.ts is the throw-away variant the unit tests use.)
 */
export class SoakRedis {
  port = 0
  readonly dir = mkdtempSync(join(tmpdir(), 'soak-redis-'))
  #child?: ChildProcess

  async start(): Promise<this> {
    if (!this.port) this.port = await freePort()
    this.#child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--dbfilename',
        'dump.rdb',
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' }
    )
    for (let i = 0; i < 200; i++) {
      const probe = this.client({ lazyConnect: true, retryStrategy: () => null })
      try {
        await probe.connect()
        if ((await probe.ping()) === 'PONG') return this
      } catch {
        await sleep(25)
      } finally {
        probe.disconnect()
      }
    }
    throw new Error(`redis-server did not start on port ${this.port}`)
  }

  /** A new ioredis client on this server (the caller disconnects it) */
  client(options: RedisOptions = {}): Redis {
    const client = new Redis({ host: '127.0.0.1', port: this.port, ...options })
    client.on('error', () => {})
    return client
  }

  /** Stops the server; with save, its data is written first and loaded by the next start */
  async stop(save = true) {
    const child = this.#child
    if (!child || child.exitCode !== null) return
    if (save) {
      const client = this.client({ lazyConnect: true, retryStrategy: () => null })
      await client.connect()
      await client.call('SHUTDOWN', 'SAVE').catch(() => {})
      client.disconnect()
      await Promise.race([once(child, 'exit'), sleep(10_000, null, { ref: false })])
    }
    if (child.exitCode === null) {
      child.kill('SIGKILL')
      await once(child, 'exit')
    }
    this.#child = undefined
  }

  /** Stops the server for good and removes its files */
  async destroy() {
    await this.stop(false)
    rmSync(this.dir, { recursive: true, force: true })
  }
}
