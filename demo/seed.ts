import app from '@adonisjs/core/services/app'
import db from '@adonisjs/lucid/services/db'
import User from '#demo/models/user'
import { TRACKING_TABLES } from '../src/flush.ts'
import { writeSampleTraffic } from './sample_traffic.ts'

/**
 * The two accounts of the demo, printed by `npm run demo` and used by the tests
 */
export const DEMO_USERS = {
  staff: {
    email: 'staff@example.com',
    password: 'secret',
    fullName: 'Staff Member',
    isStaff: true,
  },
  user: { email: 'user@example.com', password: 'secret', fullName: 'Regular User', isStaff: false },
} as const

/**
 * Creates the demo users when missing (safe to run on every start)
 */
export async function seedDemoUsers(): Promise<Record<keyof typeof DEMO_USERS, User>> {
  const users = {} as Record<keyof typeof DEMO_USERS, User>
  for (const [role, attributes] of Object.entries(DEMO_USERS) as Array<
    [keyof typeof DEMO_USERS, (typeof DEMO_USERS)[keyof typeof DEMO_USERS]]
  >) {
    users[role] =
      (await User.findBy('email', attributes.email)) ?? (await User.create({ ...attributes }))
  }
  return users
}

/**
 * Fills the tracking tables with 90 days of sample traffic, recorded and
 * flushed by the package itself (demo/sample_traffic.ts), when there is
 * no tracking data yet: no page view row in SQL and no live day in the
 * store. A database with tracking rows is left alone.
 */
export async function seedSampleTraffic(origin: string): Promise<void> {
  const manager = await app.container.make('tracking.manager')
  const row = await db.from(TRACKING_TABLES.pageViews).select('id').first()
  const liveDays = await manager.store.pendingDays()
  if (row || liveDays.length > 0) {
    console.log('sample: skipped (the tracking tables hold data already)')
    return
  }
  const started = performance.now()
  const summary = await writeSampleTraffic(manager, db, {
    origin,
    appKey: process.env.APP_KEY,
    onStart: (days, views) => console.log(`sample: ${days} days, ${views} views`),
  })
  console.log(
    `sample: ${summary.views} views and ${summary.events} sign-ups recorded, ${summary.flushed} flushed into SQL (today stays live) in ${((performance.now() - started) / 1000).toFixed(1)} s`
  )
}
