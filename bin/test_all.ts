/*
|--------------------------------------------------------------------------
| The whole suite on SQLite, PostgreSQL and MySQL/MariaDB
|--------------------------------------------------------------------------
|
| node bin/test_all.ts [japa args]   (TEST_DBS=sqlite,pg to pick databases)
|
| The pure suite (no app, Redis or SQL) runs once, first; then each
| database runs the other suites in its own child process (bin/test.ts),
| one after the other (the configure specs, which scaffold apps and read no
| database, with the first database only). Then the check scripts that prove the package from the outside
| (TEST_CHECKS=e2e,browser,soak picks them; TEST_CHECKS= skips them, and
| Japa args such as --files skip them too):
|
|   e2e      bin/e2e.ts: the packed tarball in a fresh AdonisJS 7 app
|   browser  bin/browser_test.ts: the analytics page in headless Chromium
|   soak     bench/soak.ts --quick: outage, crash, SIGTERM, fuzz, access
|
| The totals come from the summary each run writes (one check = one test),
| and the last line printed is `N passed, N failed`. Exits non-zero on any
| failure.
|
*/

import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { PURE_SUITE, SUITES, splitSuites } from './lib/suites.ts'

interface Summary {
  total: number
  passed: number
  failed: number
  skipped: number
  todo: number
  regression: number
  hasError: boolean
  failedTestsTitles: string[]
}

const root = fileURLToPath(new URL('../', import.meta.url))
function list(value: string) {
  return value
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean)
}
const databases = list(process.env.TEST_DBS ?? 'sqlite,pg,mysql')
const japaArgs = process.argv.slice(2)
const LOADER = [
  '--conditions=tracking-source',
  '--enable-source-maps',
  '--import=@poppinss/ts-exec',
]
const CHECKS: Record<string, string[]> = {
  e2e: ['bin/e2e.ts'],
  browser: [...LOADER, 'bin/browser_test.ts'],
  soak: [...LOADER, 'bench/soak.ts', '--quick'],
}
const checks =
  japaArgs.length > 0 ? [] : list(process.env.TEST_CHECKS ?? Object.keys(CHECKS).join(','))
for (const name of checks) {
  if (!CHECKS[name])
    throw new Error(
      `TEST_CHECKS: unknown check "${name}" (known: ${Object.keys(CHECKS).join(', ')})`
    )
}
mkdirSync(new URL('../tmp/', import.meta.url), { recursive: true })

const results: Array<{
  name: string
  summary: Summary | null
  status: number | null
  seconds: number
}> = []

/**
 * Runs one child process that writes its totals to TRACKING_TEST_SUMMARY
 */
function runPart(name: string, args: string[], env: Record<string, string>) {
  const summaryFile = fileURLToPath(new URL(`../tmp/test-summary-${name}.json`, import.meta.url))
  rmSync(summaryFile, { force: true })
  console.log(`\n=== ${name} ===\n`)
  const started = Date.now()
  const child = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env, TRACKING_TEST_SUMMARY: summaryFile },
  })
  let summary: Summary | null = null
  try {
    summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as Summary
  } catch {
    summary = null
  }
  results.push({ name, summary, status: child.status, seconds: (Date.now() - started) / 1000 })
}

/* suites named on the command line (default: all), the pure one counted once */
const named = splitSuites(japaArgs)
const wanted = named.suites.length > 0 ? named.suites : SUITES.map((suite) => suite.name)
const appSuites = wanted.filter((name) => name !== PURE_SUITE)
if (wanted.includes(PURE_SUITE)) {
  runPart(PURE_SUITE, [...LOADER, 'bin/test.ts', PURE_SUITE, ...named.flags], {})
}
if (appSuites.length > 0) {
  for (const [index, db] of databases.entries()) {
    runPart(`DB=${db}`, [...LOADER, 'bin/test.ts', ...appSuites, ...named.flags], {
      DB: db,
      /* the configure specs scaffold apps and read no database: once is enough */
      ...(index > 0 ? { TRACKING_DB_INDEPENDENT_DONE: '1' } : {}),
    })
  }
}
for (const name of checks) runPart(name, CHECKS[name], {})

let passed = 0
let failed = 0
console.log('\n=== Summary ===')
for (const { name, summary, status, seconds } of results) {
  if (!summary) {
    /* the run died before Japa reported: count it as one failure */
    failed += 1
    console.log(
      `${name}: no test results (exit code ${status}), counted as 1 failed [${seconds.toFixed(1)}s]`
    )
    continue
  }
  passed += summary.passed
  failed += summary.failed
  /* a run that exits non-zero with no failed test (e.g. a crashed hook) still fails */
  if (status !== 0 && summary.failed === 0) failed += 1
  const extra = [
    summary.skipped && `${summary.skipped} skipped`,
    summary.todo && `${summary.todo} todo`,
  ]
    .filter(Boolean)
    .join(', ')
  console.log(
    `${name}: ${summary.passed} passed, ${summary.failed} failed${extra ? `, ${extra}` : ''} (exit code ${status}) [${seconds.toFixed(1)}s]`
  )
  for (const title of summary.failedTestsTitles) console.log(`  ✖ ${title}`)
}

console.log(`${passed} passed, ${failed} failed`)
process.exitCode = failed > 0 ? 1 : 0
