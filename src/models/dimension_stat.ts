import type { DateTime } from 'luxon'
import { BaseModel, column } from '@adonisjs/lucid/orm'

const toNumber = (value: unknown) => (value === null || value === undefined ? 0 : Number(value))

/** Drivers return blobs as Buffer, Uint8Array or (never expected) strings */
const toBuffer = (value: unknown): Buffer | null => {
  if (value === null || value === undefined) return null
  if (Buffer.isBuffer(value)) return value
  if (value instanceof Uint8Array) return Buffer.from(value)
  return Buffer.from(String(value), 'binary')
}

/**
 * Views and unique visitors of one value of a dimension (source, channel,
 * utm_*, browser, os, device, country, language) on one day, as the flush
 * added them, with the HyperLogLog bytes the visitors were counted from (so
 * days can be unioned). At most maxValuesPerDimension values per dimension
 * and day, the rest under "(other)".
 */
export default class DimensionStat extends BaseModel {
  static table = 'tracking_dimension_stats'

  @column({ isPrimary: true, consume: toNumber })
  declare id: number

  @column.date()
  declare date: DateTime

  /** a DimensionName (src/dimensions/names.ts) */
  @column()
  declare dimension: string

  @column()
  declare value: string

  @column({ consume: toNumber })
  declare views: number

  @column({ consume: toNumber })
  declare uniqueVisitors: number

  /** Redis HyperLogLog bytes of the value's visitors (RedisHll.fromBuffer reads them) */
  @column({ consume: toBuffer, serializeAs: null })
  declare visitorsSketch: Buffer | null
}
