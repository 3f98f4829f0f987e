import type { DimensionName } from '../dimensions/names.ts'
import type { DimensionBreakdown } from '../read/dimensions.ts'
import { listWidget } from './builders.ts'
import type { AnalyticsContext, ListWidgetData } from './types.ts'

/** The context key and title of each dimension's list (the keys are a contract) */
export const DIMENSION_WIDGETS = Object.freeze({
  source: { key: 'trackingSources', title: 'Sources' },
  channel: { key: 'trackingChannels', title: 'Channels' },
  utm_source: { key: 'trackingUtmSources', title: 'Campaign sources' },
  utm_medium: { key: 'trackingUtmMediums', title: 'Campaign mediums' },
  utm_campaign: { key: 'trackingCampaigns', title: 'Campaigns' },
  utm_term: { key: 'trackingUtmTerms', title: 'Campaign terms' },
  utm_content: { key: 'trackingUtmContents', title: 'Campaign contents' },
  browser: { key: 'trackingBrowsers', title: 'Browsers' },
  browser_version: { key: 'trackingBrowserVersions', title: 'Browser versions' },
  os: { key: 'trackingOperatingSystems', title: 'Operating systems' },
  os_version: { key: 'trackingOsVersions', title: 'OS versions' },
  device: { key: 'trackingDevices', title: 'Devices' },
  country: { key: 'trackingCountries', title: 'Countries' },
  language: { key: 'trackingLanguages', title: 'Languages' },
} satisfies Record<DimensionName, { key: keyof AnalyticsContext; title: string }>)

/** The context keys of the dimension lists */
export type DimensionWidgetKey = (typeof DIMENSION_WIDGETS)[DimensionName]['key']

/**
 * A dimension's top values as a list widget: `label` = the value, `value`
 * = its views, `share` = of the dimension's views, `visitors` = its
 * distinct visitors over the range (at least, with `visitorsUpTo`, when
 * its days include daily counts without sketch)
 */
export function breakdownWidget(breakdown: DimensionBreakdown, caption: string): ListWidgetData {
  const { key, title } = DIMENSION_WIDGETS[breakdown.dimension]
  return listWidget({
    key,
    title,
    caption,
    dimension: breakdown.dimension,
    items: breakdown.rows.map((row) => ({
      label: row.value,
      value: row.views,
      visitors: row.visitors,
      visitorsUpTo: row.visitorsUpTo,
    })),
    total: breakdown.total,
  })
}
