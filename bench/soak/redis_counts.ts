/*
|--------------------------------------------------------------------------
| What the app wrote to Redis (key layout: src/stores/keys.ts)
|--------------------------------------------------------------------------
*/

import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { TrackingKeys } from '../../src/stores/keys.ts'

/** The keys of the demo app (default keyPrefix "tracking") */
export const KEYS = new TrackingKeys('tracking')

/** Every key matching a pattern (SCAN; the soak's own server, so small) */
export async function scanKeys(client: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    keys.push(...batch)
  } while (cursor !== '0')
  return keys
}

/** Live (not yet flushed) views of every day, from the per-day totals */
export async function liveTotal(client: Redis): Promise<number> {
  const keys = await scanKeys(client, `${KEYS.tag}:total:*`)
  if (keys.length === 0) return 0
  const values = await client.mget(...keys)
  return values.reduce((sum, value) => sum + Number(value ?? 0), 0)
}

/** Live views summed over the per-day path hashes */
export async function livePathTotal(client: Redis): Promise<number> {
  let total = 0
  for (const key of await scanKeys(client, `${KEYS.tag}:views:*`)) {
    for (const views of Object.values(await client.hgetall(key))) total += Number(views)
  }
  return total
}

/**
 * Waits until the live total reaches `expected`, or stops moving for
 * `quietMs` (the app's write buffer sends every bufferMs, 1 s by default)
 */
export async function settledTotal(
  client: Redis,
  expected: number,
  quietMs = 3000,
  maxMs = 20_000
): Promise<number> {
  const started = Date.now()
  let last = -1
  let lastChange = Date.now()
  for (;;) {
    const total = await liveTotal(client)
    if (total >= expected) return total
    if (total !== last) {
      last = total
      lastChange = Date.now()
    }
    if (Date.now() - lastChange >= quietMs || Date.now() - started >= maxMs) return total
    await sleep(200)
  }
}
