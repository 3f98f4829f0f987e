import { BaseSchema } from '@adonisjs/lucid/schema'

/** The column's type per width, on PostgreSQL and on MySQL/MariaDB (collations as created) */
const COLUMN = {
  wide: {
    postgres:
      'ALTER TABLE tracking_dimension_stats ALTER COLUMN value TYPE varchar(400) COLLATE "C"',
    mysql:
      'ALTER TABLE tracking_dimension_stats MODIFY value varchar(400) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL',
  },
  narrow: {
    postgres:
      'ALTER TABLE tracking_dimension_stats ALTER COLUMN value TYPE varchar(100) COLLATE "C"',
    mysql:
      'ALTER TABLE tracking_dimension_stats MODIFY value varchar(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL',
  },
}

/**
 * Widens tracking_dimension_stats.value from 100 to 400 characters for the
 * events and goals of adonis-tracking: an event's name (120), a prop's name,
 * key and value (322 together) and a goal's path pattern (300) are stored
 * there. Until it ran, flush_page_views cuts such values to 100 and warns.
 * PostgreSQL changes the column's type in place (no rewrite), MySQL and
 * MariaDB rebuild the table; SQLite enforces no length, so nothing is done
 * there, nor when the table is missing.
 */
export default class extends BaseSchema {
  async up() {
    this.#resize('wide')
  }

  /** Back to 100 characters: the rows whose value is longer (events, goals) are deleted first */
  async down() {
    this.#resize('narrow')
  }

  #resize(width: keyof typeof COLUMN) {
    const dialect = this.db.dialect.name
    if (dialect !== 'postgres' && dialect !== 'mysql') return
    this.defer(async (db) => {
      if (!(await db.schema.hasTable('tracking_dimension_stats'))) return
      if (width === 'narrow') {
        await db.rawQuery('DELETE FROM tracking_dimension_stats WHERE CHAR_LENGTH(value) > 100')
      }
      await db.rawQuery(COLUMN[width][dialect])
    })
  }
}
