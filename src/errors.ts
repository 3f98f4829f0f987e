import { createError } from '@adonisjs/core/exceptions'

/**
 * A configuration value is invalid. The message names the key and the value,
 * and the app refuses to boot.
 */
export const E_TRACKING_INVALID_CONFIG = createError<
  [key: string, value: string, expected: string]
>('Invalid tracking config "%s" = %s: %s', 'E_TRACKING_INVALID_CONFIG', 500)

/**
 * `config/tracking.ts` does not export a config made with `defineConfig`
 */
export const E_TRACKING_MISSING_CONFIG = createError(
  'Invalid "config/tracking.ts" file. Make sure it exports the result of "defineConfig" from "adonis-tracking"',
  'E_TRACKING_MISSING_CONFIG',
  500
)

/**
 * A flush, prune or read was given a date that is not a calendar day
 */
export const E_TRACKING_INVALID_DATE = createError<[flag: string, value: string]>(
  'Invalid date for "%s": "%s" (expected YYYY-MM-DD)',
  'E_TRACKING_INVALID_DATE',
  422
)

/**
 * The store the config asks for cannot be used (e.g. Redis requested but
 * @adonisjs/redis is not installed)
 */
export const E_TRACKING_STORE_UNAVAILABLE = createError<[reason: string]>(
  'Tracking store unavailable: %s',
  'E_TRACKING_STORE_UNAVAILABLE',
  500
)

/**
 * A range given to the selector is not usable (from after to, too long)
 */
export const E_TRACKING_INVALID_RANGE = createError<[reason: string]>(
  'Invalid analytics range: %s',
  'E_TRACKING_INVALID_RANGE',
  422
)

/**
 * A dimension filter given to the selector is not `<dimension>:<value>` of a known dimension
 */
export const E_TRACKING_INVALID_FILTER = createError<[reason: string]>(
  'Invalid analytics filter: %s',
  'E_TRACKING_INVALID_FILTER',
  422
)

/**
 * The store (Redis) did not answer a read, a flush step or a close within
 * `storeTimeoutMs`: a stalled Redis fails the call instead of holding it
 */
export const E_TRACKING_STORE_TIMEOUT = createError<[call: string, timeoutMs: number]>(
  'The tracking store did not answer %s within %d ms',
  'E_TRACKING_STORE_TIMEOUT',
  503
)
