/*
|--------------------------------------------------------------------------
| KPI figures as the page shows them (src/http/view_helpers.ts): pure
|--------------------------------------------------------------------------
*/

import { test } from '@japa/runner'
import { trackingUi } from '../../src/http/view_helpers.ts'

test.group('trackingUi | KPI figures', () => {
  test('durations read as seconds, minutes and seconds, or hours and minutes', ({ assert }) => {
    assert.deepEqual(
      [0, 45, 59.6, 60, 65, 120, 264, 3599, 3600, 3900, 90_000].map(trackingUi.duration),
      [
        '0s',
        '45s',
        '1m 0s',
        '1m 0s',
        '1m 5s',
        '2m 0s',
        '4m 24s',
        '59m 59s',
        '1h 0m',
        '1h 5m',
        '25h 0m',
      ]
    )
    assert.equal(trackingUi.duration(-5), '0s')
    assert.equal(trackingUi.duration('n/a'), 'n/a')
  })

  test('percentages keep one decimal', ({ assert }) => {
    assert.deepEqual([60, 33.3, 0, 100, 12.25].map(trackingUi.percent), [
      '60%',
      '33.3%',
      '0%',
      '100%',
      '12.3%',
    ])
    assert.equal(trackingUi.percent(null), '')
  })

  test("a KPI's format comes from the prop, else its key, else a number", ({ assert }) => {
    assert.equal(trackingUi.metric({ key: 'trackingBounceRate' }, 60), '60%')
    assert.equal(trackingUi.metric({ key: 'trackingVisitDuration' }, 120), '2m 0s')
    assert.equal(trackingUi.metric({ key: 'trackingVisits' }, 1234), '1,234')
    assert.equal(trackingUi.metric({ key: 'trackingVisits' }, 90, 'duration'), '1m 30s')
    assert.equal(trackingUi.metric({ key: 'trackingBounceRate' }, 60, 'number'), '60')
    assert.equal(trackingUi.metric(null, 7), '7')
  })
})
