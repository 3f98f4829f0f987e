import type { HttpContext } from '@adonisjs/core/http'

/**
 * The demo's sign-up: it creates no account, it records the event a real
 * sign-up would record, `signup` with the chosen plan (the "Signup" goal
 * of an app whose config/tracking.ts declares
 * `goals: [{ name: 'Signup', event: 'signup' }]`). An app writes
 * `tracking.event(ctx, ...)` with `tracking` from
 * 'adonis-tracking/services/main'; the demo asks the container so that
 * tests can swap the manager.
 */
export default class SignupController {
  async store(ctx: HttpContext) {
    const plan = ctx.request.input('plan', 'free')
    const tracking = await ctx.containerResolver.make('tracking.manager')
    tracking.event(ctx, 'signup', { plan })
    return ctx.view.render('pages/signed_up', { plan: typeof plan === 'string' ? plan : 'free' })
  }
}
