import { MAX_VALUE_LENGTH } from './names.ts'

/**
 * Removed from stored values: C0 and C1 controls, DEL, and the Unicode
 * bidirectional controls (marks, embeddings, overrides, isolates), which
 * would let a value show itself reversed on the analytics page (as in
 * stored paths)
 */
// eslint-disable-next-line no-control-regex -- control characters are what is removed
const CONTROL = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g
// eslint-disable-next-line no-control-regex -- the same set, to test without the /g state
const HAS_CONTROL = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/
/** A value kept as it is: printable ASCII with no space at either end */
const PLAIN = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/

/**
 * A dimension value as stored: valid UTF-16 (so valid UTF-8 once written),
 * no control or bidirectional control characters, trimmed, at most
 * MAX_VALUE_LENGTH UTF-16 code units (so at most as many characters, in any
 * database), never half of a character. '' when nothing is left. Never throws.
 */
export function cleanValue(raw: string): string {
  return cleanText(raw, MAX_VALUE_LENGTH)
}

/**
 * cleanValue() with another longest length (event names are cut at 120
 * code units, their prop keys and values at 100)
 */
export function cleanText(raw: string, maxLength: number): string {
  if (raw.length <= maxLength && PLAIN.test(raw)) return raw
  let value = HAS_CONTROL.test(raw) ? raw.replace(CONTROL, '') : raw
  value = value.toWellFormed().trim()
  if (value.length > maxLength) {
    let end = maxLength
    /* a high surrogate at the cut: its pair is beyond it */
    const last = value.charCodeAt(end - 1)
    if (last >= 0xd800 && last <= 0xdbff) end--
    value = value.slice(0, end).trimEnd()
  }
  return value
}

/**
 * Node's HTTP parser hands the request target over as latin1, one character
 * per byte: re-read those bytes as UTF-8 (invalid sequences become U+FFFD)
 */
export function targetAsUnicode(raw: string): string {
  // eslint-disable-next-line no-control-regex -- any character beyond ASCII / one byte
  if (!/[^\x00-\x7f]/.test(raw) || /[^\x00-\xff]/.test(raw)) return raw
  return Buffer.from(raw, 'latin1').toString('utf8')
}

/**
 * A small map that forgets everything when full (cheaper than tracking
 * recency on the hot path; the working set of real traffic is small)
 */
export class BoundedCache<V> {
  #map = new Map<string, V>()
  readonly #size: number

  constructor(size: number) {
    this.#size = size
  }

  get(key: string): V | undefined {
    return this.#map.get(key)
  }

  set(key: string, value: V): V {
    if (this.#map.size >= this.#size) this.#map.clear()
    this.#map.set(key, value)
    return value
  }

  get size(): number {
    return this.#map.size
  }
}
