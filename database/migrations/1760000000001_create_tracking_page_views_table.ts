import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * Views of a path on a day, added by flush_page_views (adonis-tracking)
 */
export default class extends BaseSchema {
  protected tableName = 'tracking_page_views'

  async up() {
    const dialect = this.db.dialect.name

    this.schema.createTable(this.tableName, (table) => {
      table.bigIncrements('id')
      /*
       * Code point order on every database (SQLite's BINARY, utf8mb4_bin, "C"):
       * /About and /about are two pages, as in Redis, and the paths under a
       * skip prefix are one range of the (path, date) index
       */
      const path =
        dialect === 'postgres'
          ? table.specificType('path', 'varchar(500) collate "C"').notNullable()
          : table.string('path', 500).notNullable()
      if (dialect === 'mysql') path.collate('utf8mb4_bin')
      table.date('date').notNullable()
      table.bigInteger('views').notNullable().defaultTo(0)
      table.unique(['path', 'date'], { indexName: 'tracking_page_views_path_date_unique' })
      /* top pages of a day: WHERE date = ? ORDER BY views DESC */
      table.index(['date', 'views'], 'tracking_page_views_date_views_index')
    })
  }

  async down() {
    this.schema.dropTable(this.tableName)
  }
}
