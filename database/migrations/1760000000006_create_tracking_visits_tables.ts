import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * Visits per day (adonis-tracking), added by flush_page_views: every figure
 * of a visit counts on the day it started. A visit is a run of one
 * visitor's views with gaps shorter than visitTimeoutMinutes; no cookie.
 *
 * - tracking_visit_stats: visits, views in them, bounces (one-view
 *   visits) and their summed duration (first to last view, seconds)
 * - tracking_visit_durations: visits and their seconds per duration bucket
 *   (the bucket's lower bound in seconds), for the median
 * - tracking_visit_pages: per path, visits that entered and left there
 * - tracking_visit_sources: visits per source and per channel
 * - tracking_page_visitors: unique visitors per path and day (the day of
 *   the views, not of the visit), with a Redis HyperLogLog to union days
 */
export default class extends BaseSchema {
  async up() {
    const dialect = this.db.dialect.name

    this.schema.createTable('tracking_visit_stats', (table) => {
      table.date('date').notNullable().primary()
      table.bigInteger('visits').notNullable().defaultTo(0)
      table.bigInteger('views').notNullable().defaultTo(0)
      table.bigInteger('bounces').notNullable().defaultTo(0)
      table.bigInteger('duration_seconds').notNullable().defaultTo(0)
    })

    this.schema.createTable('tracking_visit_durations', (table) => {
      table.date('date').notNullable()
      table.integer('bucket').notNullable()
      table.bigInteger('visits').notNullable().defaultTo(0)
      table.bigInteger('duration_seconds').notNullable().defaultTo(0)
      table.primary(['date', 'bucket'])
    })

    this.schema.createTable('tracking_visit_pages', (table) => {
      table.date('date').notNullable()
      /* code point order on every database, as the paths of tracking_page_views */
      const path =
        dialect === 'postgres'
          ? table.specificType('path', 'varchar(500) collate "C"').notNullable()
          : table.string('path', 500).notNullable()
      if (dialect === 'mysql') path.collate('utf8mb4_bin')
      table.bigInteger('entries').notNullable().defaultTo(0)
      table.bigInteger('exits').notNullable().defaultTo(0)
      table.primary(['date', 'path'])
      /* top entry and exit pages, ranked like the top pages (src/read/rank.ts): sums of some paths */
      table.index(['path', 'date'], 'tracking_visit_pages_path_date_index')
      /* ... and the paths of a day with the most entries or exits */
      table.index(['date', 'entries'], 'tracking_visit_pages_date_entries_index')
      table.index(['date', 'exits'], 'tracking_visit_pages_date_exits_index')
    })

    this.schema.createTable('tracking_page_visitors', (table) => {
      table.date('date').notNullable()
      const path =
        dialect === 'postgres'
          ? table.specificType('path', 'varchar(500) collate "C"').notNullable()
          : table.string('path', 500).notNullable()
      if (dialect === 'mysql') path.collate('utf8mb4_bin')
      table.bigInteger('visitors').notNullable().defaultTo(0)
      /* the path's visitors of the day as a Redis HyperLogLog (bytes), so days can be unioned */
      table.binary('visitors_sketch').nullable()
      /* visitors of some paths over days: WHERE path IN (...) AND date BETWEEN ? AND ? */
      table.primary(['path', 'date'])
    })

    this.schema.createTable('tracking_visit_sources', (table) => {
      table.date('date').notNullable()
      table.string('dimension', 32).notNullable()
      const value =
        dialect === 'postgres'
          ? table.specificType('value', 'varchar(100) collate "C"').notNullable()
          : table.string('value', 100).notNullable()
      if (dialect === 'mysql') value.collate('utf8mb4_bin')
      table.bigInteger('visits').notNullable().defaultTo(0)
      table.primary(['date', 'dimension', 'value'])
    })
  }

  async down() {
    this.schema.dropTableIfExists('tracking_page_visitors')
    this.schema.dropTableIfExists('tracking_visit_sources')
    this.schema.dropTableIfExists('tracking_visit_pages')
    this.schema.dropTableIfExists('tracking_visit_durations')
    this.schema.dropTableIfExists('tracking_visit_stats')
  }
}
