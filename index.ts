export * as errors from './src/errors.ts'
export { configure } from './configure.ts'
export { stubsRoot } from './stubs/main.ts'
export { defineConfig } from './src/define_config.ts'
export { resolveSettings, DEFAULT_SKIP_PREFIXES } from './src/settings.ts'
export { TrackingManager } from './src/manager.ts'
export { TrackingRecorder } from './src/recorder.ts'
export { EventRecorder, type TrackingEventInput, type TrackingEventProps } from './src/events.ts'
export { WriteBuffer } from './src/write_buffer.ts'
export { RedisStore } from './src/stores/redis_store.ts'
export { MemoryStore } from './src/stores/memory_store.ts'
export { TrackingKeys } from './src/stores/keys.ts'
export { OTHER_PATH } from './src/stores/batch.ts'
export {
  DIMENSIONS,
  DIMENSION_GROUPS,
  EVENT_DIMENSIONS,
  OTHER_VALUE,
  type DimensionName,
  type DimensionGroup,
  type EventDimensionName,
} from './src/dimensions/names.ts'
export { TrackingSelector } from './src/selector.ts'
export { registerTrackingReadBindings } from './src/bindings.ts'
export * from './src/cabinet/main.ts'
export {
  buildTrend,
  metricWidget,
  chartWidget,
  listWidget,
  tableWidget,
} from './src/widgets/builders.ts'
export { registerTrackingRoutes } from './src/http/routes.ts'
export { skipTracking } from './src/skip.ts'
export { ApiTokens } from './src/api_tokens.ts'
export { default as PageTrackingMiddleware } from './src/middleware/page_tracking_middleware.ts'
export type * from './src/types.ts'
export type * from './src/widgets/types.ts'
export type {
  SelectorSource,
  SelectorDatabase,
  SelectorOptions,
  RangeInput,
  PageCount,
  ContextOptions,
  RangeFigures,
  RangeComparison,
  RankedPage,
  ExportOptions,
  VisitOptions,
  RangeVisits,
  VisitFigures,
  VisitPage,
  VisitSource,
} from './src/selector.ts'
export type * from './src/stores/types.ts'
