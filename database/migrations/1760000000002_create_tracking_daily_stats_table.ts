import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * Totals of a day, its unique visitors and its distinct paths, kept as
 * sketches so they survive the Redis TTL and days can be unioned without
 * reading every page view row (adonis-tracking)
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
      /* the day's distinct paths (src/stores/path_sketch.ts): exact up to 2,048, then HyperLogLog */
      table.binary('paths_sketch').nullable()
      table.timestamp('updated_at').nullable()
    })
  }

  async down() {
    this.schema.dropTable(this.tableName)
  }
}
