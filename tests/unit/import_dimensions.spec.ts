import { test } from '@japa/runner'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import db from '@adonisjs/lucid/services/db'
import TrackingImport from '../../commands/import.ts'
import { runImport } from '../../src/import/importer.ts'
import { readPlausibleExport } from '../../src/import/sources.ts'
import { TrackingSelector } from '../../src/selector.ts'
import { isoDay, TRACKING_TABLES } from '../../src/tables.ts'
import { insertDimensionRows } from '../dimension_rows.ts'
import { dbName, importState, runCommand, tablesSnapshot } from '../helpers.ts'

/** The tables an import writes */
const ALL_TABLES = [
  TRACKING_TABLES.pageViews,
  TRACKING_TABLES.dailyStats,
  TRACKING_TABLES.dimensionStats,
  TRACKING_TABLES.imports,
]

const D1 = '2026-02-01'
const D2 = '2026-02-02'
/** "now" of the selectors: two days after D2 */
const NOW = Date.parse('2026-02-04T12:00:00Z')
const SUFFIX = '20260201_20260202.csv'

/*
| The files of a Plausible CSV export, with the columns of Plausible's CSV
| importer (its input structures): what `Export` writes and `Import` reads
*/
const FILES: Record<string, string[]> = {
  imported_pages: [
    'date,hostname,page,visits,visitors,pageviews,scroll_depth,pageleave_visitors',
    `${D1},example.com,/a,20,15,28,,10`,
    `${D2},example.com,/a,3,3,4,,2`,
  ],
  imported_sources: [
    'date,source,referrer,utm_source,utm_medium,utm_campaign,utm_content,utm_term,pageviews,visitors,visits,visit_duration,bounces',
    `${D1},,,,,,,,10,6,7,300,2`,
    `${D1},Google,google.com,,,,,,8,5,5,100,1`,
    `${D1},Google,google.co.uk/search,,,,,,2,1,1,10,0`,
    `${D1},Hacker News,news.ycombinator.com/item,,,,,,5,4,4,50,1`,
    `${D1},Newsletter,,Newsletter,email,spring-sale,,,3,2,2,20,0`,
    `${D2},Twitter,t.co/abc,,,,,,4,3,3,30,1`,
    `${D2},Google,google.com,,,,,,x,1,1,1,1`,
  ],
  imported_browsers: [
    'date,browser,browser_version,visitors,visits,visit_duration,bounces,pageviews',
    `${D1},Chrome,120.0,5,6,100,1,12`,
    `${D1},Chrome,121.0,2,2,10,0,3`,
    `${D1},Microsoft Edge,120.0,1,1,5,0,2`,
    `${D1},Firefox,(not set),3,3,10,1,6`,
    `${D1},,,1,1,0,0,1`,
  ],
  imported_operating_systems: [
    'date,operating_system,operating_system_version,visitors,visits,visit_duration,bounces,pageviews',
    `${D1},Mac,10.15,4,4,10,1,9`,
    `${D1},GNU/Linux,,2,2,1,0,4`,
    `${D1},iOS,17.4,3,3,1,0,5`,
  ],
  imported_devices: [
    'date,device,visitors,visits,visit_duration,bounces,pageviews',
    `${D1},Desktop,5,5,1,1,10`,
    `${D1},Laptop,2,2,1,1,3`,
    `${D1},Mobile,3,3,1,1,4`,
    `${D1},Tablet,1,1,1,0,1`,
    `${D1},,1,1,0,0,1`,
  ],
  imported_locations: [
    'date,country,region,city,visitors,visits,visit_duration,bounces,pageviews',
    `${D1},DE,DE-BE,2950159,3,3,1,0,6`,
    `${D1},DE,DE-BY,2867714,2,2,1,0,4`,
    `${D1},fr,,0,1,1,1,0,2`,
    `${D1},US,US-CA,0,2,2,1,0,many`,
  ],
}

/** The rows the files above give: `day dimension value` -> [views, visitors, has a sketch] */
const EXPECTED: Record<string, [number, number, boolean]> = {
  [`${D1} source Direct / None`]: [10, 6, false],
  [`${D1} source google.com`]: [8, 5, false],
  [`${D1} source google.co.uk`]: [2, 1, false],
  [`${D1} source ycombinator.com`]: [5, 4, false],
  [`${D1} source Newsletter`]: [3, 2, false],
  [`${D1} channel Direct`]: [10, 6, false],
  [`${D1} channel Organic Search`]: [10, 6, false],
  [`${D1} channel Referral`]: [5, 4, false],
  [`${D1} channel Email`]: [3, 2, false],
  [`${D1} utm_source Newsletter`]: [3, 2, false],
  [`${D1} utm_medium email`]: [3, 2, false],
  [`${D1} utm_campaign spring-sale`]: [3, 2, false],
  [`${D2} source t.co`]: [4, 3, false],
  [`${D2} channel Organic Social`]: [4, 3, false],
  [`${D1} browser Chrome`]: [15, 7, false],
  [`${D1} browser Firefox`]: [6, 3, false],
  [`${D1} browser Edge`]: [2, 1, false],
  [`${D1} browser Unknown`]: [1, 1, false],
  [`${D1} browser_version Chrome 120`]: [12, 5, false],
  [`${D1} browser_version Chrome 121`]: [3, 2, false],
  [`${D1} browser_version Edge 120`]: [2, 1, false],
  [`${D1} browser_version Firefox`]: [6, 3, false],
  [`${D1} browser_version Unknown`]: [1, 1, false],
  [`${D1} os macOS`]: [9, 4, false],
  [`${D1} os Linux`]: [4, 2, false],
  [`${D1} os iOS`]: [5, 3, false],
  [`${D1} os_version macOS 10.15`]: [9, 4, false],
  [`${D1} os_version Linux`]: [4, 2, false],
  [`${D1} os_version iOS 17.4`]: [5, 3, false],
  [`${D1} device desktop`]: [13, 7, false],
  [`${D1} device mobile`]: [4, 3, false],
  [`${D1} device tablet`]: [1, 1, false],
  [`${D1} device other`]: [1, 1, false],
  [`${D1} country DE`]: [10, 5, false],
  [`${D1} country FR`]: [2, 1, false],
}

/** `day dimension value` -> [views, unique visitors, has a visitor sketch] */
async function dimensionRows(): Promise<Record<string, [number, number, boolean]>> {
  const rows = await db.from(TRACKING_TABLES.dimensionStats).select('*')
  const out: Record<string, [number, number, boolean]> = {}
  for (const row of rows) {
    out[`${isoDay(row.date)} ${row.dimension} ${row.value}`] = [
      Number(row.views),
      Number(row.unique_visitors),
      Boolean(row.visitors_sketch && row.visitors_sketch.length > 0),
    ]
  }
  return out
}

/** Writes the export's files (or some of them) into a new directory */
async function writeExport(root: string, names: string[] = Object.keys(FILES)) {
  const dir = join(root, `export-${names.length}`)
  await mkdir(dir, { recursive: true })
  for (const name of names) await writeFile(join(dir, `${name}_${SUFFIX}`), FILES[name].join('\n'))
  return dir
}

test.group(`tracking:import plausible: dimension files (${dbName})`, (group) => {
  const state = importState(group, 'tracking-import-dimensions-')

  test('sources, browsers, OS, devices and locations land in the breakdowns, once', async ({
    assert,
  }) => {
    const dir = await writeExport(state.dir)

    const dry = await runCommand(TrackingImport, ['plausible', dir, '--dry-run'])
    assert.equal(dry.exitCode, 0, dry.output)
    assert.include(dry.output, 'dry run: would import 2 rows (32 views over 2 days)')
    assert.include(dry.output, 'and 35 dimension rows (5 files)')
    assert.deepEqual(await dimensionRows(), {})

    const first = await runCommand(TrackingImport, ['plausible', dir])
    assert.equal(first.exitCode, 0, first.output)
    assert.include(
      first.output,
      `imported_sources_${SUFFIX} line 8: invalid pageviews "x" (expected a whole number >= 0) (skipped)`
    )
    assert.include(first.output, `imported_locations_${SUFFIX} line 5: invalid pageviews "many"`)
    assert.include(
      first.output,
      'imported 2 rows (32 views over 2 days) and 35 dimension rows (5 files)'
    )
    assert.include(first.output, '2 bad rows skipped')
    assert.deepEqual(await dimensionRows(), EXPECTED)

    /* what the page shows: the imported rows in the panels, daily visitors of one day as they are */
    const selector = new TrackingSelector(state.tracking.manager, db, { now: () => NOW })
    const context = await selector.getAnalyticsContext({ from: D1, to: D2 })
    const items = (key: keyof typeof context) =>
      (
        context[key] as { items: Array<{ label: string; value: number; visitors?: number }> }
      ).items.map((item) => [item.label, item.value, item.visitors])
    assert.deepEqual(items('trackingSources'), [
      ['Direct / None', 10, 6],
      ['google.com', 8, 5],
      ['ycombinator.com', 5, 4],
      ['t.co', 4, 3],
      ['Newsletter', 3, 2],
      ['google.co.uk', 2, 1],
    ])
    assert.deepEqual(items('trackingChannels'), [
      ['Direct', 10, 6],
      ['Organic Search', 10, 6],
      ['Referral', 5, 4],
      ['Organic Social', 4, 3],
      ['Email', 3, 2],
    ])
    assert.deepEqual(items('trackingCampaigns'), [['spring-sale', 3, 2]])
    assert.deepEqual(items('trackingBrowsers'), [
      ['Chrome', 15, 7],
      ['Firefox', 6, 3],
      ['Edge', 2, 1],
      ['Unknown', 1, 1],
    ])
    assert.deepEqual(items('trackingOsVersions'), [
      ['macOS 10.15', 9, 4],
      ['iOS 17.4', 5, 3],
      ['Linux', 4, 2],
    ])
    assert.deepEqual(items('trackingDevices'), [
      ['desktop', 13, 7],
      ['mobile', 4, 3],
      ['other', 1, 1],
      ['tablet', 1, 1],
    ])
    assert.deepEqual(items('trackingCountries'), [
      ['DE', 10, 5],
      ['FR', 2, 1],
    ])
    const csv = await selector.breakdowns(['country'], { from: D1, to: D2 })
    assert.equal(csv.get('country')!.total, 12)

    const before = await tablesSnapshot(ALL_TABLES)
    const second = await runCommand(TrackingImport, ['plausible', dir])
    assert.equal(second.exitCode, 0, second.output)
    assert.include(second.output, 'nothing to import')
    assert.deepEqual(await tablesSnapshot(ALL_TABLES), before)

    /* the same file in another export directory is the same import */
    const alone = await writeExport(state.dir, ['imported_devices'])
    const third = await runCommand(TrackingImport, ['plausible', alone])
    assert.include(third.output, 'nothing to import')
    assert.deepEqual(await tablesSnapshot(ALL_TABLES), before)
  })

  test('an export imported before its dimension files were read adds only them', async ({
    assert,
  }) => {
    const dir = await writeExport(state.dir, ['imported_pages'])
    const pages = await runCommand(TrackingImport, ['plausible', dir])
    assert.include(pages.output, 'imported 2 rows (32 views over 2 days) from')
    for (const name of Object.keys(FILES)) {
      if (name !== 'imported_pages')
        await writeFile(join(dir, `${name}_${SUFFIX}`), FILES[name].join('\n'))
    }
    const again = await runCommand(TrackingImport, ['plausible', dir])
    assert.equal(again.exitCode, 0, again.output)
    assert.include(again.output, 'imported 35 dimension rows (5 files) from')
    assert.include(again.output, '1 of 1 chunks were imported by an earlier run')
    const days = await db.from(TRACKING_TABLES.dailyStats).orderBy('date').select('date', 'views')
    assert.deepEqual(
      days.map((row) => [isoDay(row.date), Number(row.views)]),
      [
        [D1, 28],
        [D2, 4],
      ]
    )
    assert.deepEqual(await dimensionRows(), EXPECTED)
  })

  test('maxValuesPerDimension counts the values SQL has: later new ones go to (other)', async ({
    assert,
  }) => {
    /* a flushed row: its sketch's visitors stay, views are added */
    await insertDimensionRows([
      { date: D1, dimension: 'browser', value: 'Firefox', views: 1, visitors: ['u1'] },
    ])
    const plan = await readPlausibleExport(await writeExport(state.dir, ['imported_browsers']))
    const summary = await runImport(db, plan, { maxValuesPerDimension: 2 })
    assert.equal(summary.dimensionAdded, 9)
    assert.deepEqual(await dimensionRows(), {
      [`${D1} browser Firefox`]: [7, 1, true],
      [`${D1} browser Chrome`]: [15, 7, false],
      [`${D1} browser (other)`]: [3, 2, false],
      [`${D1} browser_version Chrome 120`]: [12, 5, false],
      [`${D1} browser_version Firefox`]: [6, 3, false],
      [`${D1} browser_version (other)`]: [6, 4, false],
    })
  })

  test('an interrupted import of a dimension file resumes after its last chunk', async ({
    assert,
  }) => {
    const dir = await writeExport(state.dir, ['imported_operating_systems', 'imported_devices'])
    const plan = await readPlausibleExport(dir)
    const [devices, os] = plan.dimensionFiles
    assert.equal(os.rows.length + devices.rows.length, 10)
    /* a run that stopped after the first two chunks of the first file */
    await runImport(
      db,
      { ...plan, dimensionFiles: [{ ...devices, rows: devices.rows.slice(0, 4) }] },
      {
        chunkSize: 2,
      }
    )
    const summary = await runImport(db, plan, { chunkSize: 2 })
    assert.equal(summary.dimensionAlreadyImported, 4)
    assert.equal(summary.dimensionAdded, 6)
    const expected = Object.fromEntries(
      Object.entries(EXPECTED).filter(([key]) => / (os|os_version|device) /.test(key))
    )
    assert.deepEqual(await dimensionRows(), expected)
  })

  test('a dimension file without its value column imports nothing and exits 1', async ({
    assert,
  }) => {
    const dir = join(state.dir, 'broken')
    await mkdir(dir)
    await writeFile(
      join(dir, `imported_devices_${SUFFIX}`),
      'date,visitors,pageviews\n2026-02-01,1,1\n'
    )
    const { exitCode, output } = await runCommand(TrackingImport, ['plausible', dir])
    assert.equal(exitCode, 1)
    assert.include(output, 'the header (line 1) has no "device" column')
    assert.deepEqual(await dimensionRows(), {})
  })
})
