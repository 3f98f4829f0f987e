import { readFileSync } from 'node:fs'
import { Reader } from 'maxmind'

/** The country (two letters, as the database spells it) of an IP address, or null */
export type GeoipLookup = (ip: string) => string | null

/** The fields of a country record read here (GeoIP2 / GeoLite2, DB-IP) */
type CountryRecord = Record<string, unknown> & {
  country?: { iso_code?: unknown }
  registered_country?: { iso_code?: unknown }
  country_code?: unknown
}

/**
 * Reads a MaxMind-format database (GeoLite2 / GeoIP2 Country or City, DB-IP
 * lite, ...) into memory, once, and answers lookups from memory. The IP is
 * only looked up: never kept, logged or stored. Throws a plain Error when the
 * file cannot be read or is no MaxMind database.
 */
export function openGeoip(path: string): GeoipLookup {
  const reader = new Reader<any>(readFileSync(path))
  const ipv4Only = reader.metadata.ipVersion === 4
  return (ip: string) => {
    /* an IPv4 client of a dual-stack socket */
    const address = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip
    if (ipv4Only && address.includes(':')) return null
    if (address === '') return null
    try {
      const record = reader.get(address) as CountryRecord | null
      const code =
        record?.country?.iso_code ?? record?.registered_country?.iso_code ?? record?.country_code
      return typeof code === 'string' ? code : null
    } catch {
      /* not an IP address */
      return null
    }
  }
}
