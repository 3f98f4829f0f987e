import { test } from '@japa/runner'
import { execFile } from 'node:child_process'
import { globSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const root = fileURLToPath(new URL('../../', import.meta.url))
const run = promisify(execFile)
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/** Source folders compiled into build/ (tsconfig.build.json) */
const RUNTIME_SOURCES = [
  'index.ts',
  'configure.ts',
  'providers/**/*.ts',
  'services/**/*.ts',
  'src/**/*.ts',
  'commands/**/*.ts',
  'stubs/**/*.ts',
  'database/**/*.ts',
]

/** Files npm always adds to a tarball */
const NPM_FILES = /^(package\.json|README(\.md)?|LICEN[SC]E(\.md)?|CHANGELOG(\.md)?)$/i

function sources(patterns: string[]) {
  return patterns
    .flatMap((pattern) => globSync(pattern, { cwd: root }))
    .filter((file) => !file.endsWith('.d.ts'))
}

/**
 * Builds the package, then lists what `npm pack` would ship
 */
async function packedFiles(): Promise<string[]> {
  await run(npm, ['run', 'build'], { cwd: root, maxBuffer: 32 * 1024 * 1024 })
  const { stdout } = await run(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    maxBuffer: 32 * 1024 * 1024,
  })
  const [report] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>
  return report.files.map((file) => file.path)
}

test.group('npm pack', (group) => {
  let files: Set<string>
  group.setup(async () => {
    files = new Set(await packedFiles())
  })
  group.each.timeout(180_000)

  test('ships the built JS and .d.ts of every export in package.json', ({ assert }) => {
    const { exports } = JSON.parse(
      readFileSync(new URL('package.json', `file://${root}`), 'utf8')
    ) as {
      exports: Record<string, { default: string }>
    }
    for (const [name, target] of Object.entries(exports)) {
      const js = target.default.replace(/^\.\//, '')
      const built = js.includes('*')
        ? globSync(js.replace(/^build\//, '').replace(/\.js$/, '.ts'), { cwd: root }).map(
            (file) => `build/${file.replace(/\.ts$/, '.js')}`
          )
        : [js]
      for (const file of built) {
        assert.isTrue(files.has(file), `export "${name}": ${file} is not in the tarball`)
        const types = file.replace(/\.js$/, '.d.ts')
        assert.isTrue(files.has(types), `export "${name}": ${types} is not in the tarball`)
      }
    }
  })

  test('ships the JS and .d.ts of every runtime source file', ({ assert }) => {
    for (const source of sources(RUNTIME_SOURCES)) {
      const js = `build/${source.replace(/\.ts$/, '.js')}`
      assert.isTrue(files.has(js), `${js} is not in the tarball`)
      assert.isTrue(files.has(js.replace(/\.js$/, '.d.ts')), `${js} has no .d.ts in the tarball`)
    }
  })

  test('ships the stubs, the Edge views and the commands index', ({ assert }) => {
    for (const file of globSync('stubs/**/*.stub', { cwd: root })) {
      assert.isTrue(files.has(`build/${file}`), `stub ${file} is not in the tarball`)
    }
    for (const file of globSync('resources/views/**/*.edge', { cwd: root })) {
      assert.isTrue(files.has(`build/${file}`), `view ${file} is not in the tarball`)
    }
    assert.isTrue(
      files.has('build/commands/commands.json'),
      'build/commands/commands.json is missing'
    )
    assert.isTrue(files.has('build/commands/main.js'), 'build/commands/main.js is missing')
    const index = JSON.parse(
      readFileSync(new URL('build/commands/commands.json', `file://${root}`), 'utf8')
    ) as {
      commands: Array<{ commandName: string }>
    }
    assert.sameMembers(
      index.commands.map((command) => command.commandName),
      ['flush_page_views', 'tracking:prune', 'tracking:rebuild', 'tracking:import']
    )
  })

  test('ships nothing else: no sources, tests, demo, bin or tmp files', ({ assert }) => {
    const expected = new Set<string>([
      ...sources(RUNTIME_SOURCES).flatMap((source) => {
        const js = `build/${source.replace(/\.ts$/, '.js')}`
        return [js, js.replace(/\.js$/, '.d.ts')]
      }),
      ...globSync('stubs/**/*.stub', { cwd: root }).map((file) => `build/${file}`),
      ...globSync('resources/views/**/*.edge', { cwd: root }).map((file) => `build/${file}`),
      'build/commands/commands.json',
      'build/commands/main.js',
      'build/commands/main.d.ts',
    ])
    const unexpected = [...files].filter((file) => !expected.has(file) && !NPM_FILES.test(file))
    assert.deepEqual(unexpected, [], 'unexpected files in the tarball')
    for (const file of files) {
      assert.notMatch(file, /^(src|tests|demo|bin|tmp|config|start|bench|docs)\//)
      assert.isFalse(
        file.endsWith('.ts') && !file.endsWith('.d.ts'),
        `TypeScript source ${file} is shipped`
      )
    }
  })
})
