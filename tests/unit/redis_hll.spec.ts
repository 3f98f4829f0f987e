import { createHash } from 'node:crypto'
import { test } from '@japa/runner'
import { RedisHll, registerOf } from '../../src/stores/redis_hll.ts'
import { redisClient, uniqueKeyPrefix } from '../helpers.ts'

/** n distinct values, in a fixed order */
function values(n: number, label = 'visitor'): string[] {
  return Array.from({ length: n }, (_, i) => `${label}-${i}`)
}

/** PFADD in chunks of 1,000, as the stores send batches */
function addAll(sketch: RedisHll, list: string[]) {
  for (let i = 0; i < list.length; i += 1000) sketch.add(...list.slice(i, i + 1000))
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

/** A Redis key of this test, deleted at the end */
function scratchKeys(cleanup: (fn: () => Promise<void>) => void) {
  const prefix = uniqueKeyPrefix('hll')
  const made: string[] = []
  cleanup(async () => {
    if (made.length > 0) await redisClient().del(...made)
  })
  return (name: string) => {
    const key = `${prefix}:${name}`
    made.push(key)
    return key
  }
}

test.group('RedisHll | the stored format, pinned', () => {
  /*
   * Bytes as redis-server 7 gives them (GET after PFADD / PFCOUNT). Sketches
   * in SQL are these bytes: a later version must read them and count the same.
   */
  test('one element: a sparse value with a stale cached count', ({ assert }) => {
    const sketch = RedisHll.empty()
    assert.isTrue(sketch.add('a'))
    assert.equal(sketch.toBuffer().toString('hex'), '48594c4c01000000000000000000008071a6844e57')
    assert.equal(
      RedisHll.fromBuffer(
        Buffer.from('48594c4c01000000000000000000008071a6844e57', 'hex')
      )!.count(),
      1
    )
  })

  test('four elements, counted: the count is cached in the header', ({ assert }) => {
    const sketch = RedisHll.empty()
    sketch.add('1', '2', '3', 'hello-world')
    assert.equal(sketch.count(), 4)
    assert.equal(
      sketch.toBuffer().toString('hex'),
      '48594c4c0100000004000000000000005d66804d748049758847b58c43f3'
    )
  })

  test('100 elements stay sparse, 5,000 are dense (12,304 bytes)', ({ assert }) => {
    const small = RedisHll.empty()
    addAll(small, values(100))
    assert.isFalse(small.dense)
    assert.equal(small.byteLength, 284)
    assert.equal(
      sha256(small.toBuffer()),
      '844cd9e5947ade334e72a14cdd52f61fc0995ebac1546c2a3b2a9f29d4cff8a6'
    )
    assert.equal(small.count(), 100)

    const large = RedisHll.empty()
    addAll(large, values(5000))
    assert.isTrue(large.dense)
    assert.equal(large.byteLength, 12_304)
    assert.equal(
      large.toBuffer().subarray(0, 16).toString('hex'),
      '48594c4c000000000000000000000080'
    )
    assert.equal(
      sha256(large.toBuffer()),
      '936bf127817d46b93db5aeb2b88aa4b090859e45862ce58f16ec8ed9b9a51f0d'
    )
    assert.equal(large.count(), 5017)
    /* read back from its bytes, as from SQL */
    assert.equal(RedisHll.fromBuffer(large.toBuffer())!.count(), 5017)
    assert.equal(RedisHll.countUnion([RedisHll.fromBuffer(large.toBuffer())!, small]), 5017)
  })

  test('MurmurHash64A with Redis seed picks the register and the value', ({ assert }) => {
    /* 71a6 84 4e57 above: XZERO 12,711, VAL 2 x1, XZERO 3,672: "a" sets register 12,711 to 2 */
    assert.deepEqual(registerOf(Buffer.from('a')), [12_711, 2])
  })

  test('bytes that are not a sketch are refused', ({ assert }) => {
    const good = RedisHll.empty()
    addAll(good, values(5000))
    const dense = good.toBuffer()
    assert.isNull(RedisHll.fromBuffer(null))
    assert.isNull(RedisHll.fromBuffer(Buffer.from('not a sketch')))
    assert.isNull(RedisHll.fromBuffer(dense.subarray(0, 1000)))
    const wrongEncoding = Buffer.from(dense)
    wrongEncoding[4] = 7
    assert.isNull(RedisHll.fromBuffer(wrongEncoding))
    /* a sparse body that covers fewer than 16,384 registers */
    assert.isNull(
      RedisHll.fromBuffer(Buffer.from('48594c4c010000000000000000000080' + '3f', 'hex'))
    )
    /* the old path sketch format of this package is not a visitors sketch either */
    assert.isNull(RedisHll.fromBuffer(Buffer.from([0x01, 0, 0, 0, 0, 0, 1])))
  })
})

test.group('RedisHll | against redis-server', () => {
  for (const size of [1, 100, 5000, 100_000]) {
    test(`${size} elements: the same bytes as PFADD + GET, the same count as PFCOUNT`, async ({
      assert,
      cleanup,
    }) => {
      const key = scratchKeys(cleanup)('pfadd')
      const list = values(size, `n${size}`)
      const redis = redisClient()
      for (let i = 0; i < list.length; i += 1000) await redis.pfadd(key, ...list.slice(i, i + 1000))
      const sketch = RedisHll.empty()
      addAll(sketch, list)
      assert.deepEqual(sketch.toBuffer(), await redis.getBuffer(key))
      assert.equal(sketch.dense, size >= 5000)

      /* PFCOUNT caches the count in the header: the same bytes again */
      assert.equal(sketch.count(), await redis.pfcount(key))
      assert.deepEqual(sketch.toBuffer(), await redis.getBuffer(key))
    })
  }

  test('module-made bytes work in Redis: PFADD, PFMERGE and PFCOUNT', async ({
    assert,
    cleanup,
  }) => {
    const key = scratchKeys(cleanup)
    const redis = redisClient()
    const sparse = RedisHll.empty()
    addAll(sparse, values(300, 'sparse'))
    const dense = RedisHll.empty()
    addAll(dense, values(20_000, 'dense'))
    await redis.set(key('sparse'), sparse.toBuffer())
    await redis.set(key('dense'), dense.toBuffer())
    await redis.pfadd(key('live'), ...values(500, 'sparse'))

    /* PFCOUNT of several keys is the module's union */
    const live = RedisHll.empty()
    live.add(...values(500, 'sparse'))
    assert.equal(
      await redis.pfcount(key('sparse'), key('dense'), key('live')),
      RedisHll.countUnion([sparse, dense, live])
    )

    /* PFMERGE of module bytes gives the bytes the module's merge gives */
    await redis.pfmerge(key('merged'), key('sparse'), key('live'))
    const merged = RedisHll.empty()
    merged.mergeFrom(sparse, live)
    assert.deepEqual(merged.toBuffer(), await redis.getBuffer(key('merged')))
    await redis.pfmerge(key('all'), key('live'), key('dense'))
    const all = RedisHll.empty()
    all.mergeFrom(live, dense)
    assert.isTrue(all.dense)
    assert.deepEqual(all.toBuffer(), await redis.getBuffer(key('all')))
    assert.equal(all.count(), await redis.pfcount(key('all')))

    /* Redis goes on adding to module bytes, and so does the module to Redis bytes */
    await redis.pfadd(key('sparse'), 'one-more')
    sparse.add('one-more')
    assert.deepEqual(sparse.toBuffer(), await redis.getBuffer(key('sparse')))
  })

  test('the registers of many sketches, as one dense sketch, count what PFCOUNT of them counts', async ({
    assert,
    cleanup,
  }) => {
    const key = scratchKeys(cleanup)
    const redis = redisClient()
    /* 30 days of one value: sparse sketches that overlap, and one dense */
    const days = Array.from({ length: 30 }, (_, day) => {
      const sketch = RedisHll.empty()
      addAll(sketch, values(day === 7 ? 8000 : 200 + day * 20, `day-${day % 10}`))
      return sketch
    })
    const registers = new Uint8Array(RedisHll.REGISTERS)
    for (const sketch of days) sketch.maxInto(registers)
    const union = RedisHll.fromRegisters(registers)
    assert.isTrue(union.dense)
    const keys = await Promise.all(
      days.map(async (sketch, i) => {
        await redis.set(key(`day-${i}`), sketch.toBuffer())
        return key(`day-${i}`)
      })
    )
    await redis.set(key('union'), union.toBuffer())
    assert.equal(await redis.pfcount(key('union')), await redis.pfcount(...keys))
    assert.equal(union.count(), RedisHll.countUnion(days))
    /* Redis takes the bytes as its own: a live key joins the union */
    await redis.pfadd(key('live'), ...values(300, 'live'))
    assert.equal(
      await redis.pfcount(key('union'), key('live')),
      await redis.pfcount(...keys, key('live'))
    )
  })
})
