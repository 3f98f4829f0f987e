/**
 * Pieces shared by the scripts that run the packed tarball in a fresh
 * AdonisJS 7 app (bin/e2e.ts, bench/fresh_app.ts): the environment of the
 * app's commands, running a command to completion, packing the tarball and
 * writing the app's files.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root (the package) */
export const REPO = fileURLToPath(new URL('../../', import.meta.url))
export const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/**
 * The environment of every command run in the app: the repository's own
 * settings (PORT, DB, TRACKING_STORE, export conditions...) must not leak in
 */
export function appEnv(extra: Record<string, string> = {}) {
  const env: Record<string, string | undefined> = { ...process.env }
  for (const key of Object.keys(env)) {
    if (
      /^(PORT|HOST|APP_KEY|APP_NAME|NODE_ENV|TZ|LOG_LEVEL|NODE_OPTIONS|SESSION_DRIVER|DB|DB_.+|REDIS_.+|TRACKING_.+)$/.test(
        key
      )
    ) {
      delete env[key]
    }
  }
  return { ...env, ...extra } as NodeJS.ProcessEnv
}

/**
 * Runs a command to completion and returns its exit code and output
 */
export function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? appEnv() })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      output += `\n[killed after ${options.timeoutMs} ms]`
    }, options.timeoutMs ?? 300_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })
}

/**
 * `npm pack` of the repository into an empty folder (prepack builds the
 * package); the path of the one tarball, or an error with npm's output
 */
export async function packTarball(destination: string): Promise<string> {
  mkdirSync(destination, { recursive: true })
  const result = await run(NPM, ['pack', '--pack-destination', destination], {
    cwd: REPO,
    env: process.env,
  })
  const tarballs = readdirSync(destination).filter((file) => file.endsWith('.tgz'))
  if (result.code !== 0 || tarballs.length !== 1) {
    throw new Error(
      `npm pack exited with ${result.code}, ${tarballs.length} tarballs in ${destination}\n${result.output.slice(-2000)}`
    )
  }
  return join(destination, tarballs[0])
}

/** Writes files (path relative to dir -> contents), creating their folders */
export function writeFiles(dir: string, files: Record<string, string>) {
  for (const [path, contents] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), contents)
  }
}
