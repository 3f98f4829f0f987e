import db from '@adonisjs/lucid/services/db'
import type { DimensionName } from '../src/dimensions/names.ts'
import { RedisHll } from '../src/stores/redis_hll.ts'
import { TRACKING_TABLES } from '../src/tables.ts'

/*
| tracking_dimension_stats rows as the flush stores them, for the specs of
| the read side: views, unique visitors, visitors as Redis HyperLogLog bytes
*/

export interface DimensionRowInput {
  date: string
  dimension: DimensionName
  value: string
  views: number
  /** visitor ids put in the sketch */
  visitors?: string[]
  /** a row of an old flush: a count without sketch */
  uniqueVisitors?: number
}

/** Inserts tracking_dimension_stats rows as the flush stores them */
export async function insertDimensionRows(rows: DimensionRowInput[]) {
  await db.table(TRACKING_TABLES.dimensionStats).multiInsert(
    rows.map((row) => {
      const sketch = row.visitors ? RedisHll.empty() : null
      sketch?.addAll(row.visitors!)
      return {
        date: row.date,
        dimension: row.dimension,
        value: row.value,
        views: row.views,
        unique_visitors: row.uniqueVisitors ?? sketch?.count() ?? 0,
        visitors_sketch: sketch ? sketch.toBuffer() : null,
      }
    })
  )
}
