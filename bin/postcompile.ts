/*
|--------------------------------------------------------------------------
| After tsc: copy the non-TypeScript runtime files and index the commands
|--------------------------------------------------------------------------
|
| Runs with plain node (>= 24, type stripping): stubs/**\/*.stub and
| resources/views/**\/*.edge are copied next to the built code, and the Ace
| commands index (build/commands/commands.json + main.js) is generated with
| `adonis-kit index`, as the official packages do.
|
*/

import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, globSync, mkdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
const build = join(root, 'build')

let copied = 0
for (const pattern of ['stubs/**/*.stub', 'resources/views/**/*.edge']) {
  for (const file of globSync(pattern, { cwd: root })) {
    const target = join(build, file)
    mkdirSync(dirname(target), { recursive: true })
    cpSync(join(root, file), target)
    copied++
  }
}
console.log(`postcompile: copied ${copied} stub and view file(s) into build/`)

const commands = join(build, 'commands')
if (existsSync(commands)) {
  const require = createRequire(import.meta.url)
  const corePackage = require.resolve('@adonisjs/core/package.json')
  const { bin } = require(corePackage) as { bin: Record<string, string> }
  const kit = join(dirname(corePackage), bin['adonis-kit'])
  /* the source-mode loader (commands/main.ts) is replaced by the generated index */
  rmSync(join(commands, 'main.js'), { force: true })
  rmSync(join(commands, 'main.d.ts'), { force: true })
  execFileSync(process.execPath, [kit, 'index', 'build/commands'], { cwd: root, stdio: 'inherit' })
  console.log('postcompile: generated build/commands/commands.json and main.js')
}
