import { BaseCommand, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
/* the container binding types of 'lucid.db' and 'tracking.manager' */
import type {} from '@adonisjs/lucid/database_provider'
import type {} from '../providers/tracking_provider.ts'

/** How long Redis and the database get to answer before the command gives up */
const REACH_TIMEOUT_MS = 5000

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not answer within ${REACH_TIMEOUT_MS} ms`)),
      REACH_TIMEOUT_MS
    )
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * Moves the page view counters from Redis into SQL, exactly once. Meant for
 * a cron (every few minutes); a run recovers what a crashed run left behind.
 */
export default class FlushPageViews extends BaseCommand {
  static commandName = 'flush_page_views'
  static aliases = ['tracking:flush']
  static description = 'Move page view counters from Redis into SQL (exactly once)'
  static help = [
    'Flushes every day with pending counters, or only the given day or range:',
    '```',
    '{{ binaryName }} flush_page_views',
    '{{ binaryName }} flush_page_views --date=2026-05-01',
    '{{ binaryName }} flush_page_views --from=2026-05-01 --to=2026-05-07',
    '```',
  ]
  static options: CommandOptions = { startApp: true }

  @flags.string({ description: 'Flush only this day (YYYY-MM-DD)' })
  declare date?: string

  @flags.string({ description: 'First day to flush (YYYY-MM-DD, inclusive)' })
  declare from?: string

  @flags.string({ description: 'Last day to flush (YYYY-MM-DD, inclusive)' })
  declare to?: string

  @flags.string({ description: 'Lucid connection to write to (default: the primary one)' })
  declare connection?: string

  #fail(message: string) {
    this.logger.error(message)
    this.exitCode = 1
  }

  async run() {
    const { flushPageViews, resolveDaySelection } = await import('../src/flush.ts')

    let selection: ReturnType<typeof resolveDaySelection>
    try {
      selection = resolveDaySelection({ date: this.date, from: this.from, to: this.to }, '--')
    } catch (error) {
      return this.#fail(`[tracking] ${(error as Error).message}`)
    }

    const manager = await this.app.container.make('tracking.manager')
    const { commandDatabase } = await import('../src/command_database.ts')
    const target = await commandDatabase(this.app, this.connection)
    if (target.error !== undefined) return this.#fail(target.error)
    const { db, connection } = target

    try {
      await withTimeout(manager.store.ping(REACH_TIMEOUT_MS), `the ${manager.store.name} store`)
    } catch (error) {
      return this.#fail(
        `[tracking] cannot reach the ${manager.store.name} store: ${(error as Error).message}`
      )
    }
    try {
      await withTimeout(
        db.connection(connection).rawQuery('select 1'),
        `the "${connection}" database`
      )
    } catch (error) {
      return this.#fail(
        `[tracking] cannot reach the "${connection}" database: ${(error as Error).message}`
      )
    }

    try {
      const summary = await flushPageViews(manager, db, { ...selection, connection })
      this.logger.log(`[tracking] flushed ${summary.paths} paths for ${summary.days} days`)
      if (summary.recovered > 0) {
        this.logger.log(`[tracking] recovered ${summary.recovered} interrupted flush(es)`)
      }
    } catch (error) {
      /* nothing is lost: what was taken aside is recovered by the next run */
      this.#fail(`[tracking] flush failed (the next run resumes it): ${(error as Error).message}`)
    }
  }
}
