/*
|--------------------------------------------------------------------------
| Test runner entrypoint
|--------------------------------------------------------------------------
|
| Boots the demo app in the test environment and runs Japa:
|   node --conditions=tracking-source --import=@poppinss/ts-exec bin/test.ts [suites] [--files ...]
| DB=sqlite|pg|mysql picks the database; Redis is REDIS_HOST/REDIS_PORT.
| Suites are named as Japa reads them (`unit,functional`) or with
| --suite=NAME. When the only suite named is `pure`, the app is not booted:
| no database setup, no Redis, no HTTP server (npm run test:pure).
| With TRACKING_TEST_SUMMARY=<file> the run's totals are written there as
| JSON (read by bin/test_all.ts).
|
*/

import { mkdirSync, writeFileSync } from 'node:fs'
import { Ignitor, prettyPrintError } from '@adonisjs/core'
import { configure, processCLIArgs, run } from '@japa/runner'
import { spec } from '@japa/runner/reporters'
import type { NamedReporterContract } from '@japa/runner/types'
import { assert } from '@japa/assert'
import { APP_ROOT, importer } from './lib/demo_app.ts'
import { PURE_SUITE, SUITES, splitSuites, suiteFlagsAsPositionals } from './lib/suites.ts'

const argv = suiteFlagsAsPositionals(process.argv.splice(2))

process.env.NODE_ENV = 'test'
/* a fresh clone has no .env: everything the env schema requires gets a test value */
process.env.APP_KEY ??= 'test-app-key-of-adonis-tracking-32c'
process.env.HOST ??= '127.0.0.1'
process.env.PORT ??= '3334'
process.env.TRACKING_STORE ??= 'redis'
/* the stats API of the demo answers this token (tests/functional/stats_api.spec.ts) */
process.env.TRACKING_API_TOKENS ??= 'test-stats-api-token-of-adonis-tracking-0001'
/* the api client's loginAs writes sessions into the memory store */
process.env.SESSION_DRIVER ??= 'memory'

/* the SQLite test database lives in tmp/, absent from a fresh clone */
mkdirSync(new URL('tmp/', APP_ROOT), { recursive: true })

/**
 * Writes the totals of the run for bin/test_all.ts
 */
const summaryFile: NamedReporterContract = {
  name: 'summary-file',
  handler(runner, emitter) {
    emitter.on('runner:end', () => {
      const target = process.env.TRACKING_TEST_SUMMARY
      if (!target) return
      const { aggregates, hasError, failedTestsTitles } = runner.getSummary()
      writeFileSync(target, JSON.stringify({ ...aggregates, hasError, failedTestsTitles }))
    })
  },
}

const reporters = {
  activated: ['spec', 'summary-file'],
  list: [spec(), summaryFile],
}

/**
 * The pure suite alone: Japa without the app, so nothing connects anywhere
 */
async function runPure() {
  processCLIArgs(argv)
  configure({
    suites: SUITES.filter((suite) => suite.name === PURE_SUITE).map(({ name, files, timeout }) => ({
      name,
      files,
      timeout,
    })),
    plugins: [assert()],
    reporters,
  })
  await run()
}

/**
 * Every other run: the app booted in the test environment, the database
 * migrated (tests/bootstrap.ts), the HTTP server up for the functional suite
 */
function runWithApp() {
  return new Ignitor(APP_ROOT, { importer })
    .tap((app) => {
      app.booting(async () => {
        await import('#start/env')
      })
      app.listen('SIGTERM', () => app.terminate())
      app.listenIf(app.managedByPm2, 'SIGINT', () => app.terminate())
    })
    .testRunner()
    .configure(async (app) => {
      const { runnerHooks, ...config } = await import('../tests/bootstrap.ts')

      processCLIArgs(argv)
      configure({
        ...app.rcFile.tests,
        ...config,
        reporters,
        setup: runnerHooks.setup,
        teardown: runnerHooks.teardown.concat([() => app.terminate()]),
      })
    })
    .run(() => run())
}

const { suites } = splitSuites(argv)
const pureOnly = suites.length > 0 && suites.every((name) => name === PURE_SUITE)
await (pureOnly ? runPure() : runWithApp()).catch((error) => {
  process.exitCode = 1
  prettyPrintError(error)
})
