import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import type { TrackingManager } from '../manager.ts'

/**
 * Counts eligible page views after the route handler has produced the
 * response. Register it in the router middleware stack, after the auth
 * initializer (and silent auth) so the authenticated user is known.
 * Recording is synchronous and in memory: the response never waits for Redis.
 */
export default class PageTrackingMiddleware {
  #manager: TrackingManager

  constructor(manager: TrackingManager) {
    this.#manager = manager
  }

  async handle(ctx: HttpContext, next: NextFn) {
    await next()
    this.#manager.recorder.record(ctx)
  }
}
