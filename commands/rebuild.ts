import { BaseCommand, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'

/**
 * Recomputes tracking_daily_stats from the rows of tracking_page_views, for
 * rows that came in another way than the flush (copied from the original
 * module's table, inserted by hand). Visitor figures are kept. It is the
 * only aggregate table with finer rows to recompute it from: see the help.
 */
export default class TrackingRebuild extends BaseCommand {
  static commandName = 'tracking:rebuild'
  static description = 'Recompute the daily totals (tracking_daily_stats) from the page view rows'
  static help = [
    'Every day that has rows, or only a range (either end may be open):',
    '```',
    '{{ binaryName }} tracking:rebuild',
    '{{ binaryName }} tracking:rebuild --from=2026-05-01 --to=2026-05-07',
    '{{ binaryName }} tracking:rebuild --dry-run',
    '```',
    'It recomputes views and distinct paths of tracking_daily_stats from tracking_page_views;',
    'unique visitors are kept (page view rows carry no visitors). The other tables are not',
    'rebuilt, as nothing finer holds them: tracking_dimension_stats (sources, browsers,',
    'countries...) is written only by the flush and imports, its page view rows carry no',
    'dimension, and it is read as stored (no total of it is kept), so rows put there by hand',
    'show at once; tracking_flushes and tracking_imports are ledgers, never recomputed.',
  ]
  static options: CommandOptions = { startApp: true }

  @flags.string({ description: 'First day to rebuild (YYYY-MM-DD, inclusive)' })
  declare from?: string

  @flags.string({ description: 'Last day to rebuild (YYYY-MM-DD, inclusive)' })
  declare to?: string

  @flags.boolean({ description: 'Print what would change without writing it' })
  declare dryRun?: boolean

  @flags.string({ description: 'Lucid connection (default: the primary one)' })
  declare connection?: string

  #fail(message: string) {
    this.logger.error(message)
    this.exitCode = 1
  }

  async run() {
    const { resolveDaySelection } = await import('../src/ranges.ts')
    const { rebuildDailyStats } = await import('../src/rebuild.ts')
    let selection: { from?: string; to?: string }
    try {
      selection = resolveDaySelection({ from: this.from, to: this.to }, '--')
    } catch (error) {
      return this.#fail(`[tracking] ${(error as Error).message}`)
    }

    const { commandDatabase } = await import('../src/command_database.ts')
    const target = await commandDatabase(this.app, this.connection)
    if (target.error !== undefined) return this.#fail(target.error)
    const { db, connection } = target

    try {
      const summary = await rebuildDailyStats(db, {
        ...selection,
        dryRun: this.dryRun,
        connection,
      })
      const verb = summary.dryRun ? 'would rebuild' : 'rebuilt'
      this.logger.log(
        `[tracking] ${verb} ${summary.changed} of ${summary.days} days ` +
          `(${summary.views} views in all, ${summary.delta >= 0 ? '+' : ''}${summary.delta} on the changed days)`
      )
    } catch (error) {
      this.#fail(`[tracking] rebuild failed: ${(error as Error).message}`)
    }
  }
}
