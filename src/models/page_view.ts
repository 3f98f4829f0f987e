import type { DateTime } from 'luxon'
import { BaseModel, column } from '@adonisjs/lucid/orm'

/** bigint columns come back as strings on PostgreSQL */
const toNumber = (value: unknown) => (value === null || value === undefined ? 0 : Number(value))

/**
 * Views of one path on one day, as added by the flush. Rows are only ever
 * incremented (`views = views + n`) by flush_page_views and deleted by
 * tracking:prune.
 */
export default class PageView extends BaseModel {
  static table = 'tracking_page_views'

  @column({ isPrimary: true, consume: toNumber })
  declare id: number

  /** The request path (or route pattern), at most 500 characters */
  @column()
  declare path: string

  /** The calendar day in the configured timezone */
  @column.date()
  declare date: DateTime

  @column({ consume: toNumber })
  declare views: number
}
