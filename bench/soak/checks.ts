/*
|--------------------------------------------------------------------------
| Checks and figures of the soak run
|--------------------------------------------------------------------------
|
| Every check is one "test" of the CI summary (TRACKING_TEST_SUMMARY); the
| figures are what docs/reliability.md shows per scenario.
|
*/

import { writeFileSync } from 'node:fs'

/** One goal checked by a scenario */
export interface CheckResult {
  scenario: string
  name: string
  ok: boolean
  /** what was measured, e.g. "0 of 12,000" */
  value: string
  /** what was required, e.g. "0" or "<= 1.2" */
  goal: string
}

/** One measured figure (no goal attached) */
export interface Figure {
  scenario: string
  name: string
  value: string
}

/**
 * Collects checks and figures, prints each one as it is recorded
 */
export class Report {
  readonly checks: CheckResult[] = []
  readonly figures: Figure[] = []
  readonly notes = new Map<string, string[]>()

  /**
   * @param options.timingGoals false (quick mode, CI): latency goals are
   *   printed as figures, not checks. Timings on a shared CI machine are
   *   noise; the full run judges them.
   */
  constructor(readonly options: { timingGoals: boolean } = { timingGoals: true }) {}

  /** Records a check and prints it at once */
  check(scenario: string, name: string, ok: boolean, value: string, goal: string): boolean {
    this.checks.push({ scenario, name, ok, value, goal })
    const mark = ok ? 'ok    ' : 'FAILED'
    console.log(`${mark} ${scenario} ${name}: ${value} (goal ${goal})`)
    return ok
  }

  /**
   * A goal on a timing: a check in the full run, a figure in quick mode
   */
  timingCheck(scenario: string, name: string, ok: boolean, value: string, goal: string) {
    if (this.options.timingGoals) return this.check(scenario, name, ok, value, goal)
    this.figure(scenario, name, `${value} (goal ${goal}, judged by the full run)`)
    return true
  }

  /** Records a figure and prints it */
  figure(scenario: string, name: string, value: string | number) {
    const text = typeof value === 'number' ? formatNumber(value) : value
    this.figures.push({ scenario, name, value: text })
    console.log(`       ${scenario} ${name}: ${text}`)
  }

  /** A remark shown under the scenario in docs/reliability.md */
  note(scenario: string, text: string) {
    const list = this.notes.get(scenario) ?? []
    list.push(text)
    this.notes.set(scenario, list)
    console.log(`       ${scenario} note: ${text.split('\n')[0]}`)
  }

  /** SIGTERMs the app and checks that it exits 0 */
  async cleanExit(
    scenario: string,
    app: { stop(): Promise<{ code: number | null; signal: string | null }> }
  ) {
    const exit = await app.stop()
    return this.check(
      scenario,
      'app exits cleanly on SIGTERM',
      exit.code === 0,
      `exit ${exit.code ?? exit.signal}`,
      'exit 0'
    )
  }

  /** A scenario that crashed counts as one failed check */
  crashed(scenario: string, error: unknown) {
    const message = error instanceof Error ? error.message : String(error)
    this.check(scenario, 'scenario ran to the end', false, message.split('\n')[0], 'no error')
    if (error instanceof Error && error.stack) console.error(error.stack)
  }

  get failed(): CheckResult[] {
    return this.checks.filter((check) => !check.ok)
  }

  /**
   * The CI summary format ({"total","passed","failed",...}), one test per check
   */
  writeSummary(file: string, hasError: boolean) {
    const failed = this.failed
    const summary = {
      total: this.checks.length,
      passed: this.checks.length - failed.length,
      failed: failed.length,
      skipped: 0,
      todo: 0,
      regression: false,
      hasError: hasError || failed.length > 0,
      failedTestsTitles: failed.map((check) => `${check.scenario} ${check.name}`),
    }
    writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`)
  }
}

/** 12345.678 -> "12,346"; small values keep 2 decimals */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value)
  if (Number.isInteger(value)) return value.toLocaleString('en-US')
  return value.toLocaleString('en-US', { maximumFractionDigits: Math.abs(value) < 100 ? 2 : 0 })
}

/** Percentile (0..100) of a list of numbers, nearest rank */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]
}
