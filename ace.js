/*
|--------------------------------------------------------------------------
| JavaScript entrypoint for running ace commands
|--------------------------------------------------------------------------
|
| Registers the TypeScript loader (@poppinss/ts-exec) and adds the
| `tracking-source` export condition, so that `adonis-tracking/*` resolves to
| this repository's TypeScript sources (as `node --conditions=tracking-source`
| would), then imports the ace console entrypoint.
|
*/

import { register } from 'node:module'
import '@poppinss/ts-exec'

const addSourceCondition = `
export async function resolve(specifier, context, nextResolve) {
  const conditions = context.conditions.includes('tracking-source')
    ? context.conditions
    : [...context.conditions, 'tracking-source']
  return nextResolve(specifier, { ...context, conditions })
}`
register(`data:text/javascript,${encodeURIComponent(addSourceCondition)}`)

await import('./bin/console.js')
