import { test } from '@japa/runner'
import { globSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** `make('lucid.db' as any)` or `(await make('redis')) as Something` */
const UNTYPED_LOOKUP = [
  /\.make\(\s*(['"`])[^'"`]*\1\s+as\s+any\b/,
  /\(\s*await\s+[\w.]+\.make\([^()]*\)\s*\)\s+as\s+\w/,
]

test.group('Types | container bindings', () => {
  test('src, providers and commands look bindings up through their own types', ({ assert }) => {
    const files = globSync(['src/**/*.ts', 'providers/**/*.ts', 'commands/**/*.ts'], { cwd: root })
    assert.isAbove(files.length, 10)
    const untyped: string[] = []
    for (const file of files) {
      readFileSync(`${root}${file}`, 'utf8')
        .split('\n')
        .forEach((line, index) => {
          if (UNTYPED_LOOKUP.some((pattern) => pattern.test(line))) {
            untyped.push(`${file}:${index + 1}: ${line.trim()}`)
          }
        })
    }
    assert.deepEqual(untyped, [])
  })
})
