export { Cabinet } from './registry.ts'
export type {
  CabinetAudience,
  CabinetDeclaration,
  CabinetEntry,
  CabinetFilter,
  Lazy,
  ResolvedCabinetEntry,
} from './registry.ts'
export { DashboardRegistry, DEFAULT_DASHBOARD_TTL_MS } from './dashboard.ts'
export type { DashboardProvider, DashboardWidgetRef } from './dashboard.ts'
export {
  declareTrackingCabinet,
  TRACKING_DASHBOARD_CACHE_KEY,
  TRACKING_DASHBOARD_WIDGETS,
  TRACKING_MODULE,
} from './tracking.ts'
export type { TrackingCabinetSource, TrackingDashboardSelector } from './tracking.ts'
