/*
|--------------------------------------------------------------------------
| Node.js version check, run before the scripts that need Node 24
|--------------------------------------------------------------------------
|
| npm runs it as the "pre" hook of demo, test, quick:test, bench, soak...
| It must run on the Node that is too old, so it is plain CommonJS with no
| syntax newer than ES5. The version needed is package.json's engines.node.
| Never an install script: a consumer of the packed package never runs it.
|
*/

var fs = require('fs')
var path = require('path')

var root = path.join(__dirname, '..')
var engines = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).engines
var needed = Number(/(\d+)/.exec(engines.node)[1])
var found = process.versions.node

if (Number(found.split('.')[0]) < needed) {
  var setup = path.join('..', 'shared', 'tools', 'setup-node24.sh')
  var hint = fs.existsSync(path.join(root, setup))
    ? 'Run: source ' + setup + ', or install Node ' + needed + '.'
    : 'Install Node ' + needed + ' (https://nodejs.org, or "nvm install ' + needed + '").'
  console.error('adonis-tracking needs Node.js >= ' + needed + ' (found v' + found + '). ' + hint)
  process.exit(1)
}
