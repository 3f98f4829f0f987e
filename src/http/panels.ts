import type { DimensionName } from '../dimensions/names.ts'
import { filterText, type DimensionFilter } from '../read/filter.ts'
import { DIMENSION_WIDGETS } from '../widgets/dimensions.ts'
import type { AnalyticsContext, ListWidgetData } from '../widgets/types.ts'

/** One tab of a panel: the query value that selects it and the dimension it lists */
interface PanelTab {
  name: string
  label: string
  dimension: DimensionName
}

/** A dimension panel of the analytics page; `param` selects its tab (the first is the default) */
interface PanelSpec {
  id: string
  title: string
  param: string
  tabs: PanelTab[]
  /** the tab shown without the param */
  defaultTab?: string
}

/**
 * The dimension panels of the analytics page, in order. Tabs are plain
 * links (`?sources_tab=channels`), so the page needs no script.
 */
export const ANALYTICS_PANELS: readonly PanelSpec[] = Object.freeze([
  {
    id: 'sources',
    title: 'Sources',
    param: 'sources_tab',
    tabs: [
      { name: 'sources', label: 'Sources', dimension: 'source' },
      { name: 'channels', label: 'Channels', dimension: 'channel' },
    ],
  },
  {
    id: 'campaigns',
    title: 'Campaigns',
    param: 'campaigns_tab',
    defaultTab: 'campaign',
    tabs: [
      { name: 'source', label: 'Source', dimension: 'utm_source' },
      { name: 'medium', label: 'Medium', dimension: 'utm_medium' },
      { name: 'campaign', label: 'Campaign', dimension: 'utm_campaign' },
      { name: 'term', label: 'Term', dimension: 'utm_term' },
      { name: 'content', label: 'Content', dimension: 'utm_content' },
    ],
  },
  {
    id: 'browsers',
    title: 'Browsers',
    param: 'browsers_tab',
    tabs: [
      { name: 'browsers', label: 'Browsers', dimension: 'browser' },
      { name: 'versions', label: 'Versions', dimension: 'browser_version' },
    ],
  },
  {
    id: 'os',
    title: 'Operating systems',
    param: 'os_tab',
    tabs: [
      { name: 'os', label: 'Systems', dimension: 'os' },
      { name: 'versions', label: 'Versions', dimension: 'os_version' },
    ],
  },
  {
    id: 'devices',
    title: 'Devices',
    param: '',
    tabs: [{ name: '', label: '', dimension: 'device' }],
  },
  {
    id: 'countries',
    title: 'Countries',
    param: '',
    tabs: [{ name: '', label: '', dimension: 'country' }],
  },
  {
    id: 'languages',
    title: 'Languages',
    param: '',
    tabs: [{ name: '', label: '', dimension: 'language' }],
  },
])

/** Words for a dimension in the filter chip */
export const DIMENSION_LABELS: Readonly<Record<DimensionName, string>> = Object.freeze({
  source: 'Source',
  channel: 'Channel',
  utm_source: 'Campaign source',
  utm_medium: 'Campaign medium',
  utm_campaign: 'Campaign',
  utm_term: 'Campaign term',
  utm_content: 'Campaign content',
  browser: 'Browser',
  browser_version: 'Browser version',
  os: 'Operating system',
  os_version: 'OS version',
  device: 'Device',
  country: 'Country',
  language: 'Language',
})

/** A panel as the page renders it */
export interface AnalyticsPanel {
  id: string
  title: string
  data: ListWidgetData
  /** links of the tabs (empty for a panel of one list) */
  tabs: Array<{ label: string; url: string; current: boolean }>
  /** the link of each item: the page filtered by that value */
  hrefs: string[]
}

/** The selected tab of each panel, from the query string (unknown values: the default tab) */
export function selectedTabs(qs: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const panel of ANALYTICS_PANELS) {
    if (panel.tabs.length < 2) continue
    const raw = qs[panel.param]
    const asked = String(Array.isArray(raw) ? raw[0] : (raw ?? ''))
    const defaultTab = panel.defaultTab ?? panel.tabs[0].name
    if (asked !== defaultTab && panel.tabs.some((tab) => tab.name === asked)) {
      out[panel.param] = asked
    }
  }
  return out
}

/**
 * The dimension panels of a context, with the links of their tabs and
 * items. `url(params)` makes a link to the page that keeps the current
 * range, search and page size; `tabs` are the non-default tabs selected.
 * A panel whose lists the context lacks (a custom loader) is left out.
 */
export function analyticsPanels(
  context: AnalyticsContext,
  options: {
    url: (params: Record<string, string>) => string
    tabs: Record<string, string>
    filter: DimensionFilter | null
  }
): AnalyticsPanel[] {
  const out: AnalyticsPanel[] = []
  const withFilter: Record<string, string> = options.filter
    ? { filter: filterText(options.filter) }
    : {}
  for (const panel of ANALYTICS_PANELS) {
    const chosen = options.tabs[panel.param] ?? panel.defaultTab ?? panel.tabs[0].name
    const tab = panel.tabs.find((one) => one.name === chosen) ?? panel.tabs[0]
    const data = context[DIMENSION_WIDGETS[tab.dimension].key]
    if (!data) continue
    out.push({
      id: panel.id,
      title: panel.title,
      data,
      tabs:
        panel.tabs.length < 2
          ? []
          : panel.tabs.map((one) => {
              const tabs = { ...options.tabs }
              if (one.name === (panel.defaultTab ?? panel.tabs[0].name)) delete tabs[panel.param]
              else tabs[panel.param] = one.name
              return {
                label: one.label,
                url: options.url({ ...withFilter, ...tabs }),
                current: one === tab,
              }
            }),
      hrefs: data.items.map((item) =>
        options.url({
          ...options.tabs,
          filter: filterText({ dimension: tab.dimension, value: item.label }),
        })
      ),
    })
  }
  return out
}
