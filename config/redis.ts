import env from '#start/env'
import { defineConfig } from '@adonisjs/redis'
import type { InferConnections } from '@adonisjs/redis/types'

/** REDIS_CLUSTER_NODES (`host:port,host:port`): the nodes of a Redis Cluster to use instead */
const clusterNodes = env
  .get('REDIS_CLUSTER_NODES', '')
  .split(',')
  .filter(Boolean)
  .map((node) => {
    const [host, port] = node.trim().split(':')
    return { host, port: Number(port) }
  })

/**
 * The app's Redis connection, reused by the tracking store: one server, or
 * a Redis Cluster when REDIS_CLUSTER_NODES is set
 */
const redisConfig = defineConfig({
  connection: 'main',
  connections: {
    main:
      clusterNodes.length > 0
        ? { clusters: clusterNodes }
        : {
            host: env.get('REDIS_HOST', '127.0.0.1'),
            port: env.get('REDIS_PORT', 6379),
            password: env.get('REDIS_PASSWORD', ''),
            db: 0,
            keyPrefix: '',
            retryStrategy(times: number) {
              return times > 10 ? null : times * 50
            },
          },
  },
})

export default redisConfig

declare module '@adonisjs/redis/types' {
  export interface RedisConnections extends InferConnections<typeof redisConfig> {}
}
