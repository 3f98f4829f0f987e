/*
|--------------------------------------------------------------------------
| npm run soak: the fault and abuse suite (issue #9)
|--------------------------------------------------------------------------
|
|   npm run soak                 full sizes, writes docs/reliability.md
|   npm run soak -- --quick      smaller sizes, same checks (CI, < 2 min)
|   npm run soak -- --only=R1,R4 some scenarios only (their sections of
|                                docs/reliability.md are rewritten)
|
| R1 Redis outage under load, R2 flush exactly-once (SIGKILLed and
| concurrent flushers, SQLite and PostgreSQL), R3 SIGTERM drain under load,
| R4 fuzzed requests, R5 access matrix of the analytics endpoints, R6 four
| app processes sharing one Redis (then a Redis Cluster) and PostgreSQL with
| a process and a flusher SIGKILLed, R7 a
| flood of distinct paths and visitors (bounded cardinality). Each
| scenario runs the demo app in a child process against a redis-server of
| its own (never the shared 6379). PostgreSQL uses DB_DATABASE (default
| test_soak). Every check is printed as it runs; with
| TRACKING_TEST_SUMMARY=<file> a CI summary is written there. Exit code 1
| when any check failed.
|
*/

import { mkdirSync } from 'node:fs'
import { Report } from './soak/checks.ts'
import { ace, appEnv, type DbName } from './soak/processes.ts'
import { ensureDatabase } from './soak/sql.ts'
import { redisOutage } from './soak/r1_outage.ts'
import { flushExactlyOnce } from './soak/r2_flush.ts'
import { sigtermDrain } from './soak/r3_sigterm.ts'
import { fuzz } from './soak/r4_fuzz.ts'
import { accessMatrix } from './soak/r5_access.ts'
import { flood } from './soak/r7_flood.ts'
import { fleet } from './soak/r6_fleet.ts'
import { writeReliabilityDoc } from './soak/doc.ts'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const only = args
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',')
  .map((name) => name.trim().toUpperCase())
const wanted = (name: string) => !only || only.includes(name)

/** Sizes per mode: quick keeps every check, with less traffic and shorter phases */
const SIZES = quick
  ? {
      r1: { rate: 150, warmupMs: 1000, beforeMs: 2500, outageMs: 4000, afterMs: 2000 },
      r2: { kills: 3, concurrentMs: 2000, rate: 60, directRate: 2000, paths: 2000 },
      r3: { connections: 8, loadMs: 3000 },
      r4: { requests: 1000, concurrency: 16, seed: Number(process.env.SOAK_SEED ?? 9) },
      r6: { apps: 4, requests: 8000, rate: 800, visitors: 400 },
      r7: {
        paths: 4000,
        visitors: 12_000,
        connections: 16,
        cap: 1000,
        openVisits: 1000,
        jsonRequests: 3,
      },
    }
  : {
      r1: { rate: 200, warmupMs: 3000, beforeMs: 10_000, outageMs: 10_000, afterMs: 10_000 },
      r2: { kills: 20, concurrentMs: 10_000, rate: 100, directRate: 4000, paths: 5000 },
      r3: { connections: 16, loadMs: 10_000 },
      r4: { requests: 10_000, concurrency: 16, seed: Number(process.env.SOAK_SEED ?? 9) },
      r6: { apps: 4, requests: 100_000, rate: 1500, visitors: 5000 },
      r7: {
        paths: 100_000,
        visitors: 500_000,
        connections: 32,
        cap: null,
        openVisits: 10_000,
        jsonRequests: 10,
      },
    }

const report = new Report({ timingGoals: !quick })
const started = Date.now()
let hasError = false

/** Fresh schema (package + demo migrations) on one database, once per run */
const migrations = new Map<DbName, Promise<void>>()
function migrate(db: DbName): Promise<void> {
  let migration = migrations.get(db)
  if (!migration) {
    migration = ensureDatabase(db).then(() =>
      ace(['migration:fresh', '--force'], appEnv({ db, redisPort: 6379 })).then((result) => {
        if (result.code !== 0) throw new Error(`migration:fresh on ${db} failed:\n${result.output}`)
      })
    )
    migration.catch(() => {})
    migrations.set(db, migration)
  }
  return migration
}

async function scenario(name: string, run: () => Promise<void>) {
  if (!wanted(name)) return
  const at = Date.now()
  console.log(`\n== ${name} ==`)
  try {
    await run()
  } catch (error) {
    hasError = true
    report.crashed(name, error)
  }
  report.figure(name, 'scenario duration', `${((Date.now() - at) / 1000).toFixed(1)} s`)
}

mkdirSync(new URL('../tmp/', import.meta.url), { recursive: true })
console.log(`soak (${quick ? 'quick' : 'full'}) on node ${process.version}`)

/* both schemas are prepared while the first scenarios run */
void migrate('sqlite')
if (wanted('R2') || wanted('R6')) void migrate('pg')

await scenario('R1', async () => {
  await migrate('sqlite')
  await redisOutage(report, SIZES.r1)
})

for (const db of ['sqlite', 'pg'] as const) {
  await scenario(`R2`, async () => {
    await migrate(db)
    await flushExactlyOnce(report, db, SIZES.r2)
  })
}

await scenario('R3', async () => {
  await migrate('sqlite')
  await sigtermDrain(report, SIZES.r3)
})

await scenario('R4', async () => {
  await migrate('sqlite')
  await fuzz(report, SIZES.r4)
})

await scenario('R5', async () => {
  await migrate('sqlite')
  await accessMatrix(report)
})

for (const variant of ['redis', 'cluster'] as const) {
  await scenario('R6', async () => {
    await migrate('pg')
    await fleet(report, variant, SIZES.r6)
  })
}

await scenario('R7', async () => {
  await migrate('sqlite')
  await flood(report, SIZES.r7)
})

const seconds = (Date.now() - started) / 1000
const failed = report.failed
console.log(
  `\nsoak: ${report.checks.length - failed.length} checks passed, ${failed.length} failed in ${seconds.toFixed(1)} s`
)
for (const check of failed) console.log(`  - ${check.scenario} ${check.name}: ${check.value}`)

if (process.env.TRACKING_TEST_SUMMARY)
  report.writeSummary(process.env.TRACKING_TEST_SUMMARY, hasError)
if (!quick) writeReliabilityDoc(report, { seconds, args, only })
process.exitCode = failed.length > 0 || hasError ? 1 : 0
