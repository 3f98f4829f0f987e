import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * Flush ids already added to SQL: inserted in the same transaction as the
 * counts, so a flush is applied exactly once (adonis-tracking)
 */
export default class extends BaseSchema {
  protected tableName = 'tracking_flushes'

  async up() {
    this.schema.createTable(this.tableName, (table) => {
      table.string('flush_id', 64).notNullable().primary()
      table.date('day').notNullable()
      table.bigInteger('views').notNullable().defaultTo(0)
      table.timestamp('applied_at').notNullable()
      table.index(['applied_at'], 'tracking_flushes_applied_at_index')
    })
  }

  async down() {
    this.schema.dropTable(this.tableName)
  }
}
