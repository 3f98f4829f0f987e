import { createHmac, hkdfSync, randomBytes } from 'node:crypto'

/**
 * Visitor values (user ids, `visitorId(ctx)` answers, salted anonymous
 * digests) enter the visitor sketches only as keyed hashes. The sketches are
 * stored in SQL, and a HyperLogLog answers "was X added?" to anyone who can
 * hash X: with a key only the app has, a stored sketch reveals no visitor.
 *
 * The key is derived from the app key (APP_KEY) with HKDF, so the app key
 * itself is never used for anything else than what it is meant for, and a
 * stable app key gives stable hashes: the same user on two days, or in two
 * processes sharing Redis, is one visitor of the range.
 */

/** HKDF context of the key: changing it makes every stored sketch count old visitors again */
const KEY_INFO = 'adonis-tracking visitor sketches v1'
/** Bytes of a hashed visitor (128 bits: no collision in any realistic audience) */
const HASH_BYTES = 16

/** The secret of an app key given as a string or as a Secret of @poppinss/utils */
export type AppKey = string | { release(): string }

/** The app key's text, or null when there is none */
export function appKeyText(appKey: AppKey | null | undefined): string | null {
  const text = typeof appKey === 'string' ? appKey : appKey?.release?.()
  return typeof text === 'string' && text.length > 0 ? text : null
}

/**
 * The key of the visitor hashes, derived from the app key. Without an app
 * key, a random key of this process: hashes stay private, but a visitor
 * seen by two processes (or before and after a restart) counts twice.
 */
export function visitorHashKey(appKey?: AppKey | null): Buffer {
  const text = appKeyText(appKey)
  if (!text) return randomBytes(32)
  return Buffer.from(hkdfSync('sha256', text, 'adonis-tracking', KEY_INFO, 32))
}

/**
 * Hashes visitor values with a key. Known ids and anonymous digests are
 * hashed in separate domains, so an id can never equal an anonymous hash.
 */
export class VisitorHasher {
  #key: Buffer

  constructor(key: Buffer) {
    this.#key = key
  }

  #hash(domain: string, ...parts: string[]): string {
    const hmac = createHmac('sha256', this.#key).update(domain)
    for (const part of parts) hmac.update('\0').update(part)
    return hmac.digest().subarray(0, HASH_BYTES).toString('base64url')
  }

  /** A user id or a visitorId(ctx) answer */
  known(id: string): string {
    return this.#hash('k', id)
  }

  /** An anonymous visitor: its unsalted digest with the day's salt */
  anonymous(salt: string, digest: string): string {
    return this.#hash('a', salt, digest)
  }
}
