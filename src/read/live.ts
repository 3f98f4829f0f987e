import { sqlPath, TRACKING_TABLES } from '../tables.ts'
import type { TakenFlush } from '../stores/types.ts'
import type { AnalyticsRange } from '../widgets/types.ts'
import { IN_CHUNK } from './sql.ts'
import type { LiveDays, LiveIndex, ReadScope } from './types.ts'

/** Whether a path is under one of the current skip prefixes */
export function isSkipped(scope: ReadScope, path: string): boolean {
  const prefixes = scope.settings.skipPrefixes
  for (let i = 0; i < prefixes.length; i++) if (path.startsWith(prefixes[i])) return true
  return false
}

/**
 * Which days have live counts, and which taken-aside counts SQL has not
 * committed (a flush id absent from tracking_flushes). A flush that
 * commits between this read and the next ones may be seen twice or not
 * at all for that one read; the next read is right again.
 */
export async function liveIndex(scope: ReadScope): Promise<LiveIndex> {
  const [pending, taken] = await Promise.all([
    scope.store.pendingDays(),
    scope.store.takenFlushes(),
  ])
  let uncommitted: TakenFlush[] = []
  if (taken.length > 0) {
    const committed = new Set<string>()
    const ids = taken.map((flush) => flush.flushId)
    for (let start = 0; start < ids.length; start += IN_CHUNK) {
      const rows = await scope.client
        .from(TRACKING_TABLES.flushes)
        .whereIn('flush_id', ids.slice(start, start + IN_CHUNK))
        .select('flush_id')
      for (const row of rows) committed.add(String(row.flush_id))
    }
    uncommitted = taken.filter((flush) => !committed.has(flush.flushId))
  }
  return { pendingDays: new Set(pending), uncommitted }
}

/** Every path is stored as it is, not skipped, with a count */
function keptAsIs(scope: ReadScope, counts: Map<string, number>): boolean {
  for (const [path, views] of counts) {
    if (!Number.isFinite(views) || views === 0) return false
    if (sqlPath(path) !== path || isSkipped(scope, path)) return false
  }
  return true
}

/** Live counts of the days of a range, paths as SQL stores them, skipped paths removed */
export async function liveDays(
  scope: ReadScope,
  range: AnalyticsRange,
  index: LiveIndex
): Promise<LiveDays> {
  const { store } = scope
  const out: LiveDays = new Map()
  const inRange = (day: string) => day >= range.from && day <= range.to
  const add = (day: string, path: string, views: number) => {
    if (!Number.isFinite(views) || views === 0) return
    const stored = sqlPath(path)
    if (isSkipped(scope, stored)) return
    let map = out.get(day)
    if (!map) out.set(day, (map = new Map()))
    map.set(stored, (map.get(stored) ?? 0) + views)
  }
  const days = [...index.pendingDays].filter(inRange)
  const taken = index.uncommitted.filter((flush) => inRange(flush.day))
  const [hashes] = await Promise.all([
    Promise.all(days.map((day) => store.getDaily(day))),
    Promise.all(
      taken.map(async (flush) => {
        for await (const chunk of store.readTaken(flush.flushId, 1000)) {
          for (const [path, views] of chunk) add(flush.day, path, Number(views))
        }
      })
    ),
  ])
  days.forEach((day, i) => {
    const hash = hashes[i]
    /* usually every live path is kept as SQL stores it: the store's (fresh) map serves as it is */
    if (!out.has(day) && hash.size > 0 && keptAsIs(scope, hash)) out.set(day, hash)
    else for (const [path, views] of hash) add(day, path, views)
  })
  return out
}

/** Live views per path over the days of a range, optionally filtered by a search (read only) */
export function livePaths(live: LiveDays, search = ''): ReadonlyMap<string, number> {
  /* usually today alone is live: its map serves as it is */
  if (search === '' && live.size === 1) return live.values().next().value!
  const needle = search.toLowerCase()
  const out = new Map<string, number>()
  for (const paths of live.values()) {
    for (const [path, views] of paths) {
      if (needle !== '' && !path.toLowerCase().includes(needle)) continue
      out.set(path, (out.get(path) ?? 0) + views)
    }
  }
  return out
}
