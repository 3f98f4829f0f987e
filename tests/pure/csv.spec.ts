/*
|--------------------------------------------------------------------------
| CSV export cells (src/http/csv.ts): pure, no app, Redis or SQL
|--------------------------------------------------------------------------
*/

import { test } from '@japa/runner'
import { toCsv } from '../../src/http/csv.ts'

test.group('toCsv', () => {
  test('writes a header and rows as RFC 4180 CSV with CRLF line ends', ({ assert }) => {
    assert.equal(
      toCsv(
        ['path', 'views'],
        [
          ['/', 3],
          ['/about', 12],
        ]
      ),
      'path,views\r\n/,3\r\n/about,12\r\n'
    )
  })

  test('quotes a cell holding a comma, a quote or a line break', ({ assert }) => {
    assert.equal(
      toCsv(['path'], [['/a,b'], ['/say "hi"'], ['/line\nbreak']]),
      'path\r\n"/a,b"\r\n"/say ""hi"""\r\n"/line\nbreak"\r\n'
    )
  })

  test('a text cell a spreadsheet would run as a formula gets a leading apostrophe', ({
    assert,
  }) => {
    const formulas = [
      '=cmd()',
      '+1+1',
      '-2+3',
      '@SUM(A1)',
      '\tx',
      '\uFF1Dcmd()',
      '\uFF0B1',
      '\uFF20x',
    ]
    const csv = toCsv(
      ['path'],
      formulas.map((cell) => [cell])
    )
    const cells = csv.split('\r\n').slice(1, -1)
    assert.lengthOf(cells, formulas.length)
    cells.forEach((cell, index) => {
      assert.isTrue(
        cell.replace(/^"/, '').startsWith(`'`),
        `${JSON.stringify(formulas[index])} -> ${cell}`
      )
      assert.include(cell, formulas[index])
    })
  })

  test('a plain path and a negative number stay as they are', ({ assert }) => {
    assert.equal(toCsv(['path', 'delta'], [['/posts/=1', -3]]), 'path,delta\r\n/posts/=1,-3\r\n')
  })
})
