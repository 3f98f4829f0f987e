import env from '#start/env'
import { defineConfig } from 'adonis-tracking'

/**
 * Page tracking of the demo. Keys left out here fall back to the legacy
 * `tracking` section of config/cabinet.ts, then to the package defaults.
 */
const trackingConfig = defineConfig({
  store: env.get('TRACKING_STORE', 'redis'),
  redisConnection: 'main',

  /* benchmark knobs (npm run bench): unset, the package defaults apply */
  enabled: env.get('TRACKING_ENABLED'),
  bufferMs: env.get('TRACKING_BUFFER_MS'),
  /* soak knobs (npm run soak, R7): guests counted, a smaller path cap in --quick */
  trackAnonymous: env.get('TRACKING_ANONYMOUS'),
  maxPathsPerDay: env.get('TRACKING_MAX_PATHS_PER_DAY'),
  maxOpenVisits: env.get('TRACKING_MAX_OPEN_VISITS'),
  /* soak knob (R6: every process flushes every second, one at a time through the lock) */
  autoFlush: env.get('TRACKING_AUTO_FLUSH')
    ? { every: env.get('TRACKING_AUTO_FLUSH')! }
    : undefined,

  /* the country of a view from this trusted header (Cloudflare's); the demo's sample traffic sends it */
  countryHeader: 'CF-IPCountry',

  /* the stats API (/cabinet/tracking/api/v1/context): tokens from TRACKING_API_TOKENS, comma-separated */
  apiTokens: (env.get('TRACKING_API_TOKENS')?.release() ?? '')
    .split(',')
    .map((token) => token.trim())
    .filter(Boolean),

  /* the demo's goals: its sign-up form posts a `signup` event (demo/controllers/signup_controller.ts) */
  goals: [
    { name: 'Signup', event: 'signup' },
    { name: 'Pricing', path: '/pricing' },
  ],
  /* a visit that views /pricing, then signs up */
  funnels: [{ name: 'Purchase', steps: ['Pricing', 'Signup'] }],

  /* staff users may open the analytics page (/cabinet/tracking) */
  authorize: (ctx) => Boolean((ctx.auth?.user as { isStaff?: boolean } | undefined)?.isStaff),
})

export default trackingConfig
