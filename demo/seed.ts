import User from '#demo/models/user'

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
