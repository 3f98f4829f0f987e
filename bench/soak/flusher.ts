/*
|--------------------------------------------------------------------------
| A flusher in its own process (R2), killed or run concurrently
|--------------------------------------------------------------------------
|
| flushPageViews (src/flush.ts) on its own Lucid Database and Redis client:
| what a cron run of flush_page_views does once the app has booted.
| SOAK_FLUSHER (JSON) = { db, redisPort, mode, clusterPorts? }:
|   once   flushes once, prints "done <json summary>"
|   loop   flushes until the key "soak:stop" exists, prints "done <runs>"
| Both print "ready" once Redis and the database answer, then wait for a
| line on stdin and print "flushing" when they start.
|
*/

import { Cluster, Redis } from 'ioredis'
import { flushPageViews, type FlushSummary } from '../../src/flush.ts'
import { RedisStore } from '../../src/stores/redis_store.ts'
import { closeDatabase, openDatabase } from './sql.ts'

const { db, redisPort, mode, clusterPorts } = JSON.parse(process.env.SOAK_FLUSHER ?? '{}')
/* clusterPorts: the nodes of a local Redis Cluster (R6) instead of one server */
const redis: Redis | Cluster = clusterPorts
  ? new Cluster((clusterPorts as number[]).map((port) => ({ host: '127.0.0.1', port })))
  : new Redis({ host: '127.0.0.1', port: Number(redisPort) })
const database = openDatabase(db)
const target = {
  store: new RedisStore({ client: () => redis, keyPrefix: 'tracking', ttlSeconds: 86_400 }),
  settings: { timezone: 'UTC' },
}

try {
  await database.connection().rawQuery('select 1')
  await redis.ping()
  /* booted and connected: wait for "go" on stdin, so the parent times the flush, not the boot */
  process.stdout.write('ready\n')
  await new Promise((resolve) => process.stdin.once('data', resolve))
  process.stdout.write('flushing\n')
  if (mode === 'loop') {
    let runs = 0
    let recovered = 0
    while (!(await redis.exists('soak:stop'))) {
      const summary: FlushSummary = await flushPageViews(target, database, { chunkSize: 200 })
      recovered += summary.recovered
      runs++
    }
    process.stdout.write(`done ${JSON.stringify({ runs, recovered })}\n`)
  } else {
    const summary = await flushPageViews(target, database, { chunkSize: 200 })
    process.stdout.write(`done ${JSON.stringify(summary)}\n`)
  }
} finally {
  redis.disconnect()
  await closeDatabase(database)
}
