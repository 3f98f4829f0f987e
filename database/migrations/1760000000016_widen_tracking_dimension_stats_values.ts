import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * Widens tracking_dimension_stats.value from 100 to 400 characters for the
 * events and goals of adonis-tracking: an event's name (120), a prop's name,
 * key and value (322 together) and a goal's path pattern (300) are stored
 * there. Until it ran, flush_page_views cuts such values to 100 and warns.
 * PostgreSQL changes the column's type in place (no rewrite), MySQL and
 * MariaDB rebuild the table; SQLite enforces no length, so nothing is done
 * there.
 */
export default class extends BaseSchema {
  protected tableName = 'tracking_dimension_stats'

  async up() {
    const dialect = this.db.dialect.name
    if (dialect === 'postgres') {
      this.schema.raw(
        `ALTER TABLE ${this.tableName} ALTER COLUMN value TYPE varchar(400) COLLATE "C"`
      )
    } else if (dialect === 'mysql') {
      this.schema.raw(
        `ALTER TABLE ${this.tableName} MODIFY value varchar(400) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL`
      )
    }
  }

  /** Back to 100 characters: the rows whose value is longer (events, goals) are deleted first */
  async down() {
    const dialect = this.db.dialect.name
    if (dialect === 'postgres') {
      this.schema.raw(`DELETE FROM ${this.tableName} WHERE char_length(value) > 100`)
      this.schema.raw(
        `ALTER TABLE ${this.tableName} ALTER COLUMN value TYPE varchar(100) COLLATE "C"`
      )
    } else if (dialect === 'mysql') {
      this.schema.raw(`DELETE FROM ${this.tableName} WHERE CHAR_LENGTH(value) > 100`)
      this.schema.raw(
        `ALTER TABLE ${this.tableName} MODIFY value varchar(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL`
      )
    }
  }
}
