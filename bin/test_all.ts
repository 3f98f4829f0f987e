/*
|--------------------------------------------------------------------------
| The whole suite on SQLite, PostgreSQL and MySQL/MariaDB
|--------------------------------------------------------------------------
|
| node bin/test_all.ts [japa args]   (TEST_DBS=sqlite,pg to pick databases)
|
| Each database runs in its own child process (bin/test.ts), one after the
| other. The totals come from the summary each run writes, and the last
| line printed is `N passed, N failed`. Exits non-zero on any failure.
|
*/

import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

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
const databases = (process.env.TEST_DBS ?? 'sqlite,pg,mysql')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean)
mkdirSync(new URL('../tmp/', import.meta.url), { recursive: true })

const results: Array<{
  db: string
  summary: Summary | null
  status: number | null
  seconds: number
}> = []

for (const db of databases) {
  const summaryFile = fileURLToPath(new URL(`../tmp/test-summary-${db}.json`, import.meta.url))
  rmSync(summaryFile, { force: true })
  console.log(`\n=== DB=${db} ===\n`)
  const started = Date.now()
  const child = spawnSync(
    process.execPath,
    [
      '--conditions=tracking-source',
      '--enable-source-maps',
      '--import=@poppinss/ts-exec',
      'bin/test.ts',
      ...process.argv.slice(2),
    ],
    {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, DB: db, TRACKING_TEST_SUMMARY: summaryFile },
    }
  )
  let summary: Summary | null = null
  try {
    summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as Summary
  } catch {
    summary = null
  }
  results.push({ db, summary, status: child.status, seconds: (Date.now() - started) / 1000 })
}

let passed = 0
let failed = 0
console.log('\n=== Summary ===')
for (const { db, summary, status, seconds } of results) {
  if (!summary) {
    /* the run died before Japa reported: count it as one failure */
    failed += 1
    console.log(
      `DB=${db}: no test results (exit code ${status}), counted as 1 failed [${seconds.toFixed(1)}s]`
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
    `DB=${db}: ${summary.passed} passed, ${summary.failed} failed${extra ? `, ${extra}` : ''} (exit code ${status}) [${seconds.toFixed(1)}s]`
  )
  for (const title of summary.failedTestsTitles) console.log(`  ✖ ${title}`)
}

console.log(`${passed} passed, ${failed} failed`)
process.exitCode = failed > 0 ? 1 : 0
