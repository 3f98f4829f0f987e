import { createHash, timingSafeEqual } from 'node:crypto'
import { inspect } from 'node:util'

/** The shortest token the stats API accepts */
export const MIN_API_TOKEN_LENGTH = 32

/** The longest token the stats API accepts (an Authorization header stays small) */
export const MAX_API_TOKEN_LENGTH = 512

/**
 * Visible ASCII without spaces or commas: what fits a `Bearer` header and a
 * comma-separated env variable unchanged
 */
export const API_TOKEN_CHARACTERS = /^[\x21-\x2b\x2d-\x7e]+$/

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}

/**
 * The tokens of the stats API (`apiTokens`), kept as SHA-256 digests only:
 * the settings never hold a token, so printing or serialising them shows
 * none. A candidate is compared with every digest in constant time
 * (crypto.timingSafeEqual on digests of equal length), whatever its length.
 */
export class ApiTokens {
  readonly #digests: readonly Buffer[]

  constructor(tokens: readonly string[]) {
    const unique = [...new Set(tokens)]
    this.#digests = Object.freeze(unique.map(digest))
  }

  /** How many distinct tokens are configured; 0 = the API is off */
  get size(): number {
    return this.#digests.length
  }

  /**
   * The id of the matching token (a short hex digest, never the token: the
   * rate limiter's key), or null when `candidate` matches none
   */
  verify(candidate: string | null | undefined): string | null {
    if (typeof candidate !== 'string' || candidate === '' || this.#digests.length === 0) {
      return null
    }
    const given = digest(candidate)
    let match: Buffer | null = null
    /* every digest is compared, so the time does not tell which one matched */
    for (const known of this.#digests) {
      if (timingSafeEqual(known, given)) match = known
    }
    return match ? match.subarray(0, 8).toString('hex') : null
  }

  toJSON() {
    return `[${this.size} API token(s), redacted]`
  }

  [inspect.custom]() {
    return this.toJSON()
  }
}
