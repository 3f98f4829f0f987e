import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * Views of a path on a day, added by flush_page_views (adonis-tracking)
 */
export default class extends BaseSchema {
  protected tableName = 'tracking_page_views'

  async up() {
    const mysql = this.db.dialect.name === 'mysql'

    this.schema.createTable(this.tableName, (table) => {
      table.bigIncrements('id')
      /* a binary collation on MySQL: /About and /about are two pages, as in Redis */
      const path = table.string('path', 500).notNullable()
      if (mysql) path.collate('utf8mb4_bin')
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
