import { once } from 'node:events'
import { createServer, connect, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy between a client and a real redis-server that can lose one
 * reply: once armed, the next bytes Redis sends back are not forwarded and
 * the client's connection is reset instead, so the command was applied but
 * the client never hears of it (a connection reset between EXEC or EVALSHA
 * and its answer). The client then reconnects through the proxy as usual.
 */
export class ReplyDroppingProxy {
  port = 0
  /** replies lost so far */
  dropped = 0
  #server?: Server
  #armed = false
  #sockets = new Set<Socket>()

  constructor(readonly upstreamPort: number) {}

  async start() {
    this.#server = createServer((client) => {
      const upstream = connect(this.upstreamPort, '127.0.0.1')
      this.#sockets.add(client).add(upstream)
      const close = () => {
        client.destroy()
        upstream.destroy()
        this.#sockets.delete(client)
        this.#sockets.delete(upstream)
      }
      client.on('error', close).on('close', close)
      upstream.on('error', close).on('close', close)
      client.on('data', (chunk) => upstream.write(chunk))
      upstream.on('data', (chunk) => {
        if (this.#armed) {
          this.#armed = false
          this.dropped++
          client.resetAndDestroy()
          upstream.destroy()
          return
        }
        client.write(chunk)
      })
    })
    this.#server.listen(0, '127.0.0.1')
    await once(this.#server, 'listening')
    this.port = (this.#server.address() as { port: number }).port
    return this
  }

  /** Loses the next reply (and resets that connection) */
  dropNextReply() {
    this.#armed = true
  }

  async stop() {
    for (const socket of this.#sockets) socket.destroy()
    this.#sockets.clear()
    if (!this.#server) return
    this.#server.close()
    await once(this.#server, 'close')
  }
}
