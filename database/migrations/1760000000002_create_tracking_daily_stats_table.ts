import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * Totals of a day and its unique visitors, kept as HyperLogLog bytes so the
 * count survives the Redis TTL and can be merged again (adonis-tracking)
 */
export default class extends BaseSchema {
  protected tableName = 'tracking_daily_stats'

  async up() {
    this.schema.createTable(this.tableName, (table) => {
      table.date('date').notNullable().primary()
      table.bigInteger('views').notNullable().defaultTo(0)
      table.bigInteger('unique_visitors').notNullable().defaultTo(0)
      /* a dense HyperLogLog is 12 KB: blob (MySQL), bytea (PostgreSQL), blob (SQLite) */
      table.binary('visitors_sketch').nullable()
      table.timestamp('updated_at').nullable()
    })
  }

  async down() {
    this.schema.dropTable(this.tableName)
  }
}
