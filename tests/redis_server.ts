import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'

/** A free TCP port on loopback */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/**
 * A redis-server owned by one test, on its own port, that the test can stop
 * and start again (outage tests). Keeps nothing on disk.
 */
export class TestRedisServer {
  port = 0
  #process?: ChildProcess

  async start(port?: number) {
    this.port = port ?? this.port ?? 0
    if (!this.port) this.port = await freePort()
    this.#process = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' }
    )
    const probe = new Redis({
      port: this.port,
      host: '127.0.0.1',
      lazyConnect: true,
      retryStrategy: () => null,
    })
    probe.on('error', () => {})
    for (let i = 0; i < 100; i++) {
      try {
        await probe.connect()
        await probe.ping()
        probe.disconnect()
        return this
      } catch {
        await sleep(50)
      }
    }
    probe.disconnect()
    throw new Error(`redis-server did not start on port ${this.port}`)
  }

  /**
   * Freezes the server (SIGSTOP): connections stay open but nothing is
   * answered, like a stalled host or a network partition
   */
  pause() {
    this.#process?.kill('SIGSTOP')
  }

  /** Lets a paused server answer again (SIGCONT) */
  resume() {
    this.#process?.kill('SIGCONT')
  }

  async stop() {
    const child = this.#process
    if (!child || child.exitCode !== null) return
    child.kill('SIGKILL')
    await once(child, 'exit')
    this.#process = undefined
  }
}
