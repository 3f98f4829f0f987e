/*
|--------------------------------------------------------------------------
| R3: SIGTERM under load
|--------------------------------------------------------------------------
|
| Closed-loop load (the most the app can take), then SIGTERM while the
| load goes on until the app has exited. Every page view the app answered
| 200 must be in Redis afterwards: the write buffer is drained on shutdown.
|
*/

import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { TestRedisServer } from '../../tests/redis_server.ts'
import { formatNumber, type Report } from './checks.ts'
import { Load } from './load.ts'
import { DemoApp, appEnv } from './processes.ts'
import { liveTotal } from './redis_counts.ts'

const S = 'R3'

/** Sizes of R3 */
export interface SigtermOptions {
  connections: number
  loadMs: number
}

export async function sigtermDrain(report: Report, options: SigtermOptions) {
  const redisServer = await new TestRedisServer().start()
  const probe = new Redis({ host: '127.0.0.1', port: redisServer.port })
  let app: DemoApp | undefined
  try {
    app = await DemoApp.start(appEnv({ db: 'sqlite', redisPort: redisServer.port }))
    /*
     * A new connection per request: a keep-alive client that never pauses
     * keeps Node's server.close() (what AdonisJS calls on SIGTERM) waiting
     * for ever, so the app would never reach the drain (see the note)
     */
    const load = new Load({
      port: app.port,
      connections: options.connections,
      keepAlive: false,
    }).start()
    await sleep(options.loadMs)
    const termAt = performance.now()
    const exit = await app.stop('SIGTERM')
    const exitedAt = performance.now()
    await load.stop()

    const ok = load.samples.filter((sample) => sample.status === 200)
    const afterTerm = ok.filter((sample) => sample.at + sample.ms >= termAt).length
    const refused = load.samples.filter((sample) => sample.status !== 200).length
    const stored = await liveTotal(probe)

    report.figure(
      S,
      'load',
      `${options.connections} connections, closed loop, a new connection per request, ${formatNumber(options.loadMs / 1000)} s before SIGTERM`
    )
    report.figure(
      S,
      'responses',
      `${formatNumber(ok.length)} answered 200 (${afterTerm} of them finished after SIGTERM), ${formatNumber(refused)} refused or cut after the shutdown began`
    )
    report.figure(S, 'shutdown took', `${formatNumber(exitedAt - termAt)} ms`)
    report.note(
      S,
      'Clients use a new connection per request. With keep-alive clients that never pause, the app does not exit: AdonisJS answers SIGTERM with `server.close()`, which waits for every open connection, and Node keeps serving requests on busy keep-alive connections (measured during development: 11,679 responses in the 30 s after SIGTERM, then SIGKILL). Put the app behind a proxy that stops routing to it before SIGTERM, or close idle keep-alive connections on shutdown; the package drains its buffer once the providers shut down.'
    )
    report.check(
      S,
      'app exits 0 on SIGTERM',
      exit.code === 0,
      `exit ${exit.code ?? exit.signal}`,
      '0'
    )
    report.check(
      S,
      'views lost',
      stored === ok.length,
      `${formatNumber(ok.length - stored)} (${formatNumber(stored)} in Redis of ${formatNumber(ok.length)} answered 200)`,
      '0'
    )
  } finally {
    probe.disconnect()
    await app?.stop('SIGKILL')
    await redisServer.stop()
  }
}
