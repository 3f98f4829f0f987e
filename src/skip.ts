import type { HttpContext } from '@adonisjs/core/http'

/** Requests a handler asked not to count; weak, so nothing outlives the request */
const untracked = new WeakSet<HttpContext>()

/**
 * Marks the current request as not a page view, whatever its path and
 * status: the analytics page and its exports call it, and so may any
 * handler of the app (an admin screen, a preview).
 *
 *   skipTracking(ctx)
 */
export function skipTracking(ctx: HttpContext): void {
  untracked.add(ctx)
}

/** True when skipTracking(ctx) was called for this request */
export function isTrackingSkipped(ctx: HttpContext): boolean {
  return untracked.has(ctx)
}
