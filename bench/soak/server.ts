/*
|--------------------------------------------------------------------------
| The demo app as the soak suite runs it
|--------------------------------------------------------------------------
|
| bin/server.ts plus what bin/demo.ts does after the start (the two demo
| users are seeded), and, with SOAK_CATCH_ALL=1, a catch-all page under
| /fuzz/* (the slug pages of a CMS) so that fuzzed paths can answer 200 and
| be recorded, and /__soak/heap answers the heap used after a full garbage
| collection (R7). Prints "soak server ready" once it serves requests.
|
*/

import { Ignitor, prettyPrintError } from '@adonisjs/core'
import type { ApplicationService } from '@adonisjs/core/types'
import { runInNewContext } from 'node:vm'
import { setFlagsFromString } from 'node:v8'
import { APP_ROOT, importer } from '../../bin/lib/demo_app.ts'
import { skipTracking } from '../../src/skip.ts'

/** A full garbage collection without starting node with --expose-gc */
function collectGarbage() {
  setFlagsFromString('--expose-gc')
  ;(runInNewContext('gc') as () => void)()
}

try {
  await new Ignitor(APP_ROOT, { importer })
    .tap((app) => {
      app.booting(async () => {
        await import('#start/env')
      })
      if (process.env.SOAK_CATCH_ALL === '1') {
        app.booted(async () => {
          const router = await (app as ApplicationService).container.make('router')
          router.get('/fuzz/*', ({ response }) => response.send('fuzz page'))
          /* R7: the heap still in use after a full garbage collection (not a page view) */
          router.get('/__soak/heap', (ctx) => {
            skipTracking(ctx)
            collectGarbage()
            return ctx.response.json({ heapUsed: process.memoryUsage().heapUsed })
          })
        })
      }
      app.listen('SIGTERM', () => app.terminate())
      app.listen('SIGINT', () => app.terminate())
    })
    .httpServer()
    .start()
  const { seedDemoUsers } = await import('#demo/seed')
  await seedDemoUsers()
  console.log('soak server ready')
} catch (error) {
  process.exitCode = 1
  await prettyPrintError(error)
}
