/*
|--------------------------------------------------------------------------
| Visits on the analytics page and in the CSV export (issue #15, item 4)
|--------------------------------------------------------------------------
|
| The issue's script, replayed with the views' own times through
| recorder.recordView({ path, visitor, at }): A views /, /about, /pricing a
| minute apart; B views /about once; C views / then / again 40 minutes
| later; a logged-in user views /docs at 23:50 and /pricing at 00:10
| (Europe/Paris). The day before, D and F view / then /about 65 s later and
| E views / once. What a staff member sees: the four visit KPIs with their
| trends, the visitors of the top pages, the Entry and Exit pages panels,
| and the entry / exit CSV datasets, live and after a flush.
|
*/

import { test } from '@japa/runner'
import { DateTime } from 'luxon'
import db from '@adonisjs/lucid/services/db'
import { flushPageViews } from '../../src/flush.ts'
import { loginAs, truncateTrackingTables, useTrackingManager } from '../helpers.ts'

const ZONE = 'Europe/Paris'
/** A day `offset` days from today in ZONE */
const dayOf = (offset: number) => DateTime.now().setZone(ZONE).plus({ days: offset }).toISODate()!
const BEFORE = dayOf(-4)
const DAY1 = dayOf(-3)
const DAY2 = dayOf(-2)

/** Epoch ms of a wall-clock time of a day in ZONE */
const at = (day: string, time: string) =>
  DateTime.fromISO(`${day}T${time}`, { zone: ZONE }).toMillis()

/** The views of the script, in time order: [day, time, path, visitor] */
const VIEWS: Array<[string, string, string, string]> = [
  [BEFORE, '09:00', '/', 'D'],
  [BEFORE, '09:01:05', '/about', 'D'],
  [BEFORE, '10:00', '/', 'E'],
  [BEFORE, '11:00', '/', 'F'],
  [BEFORE, '11:01:05', '/about', 'F'],
  [DAY1, '10:00', '/', 'A'],
  [DAY1, '10:00:30', '/about', 'B'],
  [DAY1, '10:00:40', '/', 'C'],
  [DAY1, '10:01', '/about', 'A'],
  [DAY1, '10:02', '/pricing', 'A'],
  [DAY1, '10:40:40', '/', 'C'],
  [DAY1, '23:50', '/docs', 'user-42'],
  [DAY2, '00:10', '/pricing', 'user-42'],
]

/** The rows of a CSV answer, without its header */
function csvRows(text: string): string[][] {
  return text
    .trim()
    .split(/\r\n/)
    .slice(1)
    .map((line) => line.split(','))
}

/** The text of the element of `data-widget="key"` (tags removed, spaces collapsed) */
function widgetText(html: string, key: string): string {
  const start = html.indexOf(`data-widget="${key}"`)
  if (start === -1) return ''
  const end = html.indexOf('</section>', start)
  return html
    .slice(start, end)
    .replace(/^[^>]*>/, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
}

test.group('Visits | the analytics page and the CSV export', (group) => {
  group.each.setup(async () => {
    await truncateTrackingTables()
  })

  test('KPIs with trends, visitors of the top pages, entry and exit pages and their CSV, live and flushed', async ({
    client,
    assert,
    cleanup,
  }) => {
    const tracking = await useTrackingManager({ timezone: ZONE })
    cleanup(() => tracking.cleanup())
    for (const [day, time, path, visitor] of VIEWS) {
      tracking.manager.recorder.recordView({ path, visitor, at: at(day, time) })
    }
    await tracking.manager.drain()
    const range = `from=${DAY1}&to=${DAY1}`

    const read = async () => {
      const page = await loginAs(client.get(`/cabinet/tracking?${range}`), 'staff')
      page.assertStatus(200)
      const entry = await loginAs(
        client.get(`/cabinet/tracking/export.csv?${range}&dataset=entry`),
        'staff'
      )
      entry.assertStatus(200)
      const exit = await loginAs(
        client.get(`/cabinet/tracking/export.csv?${range}&dataset=exit`),
        'staff'
      )
      exit.assertStatus(200)
      return { html: page.text(), entry, exit }
    }

    for (const moment of ['live', 'flushed']) {
      if (moment === 'flushed') await flushPageViews(tracking.manager, db)
      const { html, entry, exit } = await read()

      /* 5 visits against 3 the day before; 8 views / 5 = 1.6 against 5 / 3 */
      assert.equal(
        widgetText(html, 'trackingVisits'),
        `Visits 5 ▲ +67% vs 3 before ${DAY1}`,
        moment
      )
      assert.equal(
        widgetText(html, 'trackingViewsPerVisit'),
        `Views per visit 1.6 ▼ -4% vs 1.7 before ${DAY1}`,
        moment
      )
      /* 3 bounces of 5 visits (B and C's two), against 1 of 3 */
      assert.equal(
        widgetText(html, 'trackingBounceRate'),
        `Bounce rate 60% ▲ +80% vs 33.3% before ${DAY1}`,
        moment
      )
      /* durations 120, 0, 0, 0, 1200 s: median 0, mean 264 s; the day before 65, 0, 65 */
      assert.equal(
        widgetText(html, 'trackingVisitDuration'),
        `Visit duration 0s median; mean 4m 24s ▼ -100% vs 1m 5s before ${DAY1}`,
        moment
      )

      /* top pages: their views (7 on DAY1) and visitors (A and C on /, A and B on /about) */
      assert.equal(
        widgetText(html, 'trackingTopPages'),
        `Top pages ${DAY1} / 3 views, · 2 visitors (43%) /about 2 views, · 2 visitors (29%) /docs 1 views, · 1 visitor (14%) /pricing 1 views, · 1 visitor (14%)`,
        moment
      )

      /* entry and exit pages: visits, named as visits for screen readers, share of the 5 visits */
      assert.equal(
        widgetText(html, 'trackingEntryPages'),
        `Entry pages ${DAY1} / 3 visits, (60%) /about 1 visits, (20%) /docs 1 visits, (20%)`,
        moment
      )
      assert.equal(
        widgetText(html, 'trackingExitPages'),
        `Exit pages ${DAY1} / 2 visits, (40%) /pricing 2 visits, (40%) /about 1 visits, (20%)`,
        moment
      )
      assert.include(html, `dataset=entry" download>entry pages<`)
      assert.include(html, `dataset=exit" download>exit pages<`)
      assert.notInclude(html, '<script')

      assert.equal(entry.header('content-type'), 'text/csv; charset=utf-8')
      assert.include(entry.header('content-disposition'), `tracking-entry-${DAY1}-${DAY1}.csv`)
      assert.equal(entry.text().split('\r\n')[0], 'path,visits,share')
      assert.deepEqual(csvRows(entry.text()), [
        ['/', '3', '0.6'],
        ['/about', '1', '0.2'],
        ['/docs', '1', '0.2'],
      ])
      assert.equal(exit.text().split('\r\n')[0], 'path,visits,share')
      assert.deepEqual(csvRows(exit.text()), [
        ['/', '2', '0.4'],
        ['/pricing', '2', '0.4'],
        ['/about', '1', '0.2'],
      ])
    }

    /* a visit counts on the day it started: DAY2 has the user's view, no visit */
    const day2 = await loginAs(
      client.get(`/cabinet/tracking/export.csv?from=${DAY2}&to=${DAY2}&dataset=entry`),
      'staff'
    )
    assert.equal(day2.text(), 'path,visits,share\r\n')
    const json = await loginAs(
      client.get(`/cabinet/tracking?from=${DAY2}&to=${DAY2}&format=json`),
      'staff'
    )
    assert.equal(json.body().trackingVisits.value, 0)
    assert.equal(json.body().trackingTotalViews.value, 1)
  })

  test('an unknown dataset names entry and exit; a filter leaves the visits as they are', async ({
    client,
    assert,
    cleanup,
  }) => {
    const tracking = await useTrackingManager({ timezone: ZONE })
    cleanup(() => tracking.cleanup())
    tracking.manager.recorder.recordView({
      path: '/',
      visitor: 'A',
      at: at(DAY1, '10:00'),
      dimensions: { source: 'github.com' },
    })
    tracking.manager.recorder.recordView({ path: '/', visitor: 'B', at: at(DAY1, '10:00') })
    await tracking.manager.drain()

    const unknown = await loginAs(
      client.get(`/cabinet/tracking/export.csv?days=7&dataset=visits`),
      'staff'
    )
    unknown.assertStatus(422)
    assert.include(unknown.text(), 'entry, exit')

    const filtered = await loginAs(
      client.get(`/cabinet/tracking?from=${DAY1}&to=${DAY1}&filter=source:github.com`),
      'staff'
    )
    filtered.assertStatus(200)
    assert.match(widgetText(filtered.text(), 'trackingVisits'), /^Visits 2 /)
    assert.match(widgetText(filtered.text(), 'trackingBounceRate'), /^Bounce rate 100% /)
    assert.include(filtered.text(), 'the visits, the entry and exit pages')
    const entry = await loginAs(
      client.get(
        `/cabinet/tracking/export.csv?from=${DAY1}&to=${DAY1}&filter=source:github.com&dataset=entry`
      ),
      'staff'
    )
    assert.deepEqual(csvRows(entry.text()), [['/', '2', '1']])
  })
})
