/*
|--------------------------------------------------------------------------
| Funnels over HTTP: the JSON, the CSV dataset and the page's panel
|--------------------------------------------------------------------------
|
| The funnel step rows are written into the store as the write path leaves
| them (dimension `funnel`, one row per step: visits and their visitors),
| then read as a user sees them: `trackingFunnels` in the JSON, the
| `funnels` CSV dataset and the Funnels panel of the page (a bar per step,
| visitors, drop-off; no script), live and after a flush. Without funnels
| in the config the panel is not shown.
|
*/

import { randomUUID } from 'node:crypto'
import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { parse } from 'csv-parse/sync'
import { flushPageViews } from '../../src/flush.ts'
import { funnelStepValue } from '../../src/funnels.ts'
import type { TrackingManager } from '../../src/manager.ts'
import { loginAs, truncateTrackingTables, useTrackingManager } from '../helpers.ts'

const GOALS = [
  { name: 'Pricing', path: '/pricing' },
  { name: 'Signup', event: 'signup' },
  { name: 'Checkout', event: 'checkout' },
]
const FUNNELS = [
  { name: 'Purchase', steps: ['Pricing', 'Signup', 'Checkout'] },
  { name: 'Trial, then pay', steps: ['Signup', 'Checkout'] },
]

/** Writes funnel step rows of today: [funnel, step, goal, visits, visitors] */
async function writeSteps(
  manager: TrackingManager,
  steps: Array<[string, number, string, number, string[]]>
) {
  const day = manager.recorder.dayOf(Date.now())
  await manager.store.write({
    id: randomUUID(),
    days: new Map([
      [
        day,
        {
          views: new Map(),
          visitors: new Set<string>(),
          dimensions: new Map(
            steps.map(([funnel, step, goal, views, visitors]) => [
              `funnel:${funnelStepValue(funnel, step, goal)}`,
              { views, visitors: new Set(visitors) },
            ])
          ),
        },
      ],
    ]),
    minutes: new Map(),
  })
}

/** funnel -> [goal, visitors, visits, dropOff, conversionRate] per step, from the JSON */
function funnelFigures(json: any) {
  return Object.fromEntries(
    json.trackingFunnels.funnels.map((funnel: any) => [
      funnel.name,
      funnel.items.map((step: any) => [
        step.name,
        step.visitors,
        step.visits,
        step.dropOff,
        step.conversionRate,
      ]),
    ])
  )
}

/** The rows of a CSV answer, without its header */
function csvRows(text: string): string[][] {
  return (parse(text) as string[][]).slice(1)
}

test.group('Funnels | over HTTP', (group) => {
  group.each.setup(async () => {
    await truncateTrackingTables()
  })

  test('trackingFunnels in the JSON, the funnels CSV and the Funnels panel: 5 -> 3 -> 1, live and flushed', async ({
    client,
    assert,
    cleanup,
  }) => {
    const tracking = await useTrackingManager({ goals: GOALS, funnels: FUNNELS })
    cleanup(() => tracking.cleanup())
    await writeSteps(tracking.manager, [
      ['Purchase', 1, 'Pricing', 6, ['v1', 'v2', 'v3', 'v4', 'v5']],
      ['Purchase', 2, 'Signup', 3, ['v1', 'v2', 'v3']],
      ['Purchase', 3, 'Checkout', 1, ['v1']],
    ])

    const read = async () => {
      const json = await loginAs(client.get('/cabinet/tracking?format=json&days=1'), 'staff')
      json.assertStatus(200)
      const csv = await loginAs(
        client.get('/cabinet/tracking/export.csv?days=1&dataset=funnels'),
        'staff'
      )
      csv.assertStatus(200)
      return { json: json.body(), csv: csv.text(), type: csv.header('content-type') }
    }
    const live = await read()
    assert.deepEqual(funnelFigures(live.json), {
      'Purchase': [
        ['Pricing', 5, 6, null, 100],
        ['Signup', 3, 3, 40, 60],
        ['Checkout', 1, 1, 66.7, 20],
      ],
      'Trial, then pay': [
        ['Signup', 0, 0, null, 0],
        ['Checkout', 0, 0, 0, 0],
      ],
    })
    assert.deepInclude(live.json.trackingFunnels, {
      kind: 'funnels',
      key: 'trackingFunnels',
      title: 'Funnels',
    })
    assert.deepEqual(
      live.json.trackingFunnels.funnels[0].items.map((item: any) => [
        item.step,
        item.label,
        item.value,
        item.share,
      ]),
      [
        [1, 'Pricing', 5, 1],
        [2, 'Signup', 3, 0.6],
        [3, 'Checkout', 1, 0.2],
      ]
    )
    assert.match(live.type!, /^text\/csv/)
    assert.equal(
      live.csv.split('\r\n')[0],
      'funnel,step,goal,visitors,visits,drop_off,conversion_rate'
    )
    assert.deepEqual(csvRows(live.csv), [
      ['Purchase', '1', 'Pricing', '5', '6', '', '100'],
      ['Purchase', '2', 'Signup', '3', '3', '40', '60'],
      ['Purchase', '3', 'Checkout', '1', '1', '66.7', '20'],
      ['Trial, then pay', '1', 'Signup', '0', '0', '', '0'],
      ['Trial, then pay', '2', 'Checkout', '0', '0', '0', '0'],
    ])

    await flushPageViews(tracking.manager, db)
    const flushed = await read()
    assert.deepEqual(flushed, live)

    const page = await loginAs(client.get('/cabinet/tracking?days=1'), 'staff')
    page.assertStatus(200)
    const html = page.text()
    assert.include(html, 'id="trk-funnels"')
    assert.include(html, 'data-widget="trackingFunnels"')
    assert.include(html, 'data-widget="trackingFunnel1"')
    assert.include(html, '>Purchase</h3>')
    assert.include(html, '>Trial, then pay</h3>')
    assert.include(html, '20% of 5 visitors reached the last step')
    /* a bar per step: its width is the step's part of the first step's visitors */
    const purchase = html.slice(
      html.indexOf('data-widget="trackingFunnel1"'),
      html.indexOf('data-widget="trackingFunnel2"')
    )
    assert.deepEqual(
      [...purchase.matchAll(/style="width: ([^"]+)"/g)].map((match) => match[1]),
      ['100%', '60%', '20%']
    )
    assert.include(purchase, '1. Pricing')
    assert.include(purchase, '3 visitors')
    assert.include(purchase, '40% drop-off')
    assert.include(purchase, '66.7% drop-off')
    /* the first step has no drop-off */
    assert.lengthOf([...purchase.matchAll(/drop-off</g)], 2)
    /* the CSV is offered, and the page stays script-free */
    assert.include(html, 'dataset=funnels')
    assert.notInclude(html, '<script')
  })

  test('without funnels in the config the panel and its CSV link are not shown; the dataset is empty', async ({
    client,
    assert,
    cleanup,
  }) => {
    const tracking = await useTrackingManager({ goals: GOALS })
    cleanup(() => tracking.cleanup())
    const page = await loginAs(client.get('/cabinet/tracking?days=1'), 'staff')
    page.assertStatus(200)
    assert.include(page.text(), 'data-widget="trackingGoals"')
    assert.notInclude(page.text(), 'trk-funnels')
    assert.notInclude(page.text(), 'dataset=funnels')
    const json = await loginAs(client.get('/cabinet/tracking?format=json&days=1'), 'staff')
    assert.deepEqual(json.body().trackingFunnels.funnels, [])
    const csv = await loginAs(
      client.get('/cabinet/tracking/export.csv?days=1&dataset=funnels'),
      'staff'
    )
    csv.assertStatus(200)
    assert.equal(csv.text(), 'funnel,step,goal,visitors,visits,drop_off,conversion_rate\r\n')
  })

  test('the funnels dataset answers 403 to a user who may not read the analytics', async ({
    client,
    cleanup,
  }) => {
    const tracking = await useTrackingManager({ goals: GOALS, funnels: FUNNELS })
    cleanup(() => tracking.cleanup())
    const refused = await loginAs(
      client.get('/cabinet/tracking/export.csv?days=1&dataset=funnels'),
      'user'
    )
    refused.assertStatus(403)
  })
})
