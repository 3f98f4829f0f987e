import { test } from '@japa/runner'
import { resolveSettings, DEFAULT_SKIP_PREFIXES } from '../../src/settings.ts'
import { errors } from '../../index.ts'
import type { LegacyTrackingConfig, TrackingConfig } from '../../src/types.ts'

/**
 * Runs resolveSettings and returns the E_TRACKING_INVALID_CONFIG it throws
 */
function invalid(modern: unknown, legacy?: unknown, context = {}) {
  try {
    resolveSettings(modern as TrackingConfig, legacy as LegacyTrackingConfig, context)
  } catch (error) {
    if (error instanceof errors.E_TRACKING_INVALID_CONFIG) return error
    throw error
  }
  throw new Error('expected E_TRACKING_INVALID_CONFIG, nothing was thrown')
}

test.group('Settings | defaults', () => {
  test('an empty config gives the seed defaults', ({ assert }) => {
    const settings = resolveSettings()
    assert.include(settings, {
      enabled: true,
      store: 'redis',
      redisEnabled: true,
      redisConnection: 'main',
      redisUrl: null,
      keyPrefix: 'tracking',
      ttlSeconds: 7 * 24 * 3600,
      trackAnonymous: false,
      trackRedirects: true,
      trackDashboardWidgets: true,
      analyticsUrl: '/cabinet/tracking',
      analyticsDays: 14,
      analyticsLayout: null,
      loginUrl: null,
      timezone: 'UTC',
      ignoreBots: true,
      bufferMs: 1000,
      groupBy: 'path',
      autoFlush: false,
      visitorId: null,
    })
    assert.deepEqual([...settings.skipPrefixes], [...DEFAULT_SKIP_PREFIXES])
    assert.include([...settings.skipPrefixes], '/assets/')
  })

  test('visits end after 30 minutes without a view; visit_timeout_minutes is the legacy name', ({
    assert,
  }) => {
    assert.equal(resolveSettings().visitTimeoutMinutes, 30)
    assert.equal(resolveSettings({ visitTimeoutMinutes: 1 }).visitTimeoutMinutes, 1)
    assert.equal(resolveSettings({ visitTimeoutMinutes: 240 }).visitTimeoutMinutes, 240)
    assert.equal(resolveSettings({}, { visit_timeout_minutes: 45 }).visitTimeoutMinutes, 45)
  })

  test('the default authorize denies everybody', ({ assert }) => {
    assert.isFalse(resolveSettings().authorize({} as any))
  })

  test('the timezone falls back to the app timezone', ({ assert }) => {
    assert.equal(
      resolveSettings({}, null, { defaultTimezone: 'Europe/Paris' }).timezone,
      'Europe/Paris'
    )
  })
})

test.group('Settings | legacy cabinet.tracking section', () => {
  test('modern keys win over the legacy section', ({ assert }) => {
    const settings = resolveSettings(
      { keyPrefix: 'modern', analyticsDays: 30 },
      { keyPrefix: 'legacy', analyticsDays: 7, trackAnonymous: true }
    )
    assert.equal(settings.keyPrefix, 'modern')
    assert.equal(settings.analyticsDays, 30)
    /* a key only the legacy section sets is kept */
    assert.isTrue(settings.trackAnonymous)
  })

  test('modern keys also win over snake_case legacy keys', ({ assert }) => {
    const settings = resolveSettings(
      { ttlSeconds: 3600, skipPrefixes: ['/admin/'] },
      { ttl_seconds: 7200, skip_prefixes: ['/legacy/'], analytics_url: '/stats' }
    )
    assert.equal(settings.ttlSeconds, 3600)
    assert.deepEqual([...settings.skipPrefixes], ['/admin/'])
    assert.equal(settings.analyticsUrl, '/stats')
  })

  test('an undefined modern key does not hide the legacy value', ({ assert }) => {
    const settings = resolveSettings({ keyPrefix: undefined }, { key_prefix: 'from-cabinet' })
    assert.equal(settings.keyPrefix, 'from-cabinet')
  })

  test('every snake_case key of the seed is understood', ({ assert }) => {
    const settings = resolveSettings(
      {},
      {
        redis_enabled: true,
        redis_connection: 'cache',
        key_prefix: 'seed',
        ttl_seconds: 86_400,
        skip_prefixes: ['/admin/', '/api/'],
        track_anonymous: true,
        track_redirects: false,
        track_dashboard_widgets: false,
        analytics_url: '/cabinet/stats/',
        analytics_days: 30,
        analytics_layout: 'layouts/main',
        login_url: '/login',
        ignore_bots: false,
        buffer_ms: 250,
        group_by: 'route',
        retention_days: 90,
      }
    )
    assert.include(settings, {
      store: 'redis',
      redisConnection: 'cache',
      keyPrefix: 'seed',
      ttlSeconds: 86_400,
      trackAnonymous: true,
      trackRedirects: false,
      trackDashboardWidgets: false,
      analyticsUrl: '/cabinet/stats',
      analyticsDays: 30,
      analyticsLayout: 'layouts/main',
      loginUrl: '/login',
      ignoreBots: false,
      bufferMs: 250,
      groupBy: 'route',
      retentionDays: 90,
    })
    assert.deepEqual([...settings.skipPrefixes], ['/admin/', '/api/'])
  })

  test('redis_enabled: false selects the memory store', ({ assert }) => {
    const settings = resolveSettings({}, { redis_enabled: false })
    assert.equal(settings.store, 'memory')
    assert.isFalse(settings.redisEnabled)
  })

  test('an explicit store wins over redis_enabled', ({ assert }) => {
    const settings = resolveSettings({ store: 'redis' }, { redis_enabled: false })
    assert.equal(settings.store, 'redis')
    assert.isTrue(settings.redisEnabled)
  })

  test('an unknown legacy key fails and names the cabinet key', ({ assert }) => {
    const error = invalid({}, { track_anonymus: true })
    assert.include(error.message, 'cabinet.tracking.track_anonymus')
  })
})

test.group('Settings | frozen', () => {
  test('the settings object and its skip prefixes are frozen', ({ assert }) => {
    const settings = resolveSettings({ skipPrefixes: ['/admin/'] })
    assert.isTrue(Object.isFrozen(settings))
    assert.isTrue(Object.isFrozen(settings.skipPrefixes))
    /* test files are ES modules, so strict mode: writes throw */
    assert.throws(() => {
      ;(settings as any).enabled = false
    }, TypeError)
    assert.throws(() => {
      ;(settings.skipPrefixes as string[]).push('/x/')
    }, TypeError)
    assert.isTrue(settings.enabled)
    assert.deepEqual([...settings.skipPrefixes], ['/admin/'])
  })

  test('changing the input config afterwards has no effect', ({ assert }) => {
    const config: TrackingConfig = { skipPrefixes: ['/admin/'], analyticsDays: 10 }
    const settings = resolveSettings(config)
    config.skipPrefixes!.push('/late/')
    config.analyticsDays = 99
    assert.deepEqual([...settings.skipPrefixes], ['/admin/'])
    assert.equal(settings.analyticsDays, 10)
  })
})

test.group('Settings | validation errors', () => {
  const cases: Array<{
    title: string
    config: unknown
    key: string
    value: string
    context?: object
  }> = [
    { title: 'a negative ttl', config: { ttlSeconds: -1 }, key: 'ttlSeconds', value: '-1' },
    { title: 'a fractional ttl', config: { ttlSeconds: 1.5 }, key: 'ttlSeconds', value: '1.5' },
    {
      title: 'a skipPrefixes entry without a leading slash',
      config: { skipPrefixes: ['/ok/', 'admin/'] },
      key: 'skipPrefixes[1]',
      value: '"admin/"',
    },
    {
      title: 'skipPrefixes that is not an array',
      config: { skipPrefixes: '/admin/' },
      key: 'skipPrefixes',
      value: '"/admin/"',
    },
    {
      title: 'an unknown store',
      config: { store: 'memcached' },
      key: 'store',
      value: '"memcached"',
    },
    {
      title: 'an unknown redis connection',
      config: { redisConnection: 'nope' },
      key: 'redisConnection',
      value: '"nope"',
      context: { redisConnections: ['main'] },
    },
    {
      title: 'a redisUrl that is not a redis URL',
      config: { redisUrl: 'http://x' },
      key: 'redisUrl',
      value: '"http://x"',
    },
    {
      title: 'an invalid timezone',
      config: { timezone: 'Mars/Olympus' },
      key: 'timezone',
      value: '"Mars/Olympus"',
    },
    { title: 'a negative bufferMs', config: { bufferMs: -5 }, key: 'bufferMs', value: '-5' },
    {
      title: 'a bufferMs that is not a number',
      config: { bufferMs: '100' },
      key: 'bufferMs',
      value: '"100"',
    },
    {
      title: 'a non-function authorize',
      config: { authorize: true },
      key: 'authorize',
      value: 'true',
    },
    {
      title: 'a non-function visitorId',
      config: { visitorId: 'id' },
      key: 'visitorId',
      value: '"id"',
    },
    {
      title: 'an unknown key',
      config: { trackAnonymus: true },
      key: 'trackAnonymus',
      value: 'true',
    },
    { title: 'a non-boolean flag', config: { enabled: 'yes' }, key: 'enabled', value: '"yes"' },
    {
      title: 'an analyticsUrl without a leading slash',
      config: { analyticsUrl: 'stats' },
      key: 'analyticsUrl',
      value: '"stats"',
    },
    {
      title: 'an empty analyticsLayout',
      config: { analyticsLayout: ' ' },
      key: 'analyticsLayout',
      value: '" "',
    },
    {
      title: 'a loginUrl that is neither a path nor a URL',
      config: { loginUrl: 'login' },
      key: 'loginUrl',
      value: '"login"',
    },
    { title: 'zero analyticsDays', config: { analyticsDays: 0 }, key: 'analyticsDays', value: '0' },
    {
      title: 'analyticsDays beyond the longest range (366)',
      config: { analyticsDays: 367 },
      key: 'analyticsDays',
      value: '367',
    },
    { title: 'an empty keyPrefix', config: { keyPrefix: '' }, key: 'keyPrefix', value: '""' },
    { title: 'an unknown groupBy', config: { groupBy: 'host' }, key: 'groupBy', value: '"host"' },
    {
      title: 'a visit timeout of 0 minutes',
      config: { visitTimeoutMinutes: 0 },
      key: 'visitTimeoutMinutes',
      value: '0',
    },
    {
      title: 'a visit timeout beyond 4 hours',
      config: { visitTimeoutMinutes: 241 },
      key: 'visitTimeoutMinutes',
      value: '241',
    },
    {
      title: 'a visit timeout that is not whole minutes',
      config: { visitTimeoutMinutes: 1.5 },
      key: 'visitTimeoutMinutes',
      value: '1.5',
    },
    {
      title: 'a visit timeout given as text',
      config: { visitTimeoutMinutes: '30' },
      key: 'visitTimeoutMinutes',
      value: '"30"',
    },
    {
      title: 'a too short autoFlush interval',
      config: { autoFlush: { every: '10ms' } },
      key: 'autoFlush.every',
      value: '"10ms"',
    },
  ]

  for (const entry of cases) {
    test(`${entry.title} fails with E_TRACKING_INVALID_CONFIG naming the key and value`, ({
      assert,
    }) => {
      const error = invalid(entry.config, undefined, entry.context)
      assert.equal(error.code, 'E_TRACKING_INVALID_CONFIG')
      assert.include(error.message, `"${entry.key}"`)
      assert.include(error.message, entry.value)
    })
  }

  test('an invalid legacy value fails with the same error', ({ assert }) => {
    const error = invalid({}, { ttl_seconds: -10 })
    assert.equal(error.code, 'E_TRACKING_INVALID_CONFIG')
    assert.include(error.message, 'ttlSeconds')
    assert.include(error.message, '-10')
  })

  test('a valid modern value rescues an invalid legacy one', ({ assert }) => {
    assert.equal(resolveSettings({ ttlSeconds: 600 }, { ttl_seconds: -10 }).ttlSeconds, 600)
  })

  test('the redis connection is not checked when the memory store is used', ({ assert }) => {
    const settings = resolveSettings({ store: 'memory', redisConnection: 'nope' }, null, {
      redisConnections: ['main'],
    })
    assert.equal(settings.store, 'memory')
  })
})

test.group('Settings | autoFlush and timezone bounds', () => {
  test('autoFlush.every {every} fails: at most 24 hours (setInterval would fire every 1 ms)')
    .with([{ every: '30d' }, { every: '25h' }, { every: 24 * 3600 * 1000 + 1 }])
    .run(({ assert }, { every }) => {
      const error = invalid({ autoFlush: { every } })
      assert.equal(error.code, 'E_TRACKING_INVALID_CONFIG')
      assert.include(error.message, '"autoFlush.every"')
      assert.include(error.message, String(every))
    })

  test('autoFlush.every from 1s to 24h is accepted', ({ assert }) => {
    assert.deepEqual(resolveSettings({ autoFlush: { every: '24h' } }).autoFlush, {
      everyMs: 86_400_000,
    })
    assert.deepEqual(resolveSettings({ autoFlush: { every: 1000 } }).autoFlush, { everyMs: 1000 })
  })

  test('timezone {timezone} fails: not a real zone or offset')
    .with([
      { timezone: 'UTC+99' },
      { timezone: 'UTC-13' },
      { timezone: 'UTC+14:30' },
      { timezone: 'UTC+2:99' },
      { timezone: '-13:00' },
      { timezone: 'local' },
      { timezone: 'system' },
    ])
    .run(({ assert }, { timezone }) => {
      const error = invalid({ timezone })
      assert.equal(error.code, 'E_TRACKING_INVALID_CONFIG')
      assert.include(error.message, '"timezone"')
      assert.include(error.message, `"${timezone}"`)
    })

  test('timezone {timezone} is accepted')
    .with([
      { timezone: 'UTC' },
      { timezone: 'Europe/Paris' },
      { timezone: 'America/Santiago' },
      { timezone: 'Etc/GMT-14' },
      { timezone: 'UTC+2' },
      { timezone: 'UTC-12' },
      { timezone: 'UTC+14' },
      { timezone: 'UTC+05:45' },
      { timezone: '+02:00' },
    ])
    .run(({ assert }, { timezone }) => {
      assert.equal(resolveSettings({ timezone }).timezone, timezone)
    })
})

test.group('Settings | trailingSlash', () => {
  test("defaults to 'keep'; 'strip' and the legacy trailing_slash are understood", ({ assert }) => {
    assert.equal(resolveSettings().trailingSlash, 'keep')
    assert.equal(resolveSettings({ trailingSlash: 'strip' }).trailingSlash, 'strip')
    assert.equal(resolveSettings({}, { trailing_slash: 'strip' }).trailingSlash, 'strip')
  })

  test('an unknown value fails with E_TRACKING_INVALID_CONFIG naming the key', ({ assert }) => {
    const error = invalid({ trailingSlash: 'remove' })
    assert.equal(error.code, 'E_TRACKING_INVALID_CONFIG')
    assert.include(error.message, '"trailingSlash"')
    assert.include(error.message, '"remove"')
    assert.include(error.message, 'expected "keep" or "strip"')
    assert.include(invalid({}, { trailing_slash: true }).message, '"trailingSlash"')
  })
})

test.group('Settings | stats API', () => {
  const TOKEN = 'k7Qm2xV9pL4sR8tW1yZ3bN6cF0gH5jD2'
  const OTHER = 'another-token-of-at-least-32-characters'

  test('no apiTokens: the API is off; the limit defaults to 60 per minute', ({ assert }) => {
    const settings = resolveSettings()
    assert.equal(settings.apiTokens.size, 0)
    assert.isNull(settings.apiTokens.verify(TOKEN))
    assert.deepEqual(settings.apiRateLimit, { requests: 60, durationMs: 60_000 })
  })

  test('a configured token is recognised, a wrong one, a prefix or an empty one is not', ({
    assert,
  }) => {
    const tokens = resolveSettings({ apiTokens: [TOKEN, OTHER, TOKEN] }).apiTokens
    assert.equal(tokens.size, 2)
    const id = tokens.verify(TOKEN)
    assert.match(id ?? '', /^[0-9a-f]{16}$/)
    assert.notEqual(tokens.verify(OTHER), id)
    assert.isNull(tokens.verify(TOKEN.slice(0, -1)))
    assert.isNull(tokens.verify(`${TOKEN}x`))
    assert.isNull(tokens.verify(TOKEN.toUpperCase()))
    assert.isNull(tokens.verify(''))
    assert.isNull(tokens.verify(undefined))
  })

  test('the settings never show a token: not printed, not serialised', async ({ assert }) => {
    const { inspect } = await import('node:util')
    const settings = resolveSettings({ apiTokens: [TOKEN] })
    assert.notInclude(inspect(settings, { depth: 5 }), TOKEN)
    assert.notInclude(JSON.stringify(settings), TOKEN)
    assert.include(JSON.stringify(settings), 'redacted')
  })

  for (const [name, value, key] of [
    ['a string instead of an array', TOKEN, 'apiTokens'],
    ['a token of 31 characters', [TOKEN.slice(0, 31)], 'apiTokens[0]'],
    ['a token with a space', [OTHER, `${TOKEN} x`], 'apiTokens[1]'],
    ['a token with a comma', [`${TOKEN},x`], 'apiTokens[0]'],
    ['a number', [12345678901234567890123456789012345], 'apiTokens[0]'],
    ['an empty string', [''], 'apiTokens[0]'],
  ] as const) {
    test(`apiTokens: ${name} fails, naming the key and never the token`, ({ assert }) => {
      const error = invalid({ apiTokens: value })
      assert.include(error.message, `"${key}"`)
      assert.notInclude(error.message, TOKEN.slice(0, 31))
      assert.notInclude(error.message, OTHER)
    })
  }

  test('a misspelt key holding tokens is refused without showing them', ({ assert }) => {
    const modern = invalid({ apiToken: [TOKEN] })
    assert.include(modern.message, '"apiToken"')
    assert.include(modern.message, 'unknown key')
    assert.notInclude(modern.message, TOKEN)
    const legacy = invalid({}, { api_token: TOKEN })
    assert.include(legacy.message, '"cabinet.tracking.api_token"')
    assert.notInclude(legacy.message, TOKEN)
  })

  test('the legacy api_tokens key is read as apiTokens', ({ assert }) => {
    const settings = resolveSettings({}, { api_tokens: [TOKEN] })
    assert.isNotNull(settings.apiTokens.verify(TOKEN))
  })

  test('apiRateLimit: requests and a duration, or false', ({ assert }) => {
    assert.deepEqual(
      resolveSettings({ apiRateLimit: { requests: 5, duration: '10s' } }).apiRateLimit,
      {
        requests: 5,
        durationMs: 10_000,
      }
    )
    assert.deepEqual(
      resolveSettings({ apiRateLimit: { requests: 100, duration: 3600 } }).apiRateLimit,
      {
        requests: 100,
        durationMs: 3_600_000,
      }
    )
    assert.isFalse(resolveSettings({ apiRateLimit: false }).apiRateLimit)
  })

  for (const [name, value, key] of [
    ['true', true, 'apiRateLimit'],
    ['0 requests', { requests: 0, duration: '1m' }, 'apiRateLimit.requests'],
    ['1.5 requests', { requests: 1.5, duration: '1m' }, 'apiRateLimit.requests'],
    ['a duration of 0.5 s', { requests: 1, duration: 0.5 }, 'apiRateLimit.duration'],
    ['a duration of 2 days', { requests: 1, duration: '2 days' }, 'apiRateLimit.duration'],
    ['a duration that is no duration', { requests: 1, duration: 'soon' }, 'apiRateLimit.duration'],
    ['an unknown key', { requests: 1, duration: '1m', burst: 3 }, 'apiRateLimit.burst'],
  ] as const) {
    test(`apiRateLimit: ${name} fails, naming ${key}`, ({ assert }) => {
      assert.include(invalid({ apiRateLimit: value }).message, `"${key}"`)
    })
  }
})

test.group('Settings | funnels', () => {
  const GOALS: TrackingConfig['goals'] = [
    { name: 'Pricing', path: '/pricing' },
    { name: 'Signup', event: 'signup' },
    { name: 'Checkout', event: 'checkout' },
  ]

  test('funnels are kept in config order, frozen; none by default', ({ assert }) => {
    const settings = resolveSettings({
      goals: GOALS,
      funnels: [
        { name: 'Purchase', steps: ['Pricing', 'Signup', 'Checkout'] },
        { name: 'Quick', steps: ['Signup', 'Checkout'] },
      ],
    })
    assert.deepEqual(settings.funnels, [
      { name: 'Purchase', steps: ['Pricing', 'Signup', 'Checkout'] },
      { name: 'Quick', steps: ['Signup', 'Checkout'] },
    ])
    assert.isTrue(Object.isFrozen(settings.funnels))
    assert.isTrue(Object.isFrozen(settings.funnels[0]))
    assert.isTrue(Object.isFrozen(settings.funnels[0].steps))
    assert.deepEqual(resolveSettings({ goals: GOALS }).funnels, [])
    assert.deepEqual(resolveSettings().funnels, [])
  })

  test('8 steps and 20 funnels are accepted', ({ assert }) => {
    const goals = Array.from({ length: 8 }, (_, i) => ({ name: `G${i}`, event: `e${i}` }))
    const steps = goals.map((goal) => goal.name)
    const funnels = Array.from({ length: 20 }, (_, i) => ({ name: `F${i}`, steps }))
    const settings = resolveSettings({ goals, funnels })
    assert.lengthOf(settings.funnels, 20)
    assert.deepEqual(settings.funnels[19].steps, steps)
  })

  const mistakes: Array<{ title: string; funnels: unknown; key: string; says: string }> = [
    {
      title: 'funnels that are not an array',
      funnels: { name: 'Purchase', steps: ['Pricing', 'Signup'] },
      key: 'funnels',
      says: 'expected an array',
    },
    {
      title: '21 funnels',
      funnels: Array.from({ length: 21 }, (_, i) => ({
        name: `F${i}`,
        steps: ['Pricing', 'Signup'],
      })),
      key: 'funnels',
      says: 'at most 20',
    },
    {
      title: 'a funnel that is not an object',
      funnels: ['Purchase'],
      key: 'funnels[0]',
      says: 'expected { name, steps }',
    },
    {
      title: 'a step that names no goal',
      funnels: [{ name: 'Purchase', steps: ['Pricing', 'Sign up'] }],
      key: 'funnels[0].steps[1]',
      says: 'expected the name of a goal (known: Pricing, Signup, Checkout)',
    },
    {
      title: 'a step that is not a string',
      funnels: [{ name: 'Purchase', steps: ['Pricing', 2] }],
      key: 'funnels[0].steps[1]',
      says: 'expected the name of a goal',
    },
    {
      title: 'one step',
      funnels: [{ name: 'Purchase', steps: ['Pricing'] }],
      key: 'funnels[0].steps',
      says: 'expected an array of 2 to 8 goal names',
    },
    {
      title: '9 steps',
      funnels: [{ name: 'Purchase', steps: Array.from({ length: 9 }, () => 'Pricing') }],
      key: 'funnels[0].steps',
      says: 'expected an array of 2 to 8 goal names',
    },
    {
      title: 'steps that are not an array',
      funnels: [{ name: 'Purchase', steps: 'Pricing,Signup' }],
      key: 'funnels[0].steps',
      says: 'expected an array of 2 to 8 goal names',
    },
    {
      title: 'a goal twice in a funnel',
      funnels: [{ name: 'Purchase', steps: ['Pricing', 'Signup', 'Pricing'] }],
      key: 'funnels[0].steps[2]',
      says: 'expected each goal once in a funnel',
    },
    {
      title: 'an unknown key in a funnel',
      funnels: [{ name: 'Purchase', steps: ['Pricing', 'Signup'], window: '1h' }],
      key: 'funnels[0].window',
      says: 'unknown key (known: name, steps)',
    },
    {
      title: 'a duplicate funnel name',
      funnels: [
        { name: 'Purchase', steps: ['Pricing', 'Signup'] },
        { name: 'Purchase', steps: ['Signup', 'Checkout'] },
      ],
      key: 'funnels[1].name',
      says: 'expected a unique name',
    },
    {
      title: 'a funnel without a name',
      funnels: [{ steps: ['Pricing', 'Signup'] }],
      key: 'funnels[0].name',
      says: 'expected a name of 1 to 100 characters',
    },
    {
      title: 'a name of 101 characters',
      funnels: [{ name: 'n'.repeat(101), steps: ['Pricing', 'Signup'] }],
      key: 'funnels[0].name',
      says: 'expected a name of 1 to 100 characters',
    },
  ]
  for (const mistake of mistakes) {
    test(`${mistake.title}: E_TRACKING_INVALID_CONFIG naming "${mistake.key}"`, ({ assert }) => {
      const error = invalid({ goals: GOALS, funnels: mistake.funnels })
      assert.equal(error.code, 'E_TRACKING_INVALID_CONFIG')
      assert.include(error.message, `"${mistake.key}"`)
      assert.include(error.message, mistake.says)
    })
  }

  test('without goals, a step says that no goals are configured', ({ assert }) => {
    const error = invalid({ funnels: [{ name: 'Purchase', steps: ['Pricing', 'Signup'] }] })
    assert.include(error.message, '"funnels[0].steps[0]"')
    assert.include(error.message, 'no goals are configured')
  })

  test('a step names a goal exactly (case and spaces matter)', ({ assert }) => {
    assert.include(
      invalid({ goals: GOALS, funnels: [{ name: 'P', steps: ['pricing', 'Signup'] }] }).message,
      '"funnels[0].steps[0]"'
    )
    assert.include(
      invalid({ goals: GOALS, funnels: [{ name: 'P', steps: ['Pricing', 'Signup '] }] }).message,
      '"funnels[0].steps[1]"'
    )
  })

  test('the legacy section may carry funnels (naming its goals)', ({ assert }) => {
    const settings = resolveSettings({}, {
      goals: GOALS,
      funnels: [{ name: 'Purchase', steps: ['Pricing', 'Signup'] }],
    } as unknown as LegacyTrackingConfig)
    assert.deepEqual(settings.funnels, [{ name: 'Purchase', steps: ['Pricing', 'Signup'] }])
  })
})
