import type { FunnelRow } from '../read/funnels.ts'
import type { FunnelsWidgetData } from './types.ts'

/**
 * The funnels of the config as widgets (trackingFunnels), in config
 * order: each funnel a list widget of its steps (`label` = the goal,
 * `value` = `visitors` who reached it, `share` = of the first step's
 * visitors, the bar), with `visits`, `dropOff` and `conversionRate`
 */
export function funnelsWidget(funnels: FunnelRow[], caption: string): FunnelsWidgetData {
  return {
    kind: 'funnels',
    key: 'trackingFunnels',
    title: 'Funnels',
    caption,
    funnels: funnels.map((funnel, index) => {
      const first = funnel.steps[0]?.visitors ?? 0
      const last = funnel.steps[funnel.steps.length - 1]
      return {
        kind: 'list',
        /* config order: a stable key (and HTML id) whatever the funnel's name */
        key: `trackingFunnel${index + 1}`,
        title: funnel.name,
        caption,
        unit: 'visitors',
        name: funnel.name,
        visitors: first,
        conversionRate: last?.conversionRate ?? 0,
        items: funnel.steps.map((step) => ({
          label: step.name,
          value: step.visitors,
          share: first > 0 ? Math.min(1, Math.round((step.visitors / first) * 10_000) / 10_000) : 0,
          step: step.step,
          name: step.name,
          visitors: step.visitors,
          visits: step.visits,
          dropOff: step.dropOff,
          conversionRate: step.conversionRate,
        })),
      }
    }),
  }
}
