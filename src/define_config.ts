import { configProvider } from '@adonisjs/core'
import type { ConfigProvider } from '@adonisjs/core/types'
import { resolveSettings } from './settings.ts'
import type { LegacyTrackingConfig, TrackingConfig, TrackingSettings } from './types.ts'

/**
 * Defines the tracking config. The legacy `tracking` section of
 * `config/cabinet.ts` is merged underneath (keys given here win) when the
 * config is resolved at boot; invalid values throw E_TRACKING_INVALID_CONFIG.
 */
export function defineConfig(config: TrackingConfig = {}): ConfigProvider<TrackingSettings> {
  return configProvider.create(async (app) => {
    const legacy = app.config.get<LegacyTrackingConfig | undefined>('cabinet.tracking', undefined)
    const redisConnections = app.config.get<Record<string, unknown> | undefined>(
      'redis.connections',
      undefined
    )
    return resolveSettings(config, legacy, {
      defaultTimezone: process.env.TZ,
      redisConnections: redisConnections ? Object.keys(redisConnections) : undefined,
      appRoot: app.appRoot,
    })
  })
}
