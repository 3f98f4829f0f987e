/*
|--------------------------------------------------------------------------
| The test suites of adonisrc.ts, and which ones a command line names
|--------------------------------------------------------------------------
|
| The `pure` suite (tests/pure/**) holds specs that touch neither Redis nor
| SQL nor the app: bin/test.ts runs it without booting the app, and
| bin/test_all.ts runs it once, not once per database.
|
*/

import { parseArgs } from 'node:util'
import rc from '../../adonisrc.ts'

export const PURE_SUITE = 'pure'

/** Every suite of adonisrc.ts */
export const SUITES = rc.tests?.suites ?? []

/**
 * The command line with every `--suite=a,b` / `--suite a,b` turned into the
 * positional suite names Japa reads (one argument each: Japa does not split
 * "a,b")
 */
export function suiteFlagsAsPositionals(argv: string[]): string[] {
  const out: string[] = []
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]
    const value =
      arg === '--suite' ? argv[++index] : arg.startsWith('--suite=') ? arg.slice(8) : undefined
    if (value === undefined) out.push(arg)
    else out.push(...value.split(',').map((name) => name.trim()))
  }
  return out
}

/**
 * A Japa command line split into the suites it names (none: all of them)
 * and everything else (filters, flags)
 */
export function splitSuites(argv: string[]): { suites: string[]; flags: string[] } {
  const args = suiteFlagsAsPositionals(argv)
  const { tokens } = parseArgs({
    args,
    strict: false,
    allowPositionals: true,
    tokens: true,
    /* Japa's flags that take a value, so the value is not read as a suite */
    options: Object.fromEntries(
      ['tests', 'groups', 'tags', 'files', 'timeout', 'retries', 'reporters', 'bail-layer'].map(
        (name) => [name, { type: 'string' as const }]
      )
    ),
  })
  const positional = new Set(
    tokens.flatMap((token) => (token.kind === 'positional' ? [token.index] : []))
  )
  return {
    suites: args
      .filter((_, index) => positional.has(index))
      .flatMap((value) => value.split(',').map((name) => name.trim())),
    flags: args.filter((_, index) => !positional.has(index)),
  }
}
