import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * What the scripts that boot the demo app (bin/demo.ts, bin/browser_test.ts,
 * bench/soak/server.ts) share.
 */

/** The demo app's root: the repository */
export const APP_ROOT = new URL('../../', import.meta.url)

/** Imports the app's files relative to its root, packages as they are */
export function importer(filePath: string) {
  if (filePath.startsWith('./') || filePath.startsWith('../')) {
    return import(new URL(filePath, APP_ROOT).href)
  }
  return import(filePath)
}

/**
 * Runs the migrations in a child process with this process's loader flags
 * and env (DB, DB_SQLITE_FILE ...); exits the process when they fail
 */
export function runDemoMigrations() {
  mkdirSync(new URL('tmp/', APP_ROOT), { recursive: true })
  const migrate = spawnSync(
    process.execPath,
    [...process.execArgv, 'ace.js', 'migration:run', '--force'],
    { cwd: fileURLToPath(APP_ROOT), stdio: 'inherit', env: process.env }
  )
  if (migrate.status !== 0) {
    console.error('migrations failed; see above')
    process.exit(migrate.status ?? 1)
  }
}
