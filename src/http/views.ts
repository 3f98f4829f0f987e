import type { Edge } from 'edge.js'
import { trackingUi } from './view_helpers.ts'

/**
 * Where the package's Edge templates live (next to the built code too:
 * build/src/http -> build/resources/views)
 */
export const viewsRoot = new URL('../../resources/views/', import.meta.url)

/**
 * Mounts the `tracking` disk and registers the `trackingUi` global the
 * components call. After it, every file of resources/views/components is a
 * tag: `@!tracking.kpi({ data })`, `@!tracking.chart({ data })`, ...
 * Safe to call more than once.
 */
export function registerTrackingViews(edge: Edge) {
  edge.mount('tracking', viewsRoot)
  edge.global('trackingUi', trackingUi)
}
