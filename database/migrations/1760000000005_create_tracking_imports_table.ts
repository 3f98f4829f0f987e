import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * Chunks of imported files and tables already added (node ace tracking:import):
 * one row per chunk, inserted in the chunk's transaction, so importing the same
 * file again adds nothing and an interrupted import resumes (adonis-tracking)
 */
export default class extends BaseSchema {
  protected tableName = 'tracking_imports'

  async up() {
    this.schema.createTable(this.tableName, (table) => {
      /* sha256 of the source name and the file's bytes (or the table's rows) */
      table.string('import_id', 64).notNullable()
      /* the chunk's number; -1 is the daily unique visitors of the import */
      table.integer('chunk').notNullable()
      table.string('source', 32).notNullable()
      table.string('name', 255).notNullable()
      table.integer('rows').notNullable().defaultTo(0)
      table.bigInteger('views').notNullable().defaultTo(0)
      table.timestamp('imported_at').notNullable()
      table.primary(['import_id', 'chunk'])
    })
  }

  async down() {
    this.schema.dropTable(this.tableName)
  }
}
