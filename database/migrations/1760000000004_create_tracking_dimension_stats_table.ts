import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * Views and unique visitors of a day per value of a dimension (source,
 * channel, utm_*, browser, os, device, country, language), added by
 * flush_page_views (adonis-tracking). At most maxValuesPerDimension values
 * per dimension and day, plus "(other)".
 */
export default class extends BaseSchema {
  protected tableName = 'tracking_dimension_stats'

  async up() {
    const dialect = this.db.dialect.name

    this.schema.createTable(this.tableName, (table) => {
      table.bigIncrements('id')
      table.date('date').notNullable()
      table.string('dimension', 32).notNullable()
      /* code point order on every database, as the paths of tracking_page_views */
      const value =
        dialect === 'postgres'
          ? table.specificType('value', 'varchar(100) collate "C"').notNullable()
          : table.string('value', 100).notNullable()
      if (dialect === 'mysql') value.collate('utf8mb4_bin')
      table.bigInteger('views').notNullable().defaultTo(0)
      table.bigInteger('unique_visitors').notNullable().defaultTo(0)
      /* the value's visitors as a Redis HyperLogLog (bytes), so days can be unioned */
      table.binary('visitors_sketch').nullable()
      table.unique(['date', 'dimension', 'value'], {
        indexName: 'tracking_dimension_stats_date_dimension_value_unique',
      })
      /* top values of a dimension over days: WHERE dimension = ? AND date BETWEEN ? AND ? */
      table.index(['dimension', 'date'], 'tracking_dimension_stats_dimension_date_index')
    })
  }

  async down() {
    this.schema.dropTable(this.tableName)
  }
}
