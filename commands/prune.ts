import { BaseCommand, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
/* the container binding types of 'lucid.db' and 'tracking.manager' */
import type {} from '@adonisjs/lucid/database_provider'
import type {} from '../providers/tracking_provider.ts'

/**
 * Deletes page view rows and daily stats older than the retention
 * (`retentionDays` in config/tracking.ts, 400 by default)
 */
export default class TrackingPrune extends BaseCommand {
  static commandName = 'tracking:prune'
  static description = 'Delete tracked page views and daily stats older than the retention'
  static help = [
    '{{ binaryName }} tracking:prune                         (retentionDays from config/tracking.ts)',
    '{{ binaryName }} tracking:prune --older-than=400d --dry-run',
  ]
  static options: CommandOptions = { startApp: true }

  @flags.string({ description: 'Delete days older than this (e.g. 400d, 52w)' })
  declare olderThan?: string

  @flags.boolean({ description: 'Print what would be deleted without deleting it' })
  declare dryRun?: boolean

  @flags.string({ description: 'Lucid connection (default: the primary one)' })
  declare connection?: string

  async run() {
    const { parseRetention, prunePageViews } = await import('../src/prune.ts')
    const manager = await this.app.container.make('tracking.manager')
    const days =
      this.olderThan === undefined ? manager.settings.retentionDays : parseRetention(this.olderThan)
    if (days === null) {
      this.logger.error(
        `[tracking] invalid "--older-than": "${this.olderThan}" (expected days such as 400d)`
      )
      this.exitCode = 1
      return
    }

    const { commandDatabase } = await import('../src/command_database.ts')
    const target = await commandDatabase(this.app, this.connection)
    if (target.error !== undefined) {
      this.logger.error(target.error)
      this.exitCode = 1
      return
    }
    const { db, connection } = target

    try {
      const summary = await prunePageViews(db, {
        olderThanDays: days,
        timezone: manager.settings.timezone,
        dryRun: this.dryRun,
        connection,
      })
      const verb = summary.dryRun ? 'would delete' : 'deleted'
      this.logger.log(
        `[tracking] ${verb} ${summary.pageViews} page view rows, ${summary.dailyStats} daily stats, ` +
          `${summary.dimensionStats} dimension rows, ${summary.visitRows} visit rows and ` +
          `${summary.flushes} flush records before ${summary.cutoff}`
      )
    } catch (error) {
      this.logger.error(`[tracking] prune failed: ${(error as Error).message}`)
      this.exitCode = 1
    }
  }
}
