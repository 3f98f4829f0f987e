import { writeFileSync } from 'node:fs'

/**
 * The totals a check script (bin/e2e.ts, bin/browser_test.ts,
 * bench/soak.ts --quick) reports to bin/test_all.ts, in the shape of the
 * Japa summary that bin/test.ts writes: one check is one test.
 */
export interface CheckSummary {
  total: number
  passed: number
  failed: number
  skipped: number
  todo: number
  regression: boolean
  hasError: boolean
  failedTestsTitles: string[]
}

/**
 * Writes the totals to the file named by TRACKING_TEST_SUMMARY, when set
 */
export function writeCheckSummary(passed: number, failedTitles: string[]) {
  const target = process.env.TRACKING_TEST_SUMMARY
  if (!target) return
  const summary: CheckSummary = {
    total: passed + failedTitles.length,
    passed,
    failed: failedTitles.length,
    skipped: 0,
    todo: 0,
    regression: false,
    hasError: failedTitles.length > 0,
    failedTestsTitles: failedTitles,
  }
  writeFileSync(target, JSON.stringify(summary))
}
