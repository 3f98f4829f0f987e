/**
 * Redis's HyperLogLog, byte for byte, in JavaScript.
 *
 * The memory store keeps visitors in the same sketches Redis keeps them in,
 * so the bytes stored in SQL are the same whichever store wrote them and a
 * union of stored days with live days gives the same count on both stores.
 * No maintained npm package writes this format, hence this module. It
 * follows Redis 7's src/hyperloglog.c (the format is unchanged since 2014):
 *
 * - an element is hashed with MurmurHash64A (seed 0xadc83b19) over its bytes;
 *   the low 14 bits pick one of 16,384 registers, the register keeps the
 *   longest run of zeros (+1) seen in the other 50 bits (HLL_Q = 50);
 * - the value is a 16-byte header ("HYLL", encoding, 3 unused bytes, the
 *   cached cardinality as 8 little-endian bytes whose top bit marks it stale)
 *   followed by the registers, either sparse (run-length opcodes ZERO,
 *   XZERO and VAL) or dense (6-bit registers, least significant bits first);
 * - PFADD edits the sparse form in place with the same splits and merges as
 *   Redis (the bytes depend on the order of the additions, as in Redis), and
 *   turns it dense past hll-sparse-max-bytes (3,000, Redis's default) or
 *   when a register exceeds 32;
 * - counts use Redis's estimator (Ertl's improved raw estimator).
 *
 * The bytes are stored in SQL: changing anything here makes stored sketches
 * unreadable or count wrong (tests/unit/store_contract.spec.ts pins them).
 */

/** Index bits: 2^14 registers */
const HLL_P = 14
/** Hash bits left after the index: runs of zeros are counted up to HLL_Q + 1 */
const HLL_Q = 64 - HLL_P
export const HLL_REGISTERS = 1 << HLL_P
const HLL_P_MASK = HLL_REGISTERS - 1
const HLL_BITS = 6
const HLL_REGISTER_MAX = (1 << HLL_BITS) - 1
const HLL_HDR_SIZE = 16
const HLL_DENSE_SIZE = HLL_HDR_SIZE + Math.floor((HLL_REGISTERS * HLL_BITS + 7) / 8)
const HLL_DENSE = 0
const HLL_SPARSE = 1
/** Redis's default hll-sparse-max-bytes (header included) */
const HLL_SPARSE_MAX_BYTES = 3000
const HLL_SPARSE_VAL_MAX_VALUE = 32
const HLL_SPARSE_VAL_MAX_LEN = 4
const HLL_SPARSE_ZERO_MAX_LEN = 64
const HLL_SPARSE_XZERO_MAX_LEN = 16384
/** 1 / (2 ln 2), Redis's HLL_ALPHA_INF */
const HLL_ALPHA_INF = 0.72134752044448170368
const MURMUR_SEED = 0xadc83b19

/* ---------------------------------------------------------------------------
 | MurmurHash64A on 32-bit halves (BigInt would be several times slower)
 */

/** m = 0xc6a4a7935bd1e995, the multiplier of MurmurHash64A */
const M_HI = 0xc6a4a793
const M_LO = 0x5bd1e995

/** [hi, lo] of the 64-bit value being hashed; reused to avoid allocations */
let hHi = 0
let hLo = 0

/** (hHi:hLo) = (hHi:hLo) * m mod 2^64 */
function mulM(): void {
  const a0 = hLo & 0xffff
  const a1 = hLo >>> 16
  const b0 = M_LO & 0xffff
  const b1 = M_LO >>> 16
  const mid = a0 * b1 + a1 * b0
  const low = a0 * b0 + (mid % 0x10000) * 0x10000
  const carry = low >= 0x100000000 ? 1 : 0
  const hi = a1 * b1 + Math.floor(mid / 0x10000) + carry
  hHi = (hi + Math.imul(hHi, M_LO) + Math.imul(hLo, M_HI)) >>> 0
  hLo = low >>> 0
}

/** (hHi:hLo) ^= (hHi:hLo) >> 47 */
function xorShift47(): void {
  hLo = (hLo ^ (hHi >>> 15)) >>> 0
}

/**
 * MurmurHash64A of bytes with Redis's seed, as [high 32 bits, low 32 bits]
 */
export function murmurHash64A(data: Uint8Array, seed = MURMUR_SEED): [number, number] {
  const length = data.length
  /* h = seed ^ (len * m) */
  hHi = 0
  hLo = length >>> 0
  hHi = Math.floor(length / 0x100000000) >>> 0
  mulM()
  hLo = (hLo ^ seed) >>> 0
  const blocks = length - (length & 7)
  let i = 0
  for (; i < blocks; i += 8) {
    const kLo = (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)) >>> 0
    const kHi = (data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24)) >>> 0
    const savedHi = hHi
    const savedLo = hLo
    /* k *= m; k ^= k >> r; k *= m */
    hHi = kHi
    hLo = kLo
    mulM()
    xorShift47()
    mulM()
    /* h ^= k; h *= m */
    hHi = (savedHi ^ hHi) >>> 0
    hLo = (savedLo ^ hLo) >>> 0
    mulM()
  }
  const rest = length & 7
  if (rest > 0) {
    for (let j = rest - 1; j >= 0; j--) {
      const byte = data[i + j]
      if (j >= 4) hHi = (hHi ^ (byte << ((j - 4) * 8))) >>> 0
      else hLo = (hLo ^ (byte << (j * 8))) >>> 0
    }
    mulM()
  }
  xorShift47()
  mulM()
  xorShift47()
  return [hHi, hLo]
}

/** Number of trailing zero bits of a non-zero 32-bit value */
function ctz32(value: number): number {
  return 31 - Math.clz32(value & -value)
}

/**
 * The register an element lands in and the value it proposes (Redis's
 * hllPatLen): 1 + the trailing zeros of the hash above the index bits
 */
export function registerOf(element: Uint8Array): [index: number, count: number] {
  const [hi, lo] = murmurHash64A(element)
  const index = lo & HLL_P_MASK
  /* hash >>= HLL_P; hash |= 1 << HLL_Q (so the count is at most HLL_Q + 1) */
  const restLo = ((lo >>> HLL_P) | (hi << (32 - HLL_P))) >>> 0
  const restHi = (hi >>> HLL_P) | (1 << (HLL_Q - 32))
  const count = restLo !== 0 ? ctz32(restLo) + 1 : 32 + ctz32(restHi) + 1
  return [index, count]
}

/* ---------------------------------------------------------------------------
 | Estimator (shared with the path sketch, src/stores/path_sketch.ts)
 */

/** sigma(x) of Ertl's estimator: the share of empty registers, corrected */
function hllSigma(x: number): number {
  if (x === 1) return Number.POSITIVE_INFINITY
  let y = 1
  let z = x
  let previous: number
  do {
    x *= x
    previous = z
    z += x * y
    y += y
  } while (z !== previous)
  return z
}

/** tau(x) of Ertl's estimator: the share of saturated registers, corrected */
function hllTau(x: number): number {
  if (x === 0 || x === 1) return 0
  let y = 1
  let z = 1 - x
  let previous: number
  do {
    x = Math.sqrt(x)
    previous = z
    y *= 0.5
    z -= (1 - x) * (1 - x) * y
  } while (z !== previous)
  return z / 3
}

/**
 * Cardinality from a register histogram (histogram[v] = registers holding
 * v; q + 1 is the largest value), as Redis's hllCount computes it
 */
export function estimateCardinality(histogram: ArrayLike<number>, q: number): number {
  const m = HLL_REGISTERS
  let z = m * hllTau((m - histogram[q + 1]) / m)
  for (let j = q; j >= 1; j--) {
    z += histogram[j]
    z *= 0.5
  }
  z += m * hllSigma(histogram[0] / m)
  return Math.round((HLL_ALPHA_INF * m * m) / z)
}

/* ---------------------------------------------------------------------------
 | The sketch
 */

const MAGIC = [0x48, 0x59, 0x4c, 0x4c] /* "HYLL" */

/** One dense 6-bit register */
function denseGet(bytes: Uint8Array, index: number): number {
  const byte = HLL_HDR_SIZE + ((index * HLL_BITS) >>> 3)
  const fb = (index * HLL_BITS) & 7
  const b0 = bytes[byte]
  const b1 = byte + 1 < bytes.length ? bytes[byte + 1] : 0
  return ((b0 >>> fb) | (b1 << (8 - fb))) & HLL_REGISTER_MAX
}

function denseSet(bytes: Uint8Array, index: number, value: number): void {
  const byte = HLL_HDR_SIZE + ((index * HLL_BITS) >>> 3)
  const fb = (index * HLL_BITS) & 7
  bytes[byte] = (bytes[byte] & ~(HLL_REGISTER_MAX << fb)) | ((value << fb) & 0xff)
  if (byte + 1 < bytes.length) {
    bytes[byte + 1] = (bytes[byte + 1] & ~(HLL_REGISTER_MAX >>> (8 - fb))) | (value >>> (8 - fb))
  }
}

/* sparse opcodes: ZERO 00xxxxxx, XZERO 01xxxxxx yyyyyyyy, VAL 1vvvvvxx */
const isZero = (op: number) => (op & 0xc0) === 0
const isXZero = (op: number) => (op & 0xc0) === 0x40
const zeroLen = (op: number) => (op & 0x3f) + 1
const xzeroLen = (op: number, next: number) => (((op & 0x3f) << 8) | next) + 1
const valValue = (op: number) => ((op >>> 2) & 0x1f) + 1
const valLen = (op: number) => (op & 0x3) + 1
const valOp = (value: number, len: number) => 0x80 | ((value - 1) << 2) | (len - 1)

/**
 * Calls visit(first, span, value) for every run of a sparse body; false
 * when the opcodes do not cover exactly the 16,384 registers
 */
function eachSparseRun(
  bytes: Uint8Array,
  length: number,
  visit: (first: number, span: number, value: number) => void
): boolean {
  let index = 0
  let p = HLL_HDR_SIZE
  while (p < length) {
    const op = bytes[p]
    let span: number
    let value = 0
    if (isZero(op)) {
      span = zeroLen(op)
      p++
    } else if (isXZero(op)) {
      if (p + 1 >= length) return false
      span = xzeroLen(op, bytes[p + 1])
      p += 2
    } else {
      span = valLen(op)
      value = valValue(op)
      p++
    }
    if (index + span > HLL_REGISTERS) return false
    if (value > 0) visit(index, span, value)
    index += span
  }
  return index === HLL_REGISTERS
}

/**
 * A HyperLogLog in Redis's format. `add` is PFADD of one key, `mergeFrom`
 * PFMERGE into it, `count` PFCOUNT of it and `countUnion` PFCOUNT of several
 * keys; `toBuffer` is what GET returns.
 */
/**
 * A batch that adds at least this many elements to one sketch makes it
 * dense first (both stores, the same way, so their bytes stay equal). A
 * sparse sketch is a run-length list that every PFADD scans and shifts: a
 * few hundred visitors of one value in one batch cost about 0.6 µs each in
 * Redis, while a dense sketch (12 KB) takes an element in constant time.
 * Values that get this many visitors within one batch are the popular ones,
 * which would turn dense soon anyway; the long tail stays sparse and small.
 */
export const DENSE_AT = 32

/**
 * A sparse sketch this long (bytes, header included; about 150 visitors)
 * is made dense before the next batch adds to it: the values that grow
 * past it over the day, a few visitors a batch, would otherwise be scanned
 * and shifted on every add until Redis's own limit (hll-sparse-max-bytes,
 * 3,000 by default)
 */
export const DENSE_BYTES = 512

export class RedisHll {
  /** the value; its first `#length` bytes are used */
  #bytes: Uint8Array
  #length: number

  private constructor(bytes: Uint8Array, length: number) {
    this.#bytes = bytes
    this.#length = length
  }

  /** An empty sketch, as PFADD creates it (sparse: one XZERO of 16,384) */
  static empty(): RedisHll {
    const bytes = new Uint8Array(HLL_HDR_SIZE + 2)
    bytes.set(MAGIC, 0)
    bytes[4] = HLL_SPARSE
    bytes[HLL_HDR_SIZE] = 0x40 | ((HLL_SPARSE_XZERO_MAX_LEN - 1) >>> 8)
    bytes[HLL_HDR_SIZE + 1] = (HLL_SPARSE_XZERO_MAX_LEN - 1) & 0xff
    return new RedisHll(bytes, bytes.length)
  }

  /** An empty dense sketch (its cached count valid: 0), as WRITE_BATCH SETs it */
  static emptyDense(): RedisHll {
    const bytes = new Uint8Array(HLL_DENSE_SIZE)
    bytes.set(MAGIC, 0)
    bytes[4] = HLL_DENSE
    return new RedisHll(bytes, HLL_DENSE_SIZE)
  }

  /**
   * What WRITE_BATCH does with the elements one batch adds to a sketch
   * (none yet: undefined): from DENSE_AT of them, a new sketch is created
   * dense and a sparse one is made dense, as a sparse one of DENSE_BYTES or
   * more is (PFMERGE with an empty dense
   * sketch: converted, cached count invalidated); then PFADD. Returns the
   * sketch.
   */
  static addBatch(sketch: RedisHll | undefined, elements: ReadonlySet<string>): RedisHll {
    if (elements.size >= DENSE_AT || (sketch !== undefined && sketch.#length >= DENSE_BYTES)) {
      if (sketch === undefined) sketch = RedisHll.emptyDense()
      else if (!sketch.dense) {
        sketch.#toDense()
        sketch.#invalidate()
      }
    }
    sketch ??= RedisHll.empty()
    sketch.addAll(elements)
    return sketch
  }

  /**
   * A dense sketch holding these registers (HLL_REGISTERS bytes, as
   * maxInto fills them): what PFMERGE of the sketches they came from counts
   * the same, built in one pass (merging many sparse sketches into a sparse
   * one rewrites its body on every register)
   */
  static fromRegisters(registers: Uint8Array): RedisHll {
    const bytes = new Uint8Array(HLL_DENSE_SIZE)
    bytes.set(MAGIC, 0)
    bytes[4] = HLL_DENSE
    for (let i = 0; i < HLL_REGISTERS; i++) {
      if (registers[i] !== 0) denseSet(bytes, i, registers[i])
    }
    const sketch = new RedisHll(bytes, HLL_DENSE_SIZE)
    sketch.#invalidate()
    return sketch
  }

  /** Distinct elements of the union whose registers maxInto gathered (PFCOUNT of its sketches) */
  static countRegisters(registers: Uint8Array): number {
    const histogram = new Array<number>(HLL_Q + 2).fill(0)
    for (let i = 0; i < HLL_REGISTERS; i++) histogram[registers[i]]++
    return estimateCardinality(histogram, HLL_Q)
  }

  /** Bytes of the registers of a union (the `out` of maxInto) */
  static readonly REGISTERS = HLL_REGISTERS

  /**
   * The sketch stored in `bytes` (what GET of a Redis HyperLogLog returns);
   * null when they are not one, or are cut or corrupted
   */
  static fromBuffer(bytes: Uint8Array | null | undefined): RedisHll | null {
    if (!bytes || bytes.length < HLL_HDR_SIZE) return null
    for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) return null
    const copy = Uint8Array.from(bytes)
    if (copy[4] === HLL_DENSE) {
      return copy.length === HLL_DENSE_SIZE ? new RedisHll(copy, copy.length) : null
    }
    if (copy[4] !== HLL_SPARSE) return null
    return eachSparseRun(copy, copy.length, () => {}) ? new RedisHll(copy, copy.length) : null
  }

  /** true once the registers are dense (12 KB), false while sparse */
  get dense(): boolean {
    return this.#bytes[4] === HLL_DENSE
  }

  /** Bytes the value takes (what STRLEN gives in Redis) */
  get byteLength(): number {
    return this.#length
  }

  /** The value, as GET returns it */
  toBuffer(): Buffer {
    return Buffer.from(this.#bytes.subarray(0, this.#length))
  }

  /** Marks the cached cardinality stale (Redis's HLL_INVALIDATE_CACHE) */
  #invalidate(): void {
    this.#bytes[15] |= 0x80
  }

  /**
   * Adds elements (PFADD key ...elements); strings are taken as UTF-8, as
   * Redis receives them. True when the sketch changed.
   */
  add(...elements: Array<string | Uint8Array>): boolean {
    return this.addAll(elements)
  }

  /** add() of any number of elements (a spread of 100,000s would overflow the stack) */
  addAll(elements: Iterable<string | Uint8Array>): boolean {
    let updated = false
    for (const element of elements) {
      const bytes = typeof element === 'string' ? Buffer.from(element, 'utf8') : element
      const [index, count] = registerOf(bytes)
      if (this.#set(index, count)) updated = true
    }
    if (updated) this.#invalidate()
    return updated
  }

  /** Raises register `index` to `count`; true when it changed */
  #set(index: number, count: number): boolean {
    if (this.dense) {
      if (denseGet(this.#bytes, index) >= count) return false
      denseSet(this.#bytes, index, count)
      return true
    }
    return this.#sparseSet(index, count)
  }

  /** The 16,384 registers, one byte each */
  registers(): Uint8Array {
    const out = new Uint8Array(HLL_REGISTERS)
    this.maxInto(out)
    return out
  }

  /**
   * out[i] = max(out[i], register i) (Redis's hllMerge): the registers of a
   * union of many sketches in one array of HLL_REGISTERS bytes, without
   * building a sketch after each (see fromRegisters)
   */
  maxInto(out: Uint8Array): void {
    const bytes = this.#bytes
    if (this.dense) {
      for (let i = 0; i < HLL_REGISTERS; i++) {
        const value = denseGet(bytes, i)
        if (value > out[i]) out[i] = value
      }
      return
    }
    eachSparseRun(bytes, this.#length, (first, span, value) => {
      for (let i = first; i < first + span; i++) if (value > out[i]) out[i] = value
    })
  }

  /**
   * Union with other sketches into this one (PFMERGE this ...others): dense
   * when any of them is, sparse otherwise while it fits
   */
  mergeFrom(...others: RedisHll[]): void {
    const max = new Uint8Array(HLL_REGISTERS)
    let useDense = this.dense
    this.maxInto(max)
    for (const other of others) {
      if (other.dense) useDense = true
      other.maxInto(max)
    }
    if (useDense) this.#toDense()
    for (let i = 0; i < HLL_REGISTERS; i++) if (max[i] !== 0) this.#set(i, max[i])
    this.#invalidate()
  }

  /**
   * Distinct elements (PFCOUNT key): the cached cardinality when it is
   * fresh, else computed and cached in the header
   */
  count(): number {
    const bytes = this.#bytes
    if ((bytes[15] & 0x80) === 0) {
      let cached = 0
      for (let i = 7; i >= 0; i--) cached = cached * 256 + bytes[8 + i]
      return cached
    }
    const card = this.dense ? RedisHll.countUnion([this]) : this.#sparseCount()
    let rest = card
    for (let i = 0; i < 8; i++) {
      bytes[8 + i] = rest % 256
      rest = Math.floor(rest / 256)
    }
    return card
  }

  /**
   * The estimate of a sparse sketch from its runs, as Redis's
   * hllSparseRegHisto: the same histogram as countUnion, without expanding
   * the 16,384 registers (a flush counts a sketch per dimension value)
   */
  #sparseCount(): number {
    const histogram = new Array<number>(HLL_Q + 2).fill(0)
    let set = 0
    eachSparseRun(this.#bytes, this.#length, (_first, span, value) => {
      histogram[value] += span
      set += span
    })
    histogram[0] = HLL_REGISTERS - set
    return estimateCardinality(histogram, HLL_Q)
  }

  /** Distinct elements of several sketches together (PFCOUNT key1 key2 ...) */
  static countUnion(sketches: Iterable<RedisHll>): number {
    const max = new Uint8Array(HLL_REGISTERS)
    for (const sketch of sketches) sketch.maxInto(max)
    return RedisHll.countRegisters(max)
  }

  /** Sparse to dense (Redis's hllSparseToDense); the header is kept */
  #toDense(): void {
    if (this.dense) return
    const dense = new Uint8Array(HLL_DENSE_SIZE)
    dense.set(this.#bytes.subarray(0, HLL_HDR_SIZE))
    dense[4] = HLL_DENSE
    eachSparseRun(this.#bytes, this.#length, (first, span, value) => {
      for (let i = first; i < first + span; i++) denseSet(dense, i, value)
    })
    this.#bytes = dense
    this.#length = HLL_DENSE_SIZE
  }

  /** Room for `extra` more bytes in the sparse value */
  #reserve(extra: number): void {
    if (this.#length + extra <= this.#bytes.length) return
    const grown = new Uint8Array(Math.min(Math.max(this.#length * 2, this.#length + extra), 4096))
    grown.set(this.#bytes.subarray(0, this.#length))
    this.#bytes = grown
  }

  /**
   * Redis's hllSparseSet: finds the opcode covering `index`, splits it into
   * up to three opcodes holding the new value, then merges adjacent VAL
   * opcodes of equal value within 5 opcodes of the change. Turns the sketch
   * dense when the value does not fit a VAL or the sparse value would grow
   * past HLL_SPARSE_MAX_BYTES.
   */
  #sparseSet(index: number, count: number): boolean {
    if (count > HLL_SPARSE_VAL_MAX_VALUE) return this.#promote(index, count)
    this.#reserve(3)
    const bytes = this.#bytes
    let end = this.#length

    /* step 1: the opcode covering the register */
    let p = HLL_HDR_SIZE
    let first = 0
    let prev = -1
    let span = 0
    while (p < end) {
      const op = bytes[p]
      let oplen = 1
      if (isZero(op)) span = zeroLen(op)
      else if (isXZero(op)) {
        span = xzeroLen(op, bytes[p + 1])
        oplen = 2
      } else span = valLen(op)
      if (index <= first + span - 1) break
      prev = p
      p += oplen
      first += span
    }
    if (span === 0 || p >= end) throw new Error('Corrupted HyperLogLog (sparse)')
    const op = bytes[p]
    const zero = isZero(op)
    const xzero = isXZero(op)
    const runlen = zero ? zeroLen(op) : xzero ? xzeroLen(op, bytes[p + 1]) : valLen(op)
    const next = xzero ? p + 2 : p + 1

    /* step 2: the trivial cases, updated in place */
    let inPlace = false
    if (!zero && !xzero) {
      if (valValue(op) >= count) return false
      if (runlen === 1) inPlace = true
    } else if (zero && runlen === 1) {
      inPlace = true
    }
    if (inPlace) {
      bytes[p] = valOp(count, 1)
    } else {
      /* the general case: split the opcode around the register */
      const seq: number[] = []
      const last = first + span - 1
      const pushZeros = (len: number) => {
        if (len > HLL_SPARSE_ZERO_MAX_LEN) seq.push(0x40 | ((len - 1) >>> 8), (len - 1) & 0xff)
        else seq.push(len - 1)
      }
      if (zero || xzero) {
        if (index !== first) pushZeros(index - first)
        seq.push(valOp(count, 1))
        if (index !== last) pushZeros(last - index)
      } else {
        const value = valValue(op)
        if (index !== first) seq.push(valOp(value, index - first))
        seq.push(valOp(count, 1))
        if (index !== last) seq.push(valOp(value, last - index))
      }
      /* step 3: put the sequence in place of the opcode */
      const delta = seq.length - (xzero ? 2 : 1)
      if (delta > 0 && end + delta > HLL_SPARSE_MAX_BYTES) return this.#promote(index, count)
      if (delta !== 0 && next < end) bytes.copyWithin(next + delta, next, end)
      bytes.set(seq, p)
      end += delta
    }

    /* step 4: merge adjacent VAL opcodes of the same value */
    p = prev >= 0 ? prev : HLL_HDR_SIZE
    let scan = 5
    while (p < end && scan-- > 0) {
      const current = bytes[p]
      if (isXZero(current)) {
        p += 2
        continue
      }
      if (isZero(current)) {
        p++
        continue
      }
      if (p + 1 < end && !isZero(bytes[p + 1]) && !isXZero(bytes[p + 1])) {
        const value = valValue(current)
        const len = valLen(current) + valLen(bytes[p + 1])
        if (value === valValue(bytes[p + 1]) && len <= HLL_SPARSE_VAL_MAX_LEN) {
          bytes[p + 1] = valOp(value, len)
          bytes.copyWithin(p, p + 1, end)
          end--
          continue
        }
      }
      p++
    }
    this.#length = end
    return true
  }

  /** Turns dense, then sets the register (Redis's promote label) */
  #promote(index: number, count: number): boolean {
    this.#toDense()
    denseSet(this.#bytes, index, count)
    return true
  }
}
