import app from '@adonisjs/core/services/app'
import type { TrackingManager } from '../src/manager.ts'

let tracking: TrackingManager

/**
 * The app's tracking manager, resolved once the app has booted
 */
await app.booted(async () => {
  tracking = await app.container.make('tracking.manager')
})

export { tracking as default }
