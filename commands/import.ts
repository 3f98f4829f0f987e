import { isAbsolute } from 'node:path'
import { BaseCommand, args, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
/* the container binding types of 'lucid.db' and 'tracking.manager' */
import type {} from '@adonisjs/lucid/database_provider'
import type {} from '../providers/tracking_provider.ts'

/** Width of the progress bar, in characters */
const BAR = 30

/**
 * Imports history from the original module's table or CSV, a GoatCounter
 * CSV export or a Plausible export (pages, visitors, and its sources,
 * browsers, operating systems, devices and locations), once: importing the
 * same file again adds nothing. The day totals of the imported days are
 * rebuilt afterwards.
 */
export default class TrackingImport extends BaseCommand {
  static commandName = 'tracking:import'
  static description =
    'Import page views from the original module (CSV or table), GoatCounter or Plausible exports'
  static help = [
    '```',
    '{{ binaryName }} tracking:import page-views page_views.csv',
    '{{ binaryName }} tracking:import page-views --table=tracking_pageview',
    '{{ binaryName }} tracking:import goatcounter goatcounter-export.csv --dry-run',
    '{{ binaryName }} tracking:import plausible ./plausible-export/',
    '```',
    'A Plausible export directory gives page views (imported_pages), daily unique visitors',
    '(imported_visitors) and the dimensions of imported_sources, imported_browsers,',
    'imported_operating_systems, imported_devices and imported_locations.',
  ]
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'What the data is: page-views, goatcounter or plausible' })
  declare source: string

  @args.string({ description: 'The file (or Plausible directory) to import', required: false })
  declare file?: string

  @flags.string({
    description: 'Import page-views from this table of the database instead of a file',
  })
  declare table?: string

  @flags.boolean({ description: 'Print what would be imported without writing anything' })
  declare dryRun?: boolean

  @flags.string({ description: 'Lucid connection (default: the primary one)' })
  declare connection?: string

  #fail(message: string) {
    this.logger.error(message)
    this.exitCode = 1
  }

  async run() {
    const sources = await import('../src/import/sources.ts')
    const { MissingImportsTableError, runImport } = await import('../src/import/importer.ts')
    const source = this.source as (typeof sources.IMPORT_SOURCES)[number]
    if (!sources.IMPORT_SOURCES.includes(source)) {
      return this.#fail(
        `[tracking] unknown source "${this.source}" (expected ${sources.IMPORT_SOURCES.join(', ')})`
      )
    }
    if (this.table !== undefined && source !== 'page-views') {
      return this.#fail('[tracking] "--table" is only for the page-views source')
    }
    if ((this.table === undefined) === (this.file === undefined)) {
      return this.#fail(
        source === 'page-views'
          ? '[tracking] give either a CSV file or "--table <name>", not both or neither'
          : `[tracking] give the file to import (node ace tracking:import ${source} <file>)`
      )
    }

    const { commandDatabase } = await import('../src/command_database.ts')
    const target = await commandDatabase(this.app, this.connection)
    if (target.error !== undefined) return this.#fail(target.error)
    const { db, connection } = target
    const manager = await this.app.container.make('tracking.manager')
    const file =
      this.file === undefined
        ? undefined
        : isAbsolute(this.file)
          ? this.file
          : this.app.makePath(this.file)

    let plan: Awaited<ReturnType<typeof sources.readPageViewsCsv>>
    try {
      if (this.table !== undefined) {
        plan = await sources.readPageViewsTable(db.connection(connection), this.table)
      } else if (source === 'page-views') {
        plan = await sources.readPageViewsCsv(file!)
      } else if (source === 'goatcounter') {
        plan = await sources.readGoatCounterCsv(file!, manager.settings.timezone)
      } else {
        plan = await sources.readPlausibleExport(file!)
      }
    } catch (error) {
      return this.#fail(`[tracking] ${(error as Error).message}`)
    }
    if (this.file !== undefined) plan.name = this.file

    for (const warning of plan.warnings) this.logger.warning(`[tracking] ${warning}`)
    for (const bad of plan.bad) {
      this.logger.warning(`[tracking] ${bad.where}: ${bad.reason} (skipped)`)
    }

    const dimensionRows = plan.dimensionFiles.reduce((sum, one) => sum + one.rows.length, 0)
    const allRows = plan.rows.length + dimensionRows
    const spinner =
      allRows > 0 && !this.dryRun ? this.logger.await(`importing ${allRows} rows`).start() : null
    try {
      const summary = await runImport(db, plan, {
        dryRun: this.dryRun,
        connection,
        maxValuesPerDimension: manager.settings.maxValuesPerDimension,
        onProgress: (done, total) => {
          const filled = Math.round((done / Math.max(1, total)) * BAR)
          spinner?.update(
            `importing [${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${done}/${total} rows`
          )
        },
      })
      spinner?.stop()
      const skipped = plan.bad.length > 0 ? `; ${plan.bad.length} bad rows skipped` : ''
      const ignored = plan.ignored > 0 ? `; ${plan.ignored} bot or event rows left out` : ''
      const visitors =
        summary.visitorDays > 0 ? `, unique visitors of ${summary.visitorDays} days` : ''
      const parts: string[] = []
      if (summary.added > 0 || summary.visitorDays > 0 || summary.dimensionAdded === 0) {
        parts.push(
          `${summary.added} rows (${summary.views} views over ${summary.days} days${visitors})`
        )
      }
      if (summary.dimensionAdded > 0) {
        parts.push(`${summary.dimensionAdded} dimension rows (${summary.dimensionFiles} files)`)
      }
      if (
        summary.added === 0 &&
        summary.visitorDays === 0 &&
        summary.dimensionAdded === 0 &&
        summary.rows + summary.dimensionRows > 0
      ) {
        this.logger.log(
          `[tracking] nothing to import: ${plan.name} was imported already ` +
            `(import ${summary.importId.slice(0, 12)})${skipped}${ignored}`
        )
      } else {
        const verb = summary.dryRun ? 'dry run: would import' : 'imported'
        this.logger.log(
          `[tracking] ${verb} ${parts.join(' and ')} from ${plan.name}${skipped}${ignored}`
        )
        if (summary.alreadyImported > 0) {
          this.logger.log(
            `[tracking] ${summary.alreadyImported} of ${summary.chunks} chunks were imported by an earlier run`
          )
        }
        if (summary.dimensionAlreadyImported > 0) {
          this.logger.log(
            `[tracking] ${summary.dimensionAlreadyImported} of ${summary.dimensionRows} dimension rows were imported by an earlier run`
          )
        }
      }
      if (summary.rebuild) {
        this.logger.log(
          `[tracking] rebuilt the totals of ${summary.rebuild.changed} of ${summary.rebuild.days} days`
        )
      }
    } catch (error) {
      spinner?.stop()
      if (error instanceof MissingImportsTableError)
        return this.#fail(`[tracking] ${error.message}`)
      /* every chunk is its own transaction: a re-run resumes after the last added one */
      this.#fail(`[tracking] import failed (a re-run resumes it): ${(error as Error).message}`)
    }
  }
}
