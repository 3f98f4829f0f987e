import { test } from '@japa/runner'
import type { ApplicationService } from '@adonisjs/core/types'
import { defineConfig } from '../../index.ts'
import { bootIsolatedApp, buildManager } from '../helpers.ts'

const BASE_URL = new URL('../../tmp/app-key-app/', import.meta.url)
const DAY = '2026-04-03'

/** Boots a bare app with the tracking provider (memory store) and the given app config */
async function bootApp(appConfig: Record<string, unknown> = {}) {
  return bootIsolatedApp({
    root: BASE_URL,
    providers: [() => import('../../providers/tracking_provider.ts')],
    config: { tracking: defineConfig({ store: 'memory' }), app: appConfig },
  })
}

/** The stored bytes of one visitor recorded by a manager: equal bytes, equal keys */
async function sketchOf(manager: {
  recorder: { recordView(view: { path: string; day: string; visitor: string }): void }
  drain(): Promise<void>
  store: {
    mergeSketch(day: string, stored: null, count: number): Promise<{ sketch: Buffer | null }>
  }
}) {
  manager.recorder.recordView({ path: '/', day: DAY, visitor: '1' })
  await manager.drain()
  const merged = await manager.store.mergeSketch(DAY, null, 0)
  return merged.sketch
}

test.group('The app key of the visitor hashes', (group) => {
  let apps: ApplicationService[] = []
  const appKey = process.env.APP_KEY
  group.each.teardown(async () => {
    process.env.APP_KEY = appKey
    await Promise.all(apps.map((app) => app.terminate()))
    apps = []
  })

  test('no APP_KEY (and no appKey in config/app.ts) fails the boot, naming it', async ({
    assert,
  }) => {
    delete process.env.APP_KEY
    try {
      apps.push(await bootApp())
      assert.fail('the app booted without an app key')
    } catch (error) {
      assert.equal((error as { code?: string }).code, 'E_TRACKING_INVALID_CONFIG')
      assert.include((error as Error).message, '"appKey"')
      assert.include((error as Error).message, 'APP_KEY')
    }
  })

  test('the key derives from APP_KEY, or from appKey of config/app.ts', async ({ assert }) => {
    process.env.APP_KEY = 'app-key-spec-from-the-env-0123456789'
    const fromEnv = await bootApp()
    apps.push(fromEnv)
    const reference = buildManager({ store: 'memory' }, { appKey: process.env.APP_KEY })
    const expected = await sketchOf(reference.manager)
    await reference.cleanup()
    assert.deepEqual(await sketchOf(await fromEnv.container.make('tracking.manager')), expected)

    delete process.env.APP_KEY
    const fromConfig = await bootApp({ appKey: 'app-key-spec-from-the-env-0123456789' })
    apps.push(fromConfig)
    assert.deepEqual(await sketchOf(await fromConfig.container.make('tracking.manager')), expected)
  })
})
