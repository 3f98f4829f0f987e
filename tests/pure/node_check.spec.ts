/*
|--------------------------------------------------------------------------
| bin/check_node.cjs: the npm "pre" hook that stops on Node < 24
|--------------------------------------------------------------------------
|
| Runs the check in a child Node whose reported version is pinned with
| --require (the real old Node is not needed), and reads package.json.
|
*/

import { test } from '@japa/runner'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string }
  scripts: Record<string, string>
}

/** Runs bin/check_node.cjs as if Node `version` ran it */
function check(version: string) {
  const pin = `Object.defineProperty(process.versions, 'node', { value: '${version}' })`
  const child = spawnSync(process.execPath, ['--eval', `${pin}; require('./bin/check_node.cjs')`], {
    cwd: ROOT,
    encoding: 'utf8',
  })
  return { status: child.status, stderr: child.stderr }
}

test.group('Node version check', () => {
  test('Node 20 stops with exit code 1, naming the version needed and the one found', ({
    assert,
  }) => {
    const { status, stderr } = check('20.20.2')
    assert.equal(status, 1)
    assert.include(stderr, 'adonis-tracking needs Node.js >= 24 (found v20.20.2).')
    assert.match(stderr, /install Node 24/i)
  })

  test('Node 24 and later pass silently', ({ assert }) => {
    for (const version of ['24.0.0', '25.1.0']) {
      assert.deepEqual(check(version), { status: 0, stderr: '' }, version)
    }
  })

  test('the version needed is engines.node, and every script a user runs checks it first', ({
    assert,
  }) => {
    assert.equal(pkg.engines.node, '>=24.0.0')
    for (const name of ['demo', 'test', 'quick:test', 'test:pure', 'test:all', 'bench', 'soak']) {
      assert.equal(pkg.scripts[`pre${name}`], 'node bin/check_node.cjs', `pre${name}`)
    }
  })

  test('no install script: a consumer of the packed package never runs the check', ({ assert }) => {
    for (const name of ['preinstall', 'install', 'postinstall', 'prepare']) {
      assert.notProperty(pkg.scripts, name)
    }
  })
})
