/**
 * The cabinet section of the demo. Its `tracking` key is the legacy way to
 * configure the package (snake_case keys as in the original module);
 * config/tracking.ts wins over it.
 */
const cabinetConfig = {
  tracking: {
    track_anonymous: true,
    analytics_days: 14,
  },
}

export default cabinetConfig
