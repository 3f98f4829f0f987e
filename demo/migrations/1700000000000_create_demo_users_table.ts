import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * Users of the demo app (not part of the package)
 */
export default class extends BaseSchema {
  protected tableName = 'demo_users'

  async up() {
    this.schema.createTable(this.tableName, (table) => {
      table.increments('id').notNullable()
      table.string('email', 254).notNullable().unique()
      table.string('full_name').nullable()
      table.string('password').notNullable()
      table.boolean('is_staff').notNullable().defaultTo(false)
      table.timestamp('created_at').notNullable()
      table.timestamp('updated_at').nullable()
    })
  }

  async down() {
    this.schema.dropTable(this.tableName)
  }
}
