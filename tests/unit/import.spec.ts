import { test } from '@japa/runner'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import db from '@adonisjs/lucid/services/db'
import TrackingImport from '../../commands/import.ts'
import TrackingRebuild from '../../commands/rebuild.ts'
import { flushPageViews } from '../../src/flush.ts'
import { runImport } from '../../src/import/importer.ts'
import { readPageViewsCsv } from '../../src/import/sources.ts'
import { TrackingSelector } from '../../src/selector.ts'
import { isoDay, TRACKING_TABLES } from '../../src/tables.ts'
import type { TrackingBatch } from '../../src/stores/types.ts'
import { insertDimensionRows } from '../dimension_rows.ts'
import { dbName, importState, runCommand, tablesSnapshot } from '../helpers.ts'

const D1 = '2026-02-01'
const D2 = '2026-02-02'
const D3 = '2026-02-03'
/** "now" of the selectors: the day after D3, so a 4-day range is D1..D4 */
const NOW = Date.parse('2026-02-04T12:00:00Z')

/** path|day -> views of tracking_page_views */
async function pageRows(): Promise<Record<string, number>> {
  const rows = await db.from(TRACKING_TABLES.pageViews).select('path', 'date', 'views')
  const out: Record<string, number> = {}
  for (const row of rows) out[`${isoDay(row.date)} ${row.path}`] = Number(row.views)
  return out
}

/** day -> [views, unique visitors, has a visitor sketch] of tracking_daily_stats */
async function dayRows(): Promise<Record<string, [number, number, boolean]>> {
  const rows = await db.from(TRACKING_TABLES.dailyStats).select('*')
  const out: Record<string, [number, number, boolean]> = {}
  for (const row of rows) {
    out[isoDay(row.date)] = [
      Number(row.views),
      Number(row.unique_visitors),
      Boolean(row.visitors_sketch && row.visitors_sketch.length > 0),
    ]
  }
  return out
}

function batch(
  days: Record<string, Record<string, number>>,
  visitors: Record<string, string[]> = {}
): TrackingBatch {
  const out: TrackingBatch = { days: new Map(), minutes: new Map() }
  for (const [day, views] of Object.entries(days)) {
    out.days.set(day, { views: new Map(Object.entries(views)), visitors: new Set(visitors[day]) })
  }
  return out
}

test.group(`tracking:rebuild (${dbName})`, (group) => {
  const state = importState(group, 'tracking-import-')

  test('rows inserted straight into tracking_page_views count in totals, chart and top pages', async ({
    assert,
  }) => {
    await db.table(TRACKING_TABLES.pageViews).multiInsert([
      { path: '/a', date: D1, views: 5 },
      { path: '/b', date: D1, views: 2 },
      { path: '/a', date: D3, views: 4 },
    ])
    const selector = new TrackingSelector(state.tracking.manager, db, { now: () => NOW })
    const before = await selector.getAnalyticsContext(4)
    assert.equal(before.trackingTotalViews.value, 0)

    const first = await runCommand(TrackingRebuild, [])
    assert.equal(first.exitCode, 0, first.output)
    assert.include(
      first.output,
      '[tracking] rebuilt 2 of 2 days (11 views in all, +11 on the changed days)'
    )
    const context = await selector.getAnalyticsContext(4)
    assert.equal(context.trackingTotalViews.value, 11)
    assert.deepEqual(context.trackingViewsChart.series[0].values, [7, 0, 4, 0])
    assert.deepEqual(
      context.trackingTopPages.items.map((item) => [item.label, item.value]),
      [
        ['/a', 9],
        ['/b', 2],
      ]
    )
    assert.equal(context.trackingTrackedPages.value, 2)

    /* once only: a second run changes nothing, not even updated_at */
    const snapshot = await tablesSnapshot([
      TRACKING_TABLES.pageViews,
      TRACKING_TABLES.dailyStats,
      TRACKING_TABLES.imports,
    ])
    const second = await runCommand(TrackingRebuild, [])
    assert.include(second.output, '[tracking] rebuilt 0 of 2 days')
    assert.deepEqual(
      await tablesSnapshot([
        TRACKING_TABLES.pageViews,
        TRACKING_TABLES.dailyStats,
        TRACKING_TABLES.imports,
      ]),
      snapshot
    )
  })

  test('keeps the visitors of days the flush wrote, corrects their views, honours --from/--to', async ({
    assert,
  }) => {
    const { manager } = state.tracking
    await manager.store.write(
      batch({ [D1]: { '/a': 3 }, [D2]: { '/a': 1 } }, { [D1]: ['u1', 'u2'], [D2]: ['u3'] })
    )
    await flushPageViews(manager, db)
    const flushed = await dayRows()
    assert.deepEqual(flushed[D1], [3, 2, true])
    const flushedRow = await db.from(TRACKING_TABLES.dailyStats).where('date', D1).first()
    const sketch = flushedRow.visitors_sketch

    /* rows of the original module copied in for both days */
    await db.table(TRACKING_TABLES.pageViews).multiInsert([
      { path: '/old', date: D1, views: 10 },
      { path: '/old', date: D2, views: 20 },
    ])
    const dry = await runCommand(TrackingRebuild, ['--from', D1, '--to', D1, '--dry-run'])
    assert.include(dry.output, 'would rebuild 1 of 1 days')
    assert.deepEqual(await dayRows(), flushed)

    const done = await runCommand(TrackingRebuild, ['--from', D1, '--to', D1])
    assert.equal(done.exitCode, 0, done.output)
    const after = await dayRows()
    assert.deepEqual(after[D1], [13, 2, true])
    /* D2 is outside the range */
    assert.deepEqual(after[D2], [1, 1, true])
    const row = await db.from(TRACKING_TABLES.dailyStats).where('date', D1).first()
    assert.equal(
      Buffer.from(row.visitors_sketch).toString('hex'),
      Buffer.from(sketch).toString('hex')
    )

    await runCommand(TrackingRebuild, ['--from', D2])
    const rebuilt = await dayRows()
    assert.deepEqual(rebuilt[D2], [21, 1, true])
  })

  test('tracking_dimension_stats has nothing to rebuild: its rows show as stored and are left alone', async ({
    assert,
  }) => {
    await db.table(TRACKING_TABLES.pageViews).insert({ path: '/a', date: D1, views: 5 })
    /* a dimension row put there by hand (copied from another install) */
    await insertDimensionRows([
      { date: D1, dimension: 'source', value: 'github.com', views: 4, visitors: ['u1', 'u2'] },
    ])
    const selector = new TrackingSelector(state.tracking.manager, db, { now: () => NOW })
    const before = await selector.breakdown('source', 4)
    assert.deepEqual(
      before.items.map((item) => [item.label, item.value, item.visitors]),
      [['github.com', 4, 2]]
    )
    const rows = async () => {
      const all = await db.from(TRACKING_TABLES.dimensionStats).select('*')
      return JSON.stringify(
        all.map((row) =>
          Object.values(row).map((value) =>
            Buffer.isBuffer(value) ? value.toString('hex') : String(value)
          )
        )
      )
    }
    const stored = await rows()
    const done = await runCommand(TrackingRebuild, [])
    assert.include(done.output, 'rebuilt 1 of 1 days')
    assert.equal(await rows(), stored)
    const after = await selector.breakdown('source', 4)
    assert.deepEqual(after.items, before.items)
    /* what `node ace tracking:rebuild --help` says about it */
    const help = TrackingRebuild.help.join('\n')
    assert.include(help, 'tracking_dimension_stats')
    assert.include(help, 'its page view rows carry no')
  })

  test('bad dates exit 1 naming the flag: {$self}')
    .with([
      ['--from', '2026-13-01'],
      ['--to', 'yesterday'],
      ['--from', D3, '--to', D1],
    ])
    .run(async ({ assert }, argv) => {
      await db.table(TRACKING_TABLES.pageViews).insert({ path: '/a', date: D1, views: 1 })
      const { exitCode, output } = await runCommand(TrackingRebuild, argv)
      assert.equal(exitCode, 1)
      assert.include(output, `"${argv[0]}"`)
      assert.deepEqual(await dayRows(), {})
    })
})

/** A CSV of the original module's rows: id,path,date,views */
function moduleCsv(rows: Array<[string, string, number | string]>) {
  return [
    'id,path,date,views',
    ...rows.map(([path, date, views], i) => `${i + 1},${path},${date},${views}`),
  ].join('\n')
}

test.group(`tracking:import (${dbName})`, (group) => {
  const state = importState(group, 'tracking-import-')

  test('page-views CSV: exact rows, a second import adds nothing, --dry-run writes nothing', async ({
    assert,
  }) => {
    const rows: Array<[string, string, number]> = []
    const expected: Record<string, number> = {}
    const perDay: Record<string, number> = {}
    for (let i = 0; i < 1000; i++) {
      const day = `2026-01-${String((i % 28) + 1).padStart(2, '0')}`
      const path = `/p/${i % 97}`
      const views = (i % 7) + 1
      rows.push([path, day, views])
      expected[`${day} ${path}`] = (expected[`${day} ${path}`] ?? 0) + views
      perDay[day] = (perDay[day] ?? 0) + views
    }
    const file = join(state.dir, 'page_views.csv')
    await writeFile(file, moduleCsv(rows))

    const dry = await runCommand(TrackingImport, ['page-views', file, '--dry-run'])
    assert.equal(dry.exitCode, 0, dry.output)
    assert.match(dry.output, /dry run: would import 1000 rows \(\d+ views over 28 days\)/)
    assert.deepEqual(await pageRows(), {})
    assert.deepEqual(await dayRows(), {})
    assert.lengthOf(await db.from(TRACKING_TABLES.imports).select('*'), 0)

    const first = await runCommand(TrackingImport, ['page-views', file])
    assert.equal(first.exitCode, 0, first.output)
    assert.include(first.output, 'imported 1000 rows')
    assert.include(first.output, 'rebuilt the totals of 28 of 28 days')
    assert.deepEqual(await pageRows(), expected)
    const days = await dayRows()
    assert.deepEqual(
      Object.fromEntries(Object.entries(days).map(([day, [views]]) => [day, views])),
      perDay
    )

    const snapshot = await tablesSnapshot([
      TRACKING_TABLES.pageViews,
      TRACKING_TABLES.dailyStats,
      TRACKING_TABLES.imports,
    ])
    const second = await runCommand(TrackingImport, ['page-views', file])
    assert.equal(second.exitCode, 0, second.output)
    assert.include(second.output, 'nothing to import')
    assert.deepEqual(
      await tablesSnapshot([
        TRACKING_TABLES.pageViews,
        TRACKING_TABLES.dailyStats,
        TRACKING_TABLES.imports,
      ]),
      snapshot
    )
  })

  test('bad rows are reported with their line and skipped, the rest imported', async ({
    assert,
  }) => {
    const file = join(state.dir, 'broken.csv')
    await writeFile(
      file,
      moduleCsv([
        ['/a', D1, 3],
        ['/b', '2026-02-30', 1],
        ['/a', D2, 2],
        ['/c', D2, -4],
        ['nope', D2, 1],
        ['/b', D2, 5],
      ])
    )
    const { exitCode, output } = await runCommand(TrackingImport, ['page-views', file])
    assert.equal(exitCode, 0, output)
    assert.include(output, 'line 3: invalid date "2026-02-30" (expected YYYY-MM-DD) (skipped)')
    assert.include(output, 'line 5: invalid views "-4"')
    assert.include(output, 'line 6: invalid path "nope"')
    assert.include(output, 'imported 3 rows (10 views over 2 days) from')
    assert.include(output, '3 bad rows skipped')
    assert.deepEqual(await pageRows(), { [`${D1} /a`]: 3, [`${D2} /a`]: 2, [`${D2} /b`]: 5 })
    assert.deepEqual(await dayRows(), { [D1]: [3, 0, false], [D2]: [7, 0, false] })
  })

  test('an interrupted import resumes after its last chunk', async ({ assert }) => {
    const file = join(state.dir, 'resume.csv')
    const rows: Array<[string, string, number]> = []
    for (let i = 0; i < 10; i++) rows.push([`/r${i}`, i < 5 ? D1 : D2, i + 1])
    await writeFile(file, moduleCsv(rows))
    const plan = await readPageViewsCsv(file)
    /* a run that stopped after its first two chunks (and before the rebuild) */
    await runImport(db, { ...plan, rows: plan.rows.slice(0, 4) }, { chunkSize: 2 })
    await db.from(TRACKING_TABLES.dailyStats).delete()
    const summary = await runImport(db, plan, { chunkSize: 2 })
    assert.equal(summary.alreadyImported, 2)
    assert.equal(summary.added, 6)
    assert.deepEqual(await dayRows(), { [D1]: [15, 0, false], [D2]: [40, 0, false] })
  })

  test('page-views from a legacy table of the database (--table)', async ({ assert, cleanup }) => {
    const schema = db.connection().schema
    await schema.dropTableIfExists('tracking_pageview')
    await schema.createTable('tracking_pageview', (table) => {
      table.increments('id')
      table.string('path', 500).notNullable()
      table.date('date').notNullable()
      table.integer('views').notNullable()
    })
    cleanup(() => db.connection().schema.dropTableIfExists('tracking_pageview'))
    await db.table('tracking_pageview').multiInsert([
      { path: '/legacy', date: D1, views: 7 },
      { path: '/legacy', date: D2, views: 3 },
      { path: '/other', date: D2, views: 1 },
    ])

    const first = await runCommand(TrackingImport, ['page-views', '--table', 'tracking_pageview'])
    assert.equal(first.exitCode, 0, first.output)
    assert.include(first.output, 'imported 3 rows (11 views over 2 days) from tracking_pageview')
    assert.deepEqual(await pageRows(), {
      [`${D1} /legacy`]: 7,
      [`${D2} /legacy`]: 3,
      [`${D2} /other`]: 1,
    })
    assert.deepEqual(await dayRows(), { [D1]: [7, 0, false], [D2]: [4, 0, false] })
    const second = await runCommand(TrackingImport, ['page-views', '--table', 'tracking_pageview'])
    assert.include(second.output, 'nothing to import')
    const again = await dayRows()
    assert.deepEqual(again[D2], [4, 0, false])

    const missing = await runCommand(TrackingImport, ['page-views', '--table', 'no_such_table'])
    assert.equal(missing.exitCode, 1)
    assert.include(missing.output, 'the table "no_such_table" does not exist')
  })

  test('a GoatCounter CSV export: pageviews per day and path, daily visitors not mergeable', async ({
    assert,
  }) => {
    const header =
      '2Path,Title,Event,User-Agent,Browser,System,Session,Bot,Referrer,Referrer scheme,Screen size,Location,FirstVisit,Date'
    const hit = (
      path: string,
      session: string,
      date: string,
      extra: { event?: string; bot?: string } = {}
    ) =>
      `${path},"Title, quoted",${extra.event ?? 'false'},,Firefox 120,Linux,${session},${extra.bot ?? '0'},https://example.com/,h,"1920,1080,1",NL,true,${date}`
    const file = join(state.dir, 'goatcounter.csv')
    await writeFile(
      file,
      [
        header,
        hit('/a', 's1', `${D1}T10:00:00Z`),
        hit('/a', 's1', `${D1}T10:05:00Z`),
        hit('/b', 's2', `${D1}T23:59:59Z`),
        hit('/a', 's3', `${D2}T00:00:01Z`),
        hit('click-button', 's3', `${D2}T00:01:00Z`, { event: 'true' }),
        hit('/a', 's9', `${D2}T00:02:00Z`, { bot: '3' }),
        hit('/b', 's4', 'yesterday'),
        '',
      ].join('\r\n')
    )
    const { exitCode, output } = await runCommand(TrackingImport, ['goatcounter', file])
    assert.equal(exitCode, 0, output)
    assert.include(output, 'line 8: invalid Date "yesterday"')
    assert.include(output, 'imported 4 rows (4 views over 2 days, unique visitors of 2 days)')
    assert.include(output, '2 bot or event rows left out')
    assert.deepEqual(await pageRows(), { [`${D1} /a`]: 2, [`${D1} /b`]: 1, [`${D2} /a`]: 1 })
    /* unique visitors as GoatCounter's sessions per day, with no sketch: not mergeable */
    assert.deepEqual(await dayRows(), { [D1]: [3, 2, false], [D2]: [1, 1, false] })

    const again = await runCommand(TrackingImport, ['goatcounter', file])
    assert.include(again.output, 'nothing to import')
    assert.deepEqual(await dayRows(), { [D1]: [3, 2, false], [D2]: [1, 1, false] })

    const wrong = join(state.dir, 'not_goatcounter.csv')
    await writeFile(wrong, 'path,date,views\n/a,2026-01-01,1\n')
    const refused = await runCommand(TrackingImport, ['goatcounter', wrong])
    assert.equal(refused.exitCode, 1)
    assert.include(refused.output, 'is not a GoatCounter CSV export')
  })

  test('a Plausible export directory: imported_pages and imported_visitors', async ({ assert }) => {
    const dir = join(state.dir, 'plausible')
    await mkdir(dir)
    await writeFile(
      join(dir, 'imported_pages_20260201_20260202.csv'),
      [
        'date,hostname,page,visits,visitors,pageviews,exits,time_on_page',
        `${D1},example.com,/a,4,3,6,2,120`,
        `${D1},example.com,/b,1,1,1,1,10`,
        `${D2},example.com,/a,2,2,x,1,5`,
      ].join('\n')
    )
    await writeFile(
      join(dir, 'imported_visitors_20260201_20260202.csv'),
      ['date,visitors,pageviews,bounces,visits,visit_duration', `${D1},4,7,1,5,300`].join('\n')
    )
    await writeFile(join(dir, 'imported_browsers_20260201_20260202.csv'), 'date,browser,visitors\n')
    const { exitCode, output } = await runCommand(TrackingImport, ['plausible', dir])
    assert.equal(exitCode, 0, output)
    assert.include(output, 'imported_pages_20260201_20260202.csv line 4: invalid pageviews "x"')
    assert.include(output, 'imported 2 rows (7 views over 1 days, unique visitors of 1 days)')
    /* an export made before Plausible counted pageviews per browser: visitors only */
    assert.include(
      output,
      'imported_browsers_20260201_20260202.csv has no "pageviews" column (an export from before Plausible counted page views per browser): left out'
    )
    assert.deepEqual(await pageRows(), { [`${D1} /a`]: 6, [`${D1} /b`]: 1 })
    assert.deepEqual(await dayRows(), { [D1]: [7, 4, false] })
  })

  test('usage errors exit 1: {$self}')
    .with([
      ['visits', 'x.csv'],
      ['page-views'],
      ['goatcounter', '--table', 'x'],
      ['page-views', '/nonexistent/file.csv'],
    ])
    .run(async ({ assert }, argv) => {
      const { exitCode, output } = await runCommand(TrackingImport, argv)
      assert.equal(exitCode, 1, output)
      assert.match(output, /\[tracking\] /)
      assert.deepEqual(await pageRows(), {})
    })
})
