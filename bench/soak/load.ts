/*
|--------------------------------------------------------------------------
| HTTP load against the demo app
|--------------------------------------------------------------------------
|
| Keep-alive connections through node:http. Open loop (a fixed rate: the
| latency of a request counts from the moment it was due, so a stalled app
| shows up) or closed loop (N connections, each sends its next request when
| the previous answered: the most the app can take).
|
*/

import { Agent, request } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'

/** A real browser user agent (isbot lets it through) */
export const BROWSER_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36'

/** Demo pages that answer 200 and are counted */
export const PAGES = ['/', '/about', '/posts/1', '/posts/2', '/posts/3']

/** One request of a load run */
export interface Sample {
  /** when it was due (performance.now()) */
  at: number
  /** latency in ms, from `at` to the end of the response body */
  ms: number
  /** HTTP status, 0 when no response came */
  status: number
  error?: string
  /** sent again after a reset of a reused keep-alive connection (see get) */
  retried?: boolean
  /** POST requests (events); absent for GET */
  post?: boolean
}

/** Options of a load run */
export interface LoadOptions {
  port: number
  /** requests per second (open loop) */
  rate?: number
  /** connections (closed loop when rate is not given) */
  connections?: number
  /** headers of request number i (default: a browser of one of 200 visitors) */
  headers?: (i: number) => Record<string, string>
  /** path of request number i (default: the demo pages in turn) */
  path?: (i: number) => string
  /** true when request number i is a POST without body (default: every request a GET) */
  post?: (i: number) => boolean
  /** most requests waiting at once in open loop (beyond: counted as failed) */
  maxOutstanding?: number
  /** reuse connections (default true); false: one connection per request */
  keepAlive?: boolean
  /** the client gives up on a request after this many ms (default 15 s) */
  timeoutMs?: number
}

/**
 * One GET (or a POST without body) through `agent`; never rejects (errors become status 0). A reset
 * of a reused keep-alive connection before any answer is the race of the
 * server closing an idle connection as the client reuses it: the request is
 * sent once more, as browsers and Node's documentation (request.reusedSocket)
 * do, and marked `retried`.
 */
export async function get(
  agent: Agent,
  port: number,
  path: string,
  headers: Record<string, string>,
  at = performance.now(),
  timeoutMs = 15_000,
  method: 'GET' | 'POST' = 'GET'
): Promise<Sample> {
  let { sample, staleSocket } = await getOnce(agent, port, path, headers, at, timeoutMs, method)
  if (staleSocket) {
    const again = await getOnce(agent, port, path, headers, at, timeoutMs, method)
    sample = { ...again.sample, retried: true }
  }
  return method === 'POST' ? { ...sample, post: true } : sample
}

function getOnce(
  agent: Agent,
  port: number,
  path: string,
  headers: Record<string, string>,
  at: number,
  timeoutMs: number,
  method: 'GET' | 'POST'
): Promise<{ sample: Sample; staleSocket?: boolean }> {
  return new Promise((done) => {
    let answered = false
    const resolve = (sample: Sample, staleSocket = false) => done({ sample, staleSocket })
    const req = request(
      { host: '127.0.0.1', port, path, method, headers, agent, timeout: timeoutMs },
      (res) => {
        answered = true
        res.resume()
        res.on('end', () =>
          resolve({ at, ms: performance.now() - at, status: res.statusCode ?? 0 })
        )
        res.on('error', (error) =>
          resolve({ at, ms: performance.now() - at, status: 0, error: error.message })
        )
      }
    )
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve(
        { at, ms: performance.now() - at, status: 0, error: error.message },
        !answered && req.reusedSocket && error.code === 'ECONNRESET'
      )
    )
    req.end()
  })
}

/**
 * A running load; stop() waits for the requests under way
 */
export class Load {
  readonly samples: Sample[] = []
  #options: LoadOptions
  #agent: Agent
  #running = false
  #pending = new Set<Promise<void>>()
  #loops: Promise<void>[] = []
  #sent = 0

  constructor(options: LoadOptions) {
    this.#options = options
    this.#agent = new Agent({
      keepAlive: options.keepAlive ?? true,
      maxSockets: options.connections ?? 64,
    })
  }

  get sent(): number {
    return this.#sent
  }

  #headers(i: number) {
    return (
      this.#options.headers?.(i) ?? {
        'user-agent': `${BROWSER_UA} visitor/${i % 200}`,
      }
    )
  }

  #path(i: number) {
    return this.#options.path?.(i) ?? PAGES[i % PAGES.length]
  }

  #fire(at: number) {
    const i = this.#sent++
    const done = get(
      this.#agent,
      this.#options.port,
      this.#path(i),
      this.#headers(i),
      at,
      this.#options.timeoutMs,
      this.#options.post?.(i) ? 'POST' : 'GET'
    ).then((sample) => {
      this.samples.push(sample)
    })
    this.#pending.add(done)
    void done.finally(() => this.#pending.delete(done))
    return done
  }

  start(): this {
    this.#running = true
    const { rate } = this.#options
    if (rate) {
      this.#loops.push(this.#openLoop(rate))
    } else {
      for (let c = 0; c < (this.#options.connections ?? 8); c++) this.#loops.push(this.#worker())
    }
    return this
  }

  async #openLoop(rate: number) {
    const started = performance.now()
    const maxOutstanding = this.#options.maxOutstanding ?? 5000
    let due = 0
    while (this.#running) {
      const elapsed = performance.now() - started
      const target = Math.floor((elapsed * rate) / 1000)
      while (due < target) {
        const at = started + (due * 1000) / rate
        due++
        if (this.#pending.size >= maxOutstanding) {
          this.#sent++
          this.samples.push({ at, ms: 0, status: 0, error: 'too many outstanding requests' })
          continue
        }
        void this.#fire(at)
      }
      await sleep(2)
    }
  }

  async #worker() {
    while (this.#running) {
      await this.#fire(performance.now())
      /* a refused connection answers at once: do not spin on it */
      if (this.samples.at(-1)?.status === 0) await sleep(5)
    }
  }

  /** Stops sending and waits for every request under way */
  async stop() {
    this.#running = false
    await Promise.all(this.#loops)
    await Promise.all([...this.#pending])
    this.#agent.destroy()
  }
}
