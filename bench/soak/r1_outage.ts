/*
|--------------------------------------------------------------------------
| R1: Redis outage under load
|--------------------------------------------------------------------------
|
| The demo app serves a fixed request rate; its Redis (owned by this run)
| is stopped for `outageMs` and started again with its data (SHUTDOWN SAVE,
| then a start that loads the dump, so the views written before the outage
| are still there and every view can be accounted for).
|
*/

import { setTimeout as sleep } from 'node:timers/promises'
import { formatNumber, percentile, type Report } from './checks.ts'
import { Load, type Sample } from './load.ts'
import { DemoApp, SoakRedis, appEnv } from './processes.ts'
import { settledTotal } from './redis_counts.ts'

const S = 'R1'
const MB = 1024 * 1024

/** Sizes of R1 */
export interface OutageOptions {
  rate: number
  warmupMs: number
  beforeMs: number
  outageMs: number
  afterMs: number
}

export async function redisOutage(report: Report, options: OutageOptions) {
  const redis = await new SoakRedis().start()
  let app: DemoApp | undefined
  const probe = redis.client()
  try {
    app = await DemoApp.start(appEnv({ db: 'sqlite', redisPort: redis.port }))
    const load = new Load({ port: app.port, rate: options.rate }).start()
    const t0 = performance.now()
    await sleep(options.warmupMs)
    app.startSampling(100)
    const tUp = performance.now()
    await sleep(options.beforeMs)
    const rssBefore = app.stopSampling()

    app.startSampling(100)
    const tDown = performance.now()
    await redis.stop(true)
    const downAt = performance.now()
    await sleep(Math.max(0, options.outageMs - (downAt - tDown)))
    await redis.start()
    const tBack = performance.now()
    const rssOutage = app.stopSampling()

    app.startSampling(100)
    await sleep(options.afterMs)
    await load.stop()
    const tEnd = performance.now()
    const rssAfter = app.stopSampling()

    const samples = load.samples
    const inWindow = (from: number, to: number) =>
      samples.filter((sample) => sample.at >= from && sample.at < to)
    const up = inWindow(tUp, tDown)
    const down = inWindow(tDown, tBack)
    const recovered = inWindow(tBack, tEnd)
    const failed = samples.filter((sample) => sample.status !== 200)
    const answered = samples.filter((sample) => sample.status === 200).length
    const latency = (list: Sample[]) =>
      percentile(
        list.map((sample) => sample.ms),
        99
      )
    const p99Up = latency(up)
    const p99Down = latency(down)
    /*
     * The goal compares the median of the p99s of half-second windows: a
     * stall of another process on this shared machine spoils a window, not
     * the phase
     */
    const perSecond = (list: Sample[]) => {
      const buckets = new Map<number, Sample[]>()
      for (const sample of list) {
        const second = Math.floor(sample.at / 500)
        buckets.set(second, [...(buckets.get(second) ?? []), sample])
      }
      return percentile([...buckets.values()].map(latency), 50)
    }
    const steadyUp = perSecond([...up, ...recovered])
    const steadyDown = perSecond(down)
    const ratio = steadyDown / steadyUp

    report.figure(
      S,
      'load',
      `${options.rate} req/s open loop, ${formatNumber(samples.length)} requests`
    )
    report.figure(
      S,
      'outage',
      `${formatNumber((tBack - tDown) / 1000)} s (Redis stopped ${formatNumber(tDown - t0)} ms after the start)`
    )
    const retried = samples.filter((sample) => sample.retried).length
    report.figure(
      S,
      'requests sent twice (the app closed an idle keep-alive connection as the client reused it)',
      retried
    )
    report.check(
      S,
      'failed responses',
      failed.length === 0,
      `${failed.length} of ${formatNumber(samples.length)}${failed.length ? ` (first: ${failed[0].status} ${failed[0].error ?? ''})` : ''}`,
      '0'
    )
    report.figure(
      S,
      'p99 latency Redis up (before the outage)',
      `${formatNumber(p99Up)} ms (${formatNumber(up.length)} requests)`
    )
    report.figure(
      S,
      'p99 latency after Redis is back (the buffered views are sent)',
      `${formatNumber(latency(recovered))} ms (${formatNumber(recovered.length)} requests)`
    )
    report.figure(
      S,
      'p99 latency Redis down',
      `${formatNumber(p99Down)} ms (${formatNumber(down.length)} requests)`
    )
    report.figure(
      S,
      'p50 latency up / down',
      `${formatNumber(
        percentile(
          up.map((s) => s.ms),
          50
        )
      )} ms / ${formatNumber(
        percentile(
          down.map((s) => s.ms),
          50
        )
      )} ms`
    )
    report.figure(
      S,
      'median p99 of half-second windows, Redis up (before and after) / down',
      `${formatNumber(steadyUp)} ms / ${formatNumber(steadyDown)} ms`
    )
    report.timingCheck(
      S,
      'p99 down / up (median of half-second windows)',
      ratio <= 1.2,
      formatNumber(ratio),
      '<= 1.2'
    )

    const peak = (list: number[]) => Math.max(0, ...list)
    const before = peak(rssBefore)
    const during = peak(rssOutage)
    const after = peak(rssAfter)
    report.figure(
      S,
      'app RSS peak before / during / after the outage',
      `${formatNumber(before / MB)} / ${formatNumber(during / MB)} / ${formatNumber(after / MB)} MB`
    )
    /* bounded: the outage may not grow the app by more than the buffer bound costs (a few MB) */
    report.check(
      S,
      'app memory bounded during the outage',
      during - before <= 32 * MB,
      `+${formatNumber((during - before) / MB)} MB`,
      '<= +32 MB over the peak before'
    )

    const dropped = app.droppedViews()
    const stored = await settledTotal(probe, answered - dropped)
    report.figure(S, 'views dropped by the bounded buffer (logged)', dropped)
    if (dropped === 0) {
      report.note(
        S,
        'At this rate the write buffer stayed below its bound (bufferMaxEntries, 10,000 day+path and visitor entries), so nothing was dropped; dropping the oldest entries beyond the bound is covered by tests/unit/write_buffer.spec.ts.'
      )
    }
    report.check(
      S,
      'views counted after recovery',
      stored === answered - dropped,
      `${formatNumber(stored)} of ${formatNumber(answered)} answered 200`,
      'all (minus logged drops)'
    )
    await report.cleanExit(S, app)
  } finally {
    probe.disconnect()
    await app?.stop('SIGKILL')
    await redis.destroy()
  }
}
