import { once } from 'node:events'
import { test } from '@japa/runner'
import { MemoryStore } from '../../src/stores/memory_store.ts'
import type { TrackingBatch } from '../../src/stores/types.ts'
import { durationBucket, medianDuration, visitSeconds } from '../../src/stores/visits.ts'
import { WriteBuffer } from '../../src/write_buffer.ts'

const DAY = '2026-03-10'
const T0 = Date.UTC(2026, 2, 10, 8, 0, 0)
const MINUTE = 60_000

function buffered(options: { maxEntries?: number; timezone?: string } = {}) {
  const store = new MemoryStore({ ttlSeconds: 3600 })
  const buffer = new WriteBuffer(store, {
    bufferMs: 60_000,
    maxEntries: options.maxEntries ?? 1_000_000,
    timezone: options.timezone,
  })
  const view = (minutes: number, path: string, visitor: string | null, anonymous?: string) =>
    buffer.addView(DAY, path, visitor, anonymous ?? null, 0, null, T0 + minutes * MINUTE)
  /** drains and hands back the batch the store received */
  const sent = async (): Promise<TrackingBatch> => {
    const written = once(buffer, 'written')
    await buffer.drain()
    const [batch] = await written
    return batch as TrackingBatch
  }
  return { store, buffer, view, sent }
}

test.group('Visits | duration buckets and the median', () => {
  test('buckets: every second under a minute, then 10 s, 1 min, 5 min, 30 min, one past a day', ({
    assert,
  }) => {
    assert.deepEqual(
      [
        0, 1, 59, 60, 69, 599, 600, 659, 3599, 3600, 3899, 14_399, 14_400, 16_199, 86_399, 86_400,
        1e6,
      ].map(durationBucket),
      [
        0, 1, 59, 60, 60, 590, 600, 600, 3540, 3600, 3600, 14_100, 14_400, 14_400, 84_600, 86_400,
        86_400,
      ]
    )
    const buckets = new Set<number>()
    for (let s = 0; s < 100_000; s++) buckets.add(durationBucket(s))
    assert.equal(buckets.size, 241)
  })

  test('seconds between two views are whole and never negative', ({ assert }) => {
    assert.equal(visitSeconds(T0, T0 + 1999), 1)
    assert.equal(visitSeconds(T0, T0), 0)
    assert.equal(visitSeconds(T0 + 5000, T0), 0)
  })

  test('the median is the mean of the bucket at the middle rank; even counts average two', ({
    assert,
  }) => {
    const histogram = (entries: Array<[number, number, number]>) =>
      new Map(entries.map(([bucket, visits, seconds]) => [bucket, { visits, seconds }]))
    assert.equal(medianDuration(new Map()), 0)
    /* 0, 0, 0, 120, 1200 */
    assert.equal(
      medianDuration(
        histogram([
          [0, 3, 0],
          [120, 1, 120],
          [1200, 1, 1200],
        ])
      ),
      0
    )
    /* 0, 120 */
    assert.equal(
      medianDuration(
        histogram([
          [0, 1, 0],
          [120, 1, 120],
        ])
      ),
      60
    )
    /* 121 and 127 s in the 120 s bucket, 3000 s: the middle one is their bucket's mean */
    assert.equal(
      medianDuration(
        histogram([
          [120, 2, 248],
          [3000, 1, 3000],
        ])
      ),
      124
    )
    /* live deltas that cancel out leave no bucket behind */
    assert.equal(
      medianDuration(
        histogram([
          [0, 0, 0],
          [60, 1, 65],
        ])
      ),
      65
    )
  })
})

test.group('Visits | write buffer segments', () => {
  test("a visitor's views are one segment, updated in place: its entries do not grow with views", async ({
    assert,
  }) => {
    const { buffer, view, sent } = buffered()
    view(0, '/', 'u1')
    const size = buffer.size
    for (let i = 1; i <= 1000; i++) view(i / 100, '/', 'u1')
    assert.equal(buffer.size, size)
    view(11, '/about', 'u1')
    view(12, '/', 'u1')
    /* one more (visitor, path) pair, nothing more */
    assert.equal(buffer.size, size + 2)
    const batch = await sent()
    assert.lengthOf(batch.visits!, 1)
    assert.include(batch.visits![0], {
      day: DAY,
      first: T0,
      firstPath: '/',
      last: T0 + 12 * MINUTE,
      lastPath: '/',
      views: 1003,
    })
    assert.sameMembers([...batch.days.get(DAY)!.pageVisitors!.keys()], ['/', '/about'])
  })

  test('a gap of the timeout inside a batch starts a new segment; segments go in time order', async ({
    assert,
  }) => {
    const { view, sent } = buffered()
    view(0, '/', 'u1')
    view(29, '/a', 'u1')
    view(59, '/b', 'u1')
    view(10, '/', 'u2')
    const batch = await sent()
    assert.deepEqual(
      batch.visits!.map((segment) => [
        segment.first,
        segment.last,
        segment.lastPath,
        segment.views,
      ]),
      [
        [T0, T0 + 29 * MINUTE, '/a', 2],
        [T0 + 10 * MINUTE, T0 + 10 * MINUTE, '/', 1],
        [T0 + 59 * MINUTE, T0 + 59 * MINUTE, '/b', 1],
      ]
    )
  })

  test('views out of order never move the last view back', async ({ assert }) => {
    const { view, sent } = buffered()
    view(10, '/b', 'u1')
    view(5, '/a', 'u1')
    view(7, '/x', 'u1')
    view(10, '/c', 'u1')
    const batch = await sent()
    const [segment] = batch.visits!
    assert.include(segment, {
      first: T0 + 5 * MINUTE,
      firstPath: '/a',
      last: T0 + 10 * MINUTE,
      lastPath: '/c',
      views: 4,
    })
  })

  test("guests within the timeout after midnight also carry their hash under yesterday's salt", async ({
    assert,
  }) => {
    const { buffer, store, sent } = buffered({ timezone: 'UTC' })
    const midnight = Date.UTC(2026, 2, 11)
    buffer.addView('2026-03-11', '/', null, 'digest-1', 0, null, midnight + 10 * MINUTE)
    buffer.addView('2026-03-11', '/', null, 'digest-2', 0, null, midnight + 45 * MINUTE)
    buffer.addView('2026-03-11', '/', 'user', null, 0, null, midnight + 5 * MINUTE)
    const batch = await sent()
    const [user, early, late] = batch.visits!
    assert.isUndefined(user.previous)
    assert.isString(early.previous)
    assert.notEqual(early.previous, early.visitor)
    assert.isUndefined(late.previous)
    /* yesterday's salt is kept: the same one as for yesterday's views */
    assert.notEqual(await store.salt('2026-03-10'), await store.salt('2026-03-11'))
  })
})
