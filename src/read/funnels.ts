import type { StoredDimensionName } from '../dimensions/names.ts'
import { funnelStepValue } from '../funnels.ts'
import type { TrackingFunnelSettings } from '../types.ts'
import type { AnalyticsRange } from '../widgets/types.ts'
import { liveDimensions, valueFigures, type LiveDimensions } from './dimensions.ts'
import { conversionRate } from './events.ts'
import type { LiveIndex, ReadScope } from './types.ts'

/** The dimension the funnel steps are stored in (src/funnels.ts) */
export const FUNNEL_READ_DIMENSIONS: readonly StoredDimensionName[] = Object.freeze(['funnel'])

/** One step of a funnel over a range */
export interface FunnelStepRow {
  /** 1-based */
  step: number
  /** the goal of the step */
  name: string
  /** distinct visitors whose visit reached the step (a union of sketches) */
  visitors: number
  /** visits that reached the step */
  visits: number
  /**
   * percent of the previous step's visitors who did not reach this one
   * (one decimal, 0..100); null for the first step
   */
  dropOff: number | null
  /** percent of the first step's visitors who reached this one (one decimal, 0..100) */
  conversionRate: number
}

/** One funnel of the config over a range */
export interface FunnelRow {
  name: string
  steps: FunnelStepRow[]
}

/**
 * Percent of `previous` visitors who are not among `visitors` (one
 * decimal, kept within 0..100, 0 without previous visitors: a step whose
 * goal changed in the config may have more visitors than the step before)
 */
export function dropOffRate(visitors: number, previous: number): number {
  if (!(previous > 0)) return 0
  const rate = Math.round(((previous - visitors) / previous) * 1000) / 10
  return Math.min(100, Math.max(0, rate))
}

/**
 * Every funnel of the config over a range, in config order, SQL + live.
 * A step's row (`funnel` dimension, funnelStepValue()) counts the visits
 * that reached it on the day they started, and their visitors: so its
 * visits are summed over the days and its visitors are the union of the
 * days' sketches, never a sum. One valueFigures() read for every step of
 * every funnel.
 */
export async function readFunnels(
  scope: ReadScope,
  range: AnalyticsRange,
  index: LiveIndex,
  funnels: readonly TrackingFunnelSettings[],
  live?: LiveDimensions
): Promise<FunnelRow[]> {
  if (funnels.length === 0) return []
  const values = funnels.map((funnel) =>
    funnel.steps.map((goal, i) => funnelStepValue(funnel.name, i + 1, goal))
  )
  const counts = live ?? (await liveDimensions(scope, range, index, FUNNEL_READ_DIMENSIONS))
  const figures = await valueFigures(scope, range, counts, 'funnel', values.flat())
  return funnels.map((funnel, f) => {
    const first = figures.get(values[f][0])?.visitors ?? 0
    let previous = first
    return {
      name: funnel.name,
      steps: funnel.steps.map((goal, i) => {
        const found = figures.get(values[f][i])
        const visitors = found?.visitors ?? 0
        const row: FunnelStepRow = {
          step: i + 1,
          name: goal,
          visitors,
          visits: found?.views ?? 0,
          dropOff: i === 0 ? null : dropOffRate(visitors, previous),
          conversionRate: conversionRate(visitors, first),
        }
        previous = visitors
        return row
      }),
    }
  })
}
