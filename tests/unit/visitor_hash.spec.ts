import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { flushPageViews } from '../../src/flush.ts'
import { RedisHll } from '../../src/stores/redis_hll.ts'
import type { TrackingStoreName } from '../../src/types.ts'
import {
  buildManager,
  redisClient,
  truncateTrackingTables,
  uniqueKeyPrefix,
  type TestTracking,
} from '../helpers.ts'

const DAY = '2026-04-02'
const APP_KEY = 'visitor-hash-spec-app-key-0123456'
const STORES: TrackingStoreName[] = ['redis', 'memory']
/** the users who visited: the staff user 1 among them */
const VISITORS = ['1', '17', '42', '199']

/** Records each user once on DAY, then flushes: the day's sketch is in SQL */
async function visitAndFlush(tracking: TestTracking, users: string[]): Promise<Buffer> {
  for (const visitor of users)
    tracking.manager.recorder.recordView({ path: '/', day: DAY, visitor })
  await tracking.manager.drain()
  await flushPageViews(tracking.manager, db)
  const row = await db.from('tracking_daily_stats').where('date', DAY).firstOrFail()
  return Buffer.from(row.visitors_sketch)
}

/**
 * The attack: add each candidate id, as it is, to a copy of the stored
 * sketch in Redis; a count that does not change says "probably visited"
 */
async function revealedIds(sketch: Buffer): Promise<string[]> {
  const key = `${uniqueKeyPrefix('attack')}:copy`
  const redis = redisClient()
  const revealed: string[] = []
  try {
    for (let id = 1; id <= 200; id++) {
      await redis.set(key, sketch)
      const before = await redis.pfcount(key)
      await redis.pfadd(key, String(id))
      if ((await redis.pfcount(key)) === before) revealed.push(String(id))
    }
  } finally {
    await redis.del(key)
  }
  return revealed
}

test.group('Keyed visitor hashes', (group) => {
  group.each.setup(() => truncateTrackingTables())

  for (const store of STORES) {
    test(`ids 1..200 tested against a stored sketch reveal no visitor (${store} store)`, async ({
      assert,
      cleanup,
    }) => {
      const tracking = buildManager({}, { store, appKey: APP_KEY })
      cleanup(() => tracking.cleanup())
      const sketch = await visitAndFlush(tracking, VISITORS)
      /* the count is still right */
      assert.equal(RedisHll.fromBuffer(sketch)!.count(), VISITORS.length)
      assert.deepEqual(await revealedIds(sketch), [])
    })
  }

  test('the same app key in two processes: a user is one visitor; another key, two', async ({
    assert,
    cleanup,
  }) => {
    const keyPrefix = uniqueKeyPrefix('keyed')
    const first = buildManager({ keyPrefix }, { appKey: APP_KEY })
    const second = buildManager({ keyPrefix }, { appKey: APP_KEY })
    const other = buildManager({ keyPrefix }, { appKey: `${APP_KEY}-rotated` })
    cleanup(async () => {
      for (const tracking of [first, second, other]) await tracking.cleanup()
    })
    for (const tracking of [first, second]) {
      tracking.manager.recorder.recordView({ path: '/', day: DAY, visitor: '7' })
      await tracking.manager.drain()
    }
    assert.equal(await first.manager.store.getUniqueCount(DAY), 1)
    other.manager.recorder.recordView({ path: '/', day: DAY, visitor: '7' })
    await other.manager.drain()
    assert.equal(await first.manager.store.getUniqueCount(DAY), 2)
  })

  test('without an app key the ids are still hashed (a random key of the process)', async ({
    assert,
    cleanup,
  }) => {
    const tracking = buildManager({}, { store: 'memory', appKey: '' })
    cleanup(() => tracking.cleanup())
    const sketch = await visitAndFlush(tracking, VISITORS)
    assert.equal(RedisHll.fromBuffer(sketch)!.count(), VISITORS.length)
    /*
     * The key is random, so which ids collide with a stored register is
     * chance: each of the 200 has about a 1 in 5,000 chance to leave the count
     * unchanged (a few % that one of them does). Unhashed ids would reveal
     * every visitor; a random key reveals them no more than any other id
     */
    const revealed = await revealedIds(sketch)
    assert.isBelow(revealed.length, 5)
    assert.isBelow(revealed.filter((id) => VISITORS.includes(id)).length, VISITORS.length)
  })
})
