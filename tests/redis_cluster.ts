import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { Cluster, Redis } from 'ioredis'
import { freePort } from './redis_server.ts'

const run = promisify(execFile)

/**
 * A real Redis Cluster owned by one test file: three `redis-server
 * --cluster-enabled yes` masters on free loopback ports, joined with
 * `redis-cli --cluster create` (the 16,384 slots split in three), nothing
 * on disk. The nodes' cluster files live in a temporary folder removed by
 * stop().
 */
export class TestRedisCluster {
  ports: number[] = []
  #processes: ChildProcess[] = []
  #dir?: string

  async start(nodes = 3) {
    this.#dir = mkdtempSync(join(tmpdir(), 'tracking-cluster-'))
    for (let i = 0; i < nodes; i++) this.ports.push(await freePort())
    for (const port of this.ports) {
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(this.#dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '2000',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          this.#dir,
        ],
        { stdio: 'ignore' }
      )
      this.#processes.push(child)
    }
    for (const port of this.ports) await this.#waitForPing(port)
    await run('redis-cli', [
      '--cluster',
      'create',
      ...this.ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ])
    await this.#waitForState()
    return this
  }

  /** An ioredis Cluster client on the nodes (the caller quits it) */
  client(): Cluster {
    return new Cluster(this.ports.map((port) => ({ host: '127.0.0.1', port })))
  }

  /** The node (its port) that serves a key's slot */
  async nodeOf(key: string): Promise<number> {
    const probe = new Redis({ port: this.ports[0], host: '127.0.0.1' })
    try {
      const slot = (await probe.call('CLUSTER', 'KEYSLOT', key)) as number
      const ranges = (await probe.call('CLUSTER', 'SLOTS')) as Array<
        [number, number, [string, number]]
      >
      const range = ranges.find(([from, to]) => slot >= from && slot <= to)
      if (!range) throw new Error(`no node serves slot ${slot}`)
      return range[2][1]
    } finally {
      probe.disconnect()
    }
  }

  async stop() {
    for (const child of this.#processes) {
      if (child.exitCode === null) {
        child.kill('SIGKILL')
        await once(child, 'exit')
      }
    }
    this.#processes = []
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true })
  }

  async #waitForPing(port: number) {
    const probe = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      retryStrategy: () => null,
    })
    probe.on('error', () => {})
    try {
      for (let i = 0; i < 100; i++) {
        try {
          await probe.connect()
          await probe.ping()
          return
        } catch {
          await sleep(50)
        }
      }
      throw new Error(`redis-server (cluster node) did not start on port ${port}`)
    } finally {
      probe.disconnect()
    }
  }

  /** Every node says cluster_state:ok (the slots are assigned and the nodes agree) */
  async #waitForState() {
    for (let i = 0; i < 200; i++) {
      let ok = 0
      for (const port of this.ports) {
        const probe = new Redis({ port, host: '127.0.0.1' })
        try {
          const info = (await probe.call('CLUSTER', 'INFO')) as string
          if (info.includes('cluster_state:ok')) ok++
        } finally {
          probe.disconnect()
        }
      }
      if (ok === this.ports.length) return
      await sleep(50)
    }
    throw new Error('the local Redis Cluster did not reach cluster_state:ok')
  }
}

/**
 * Starts a local cluster for one test group (group.setup) and stops it after
 * the group; `client()` is its ioredis Cluster client, shared by the group's
 * stores
 */
export function clusterForGroup(group: { setup(fn: () => Promise<() => Promise<void>>): void }) {
  const cluster = new TestRedisCluster()
  let client: Cluster | undefined
  group.setup(async () => {
    await cluster.start()
    client = cluster.client()
    return async () => {
      await client?.quit()
      await cluster.stop()
    }
  })
  return {
    cluster,
    client(): Cluster {
      if (!client) throw new Error('the test cluster is started by the group setup')
      return client
    },
  }
}
