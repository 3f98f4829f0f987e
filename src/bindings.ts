import type { ApplicationService } from '@adonisjs/core/types'
/* the `lucid.db` binding's type (Lucid is a required peer) */
import type {} from '@adonisjs/lucid/database_provider'
import { Cabinet } from './cabinet/registry.ts'
import { declareTrackingCabinet } from './cabinet/tracking.ts'
import { TrackingSelector } from './selector.ts'

declare module '@adonisjs/core/types' {
  interface ContainerBindings {
    'tracking.selector': TrackingSelector
    'tracking.cabinet': Cabinet
  }
}

/**
 * Binds the read side, to call from the provider's register():
 *
 * - `tracking.selector`: a TrackingSelector on `tracking.manager` and
 *   Lucid's `lucid.db`
 * - `tracking.cabinet`: a Cabinet with the tracking module declared (topbar,
 *   staff sidebar, dashboard widgets and their provider, cached 60 s)
 *
 * Only factories are bound; settings are read when a page renders.
 */
export function registerTrackingReadBindings(app: ApplicationService) {
  app.container.singleton('tracking.selector', async (resolver) => {
    const manager = await resolver.make('tracking.manager')
    return new TrackingSelector(manager, await resolver.make('lucid.db'))
  })
  app.container.singleton('tracking.cabinet', async (resolver) => {
    const manager = await resolver.make('tracking.manager')
    return declareTrackingCabinet(new Cabinet(), {
      settings: () => manager.settings,
      selector: () => resolver.make('tracking.selector'),
    })
  })
}
