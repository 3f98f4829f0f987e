import { dimensionKey } from './dimensions/names.ts'
import { BoundedCache } from './dimensions/values.ts'
import type { TrackingGoalSettings } from './types.ts'

/** Goals a config may declare (each path goal is one `goal` value a day: far below the value cap) */
export const MAX_GOALS = 100
/** Longest goal name (it is a label: the goal's rows are keyed by its event or path) */
export const MAX_GOAL_NAME_LENGTH = 100
/** Longest path pattern of a goal */
export const MAX_GOAL_PATH_LENGTH = 300

/** Distinct paths whose matching goals are remembered */
const PATH_CACHE_SIZE = 4096
/** Key lists of a view combined with goal keys, per list of the view (see withGoals) */
const COMBINED_PER_LIST = 64
const NO_KEYS: readonly string[] = Object.freeze([])

/**
 * A path pattern as a regular expression: `*` matches any run of
 * characters, `/` included, or none (`/docs/*` matches `/docs/` and
 * `/docs/a/b`, not `/docs`); everything else matches itself, and the
 * whole path must match.
 */
export function compileGoalPath(pattern: string): RegExp {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*')
  return new RegExp(`^${source}$`, 's')
}

/**
 * Counts path goals at record time: a counted view whose path matches a
 * goal's pattern also carries the key `goal:<pattern>`, so the goal gets
 * the view's count and its visitor through the dimension pipeline (write
 * buffer, batch script, cap, flush). The goals matching a path are
 * remembered per path (bounded), and the combined key list per key list
 * of the view, so the write buffer still counts shared lists by identity.
 * Built only when the config has path goals: without, record() does nothing
 * more than a null check.
 */
export class PathGoals {
  readonly #goals: ReadonlyArray<{ key: string; matcher: RegExp }>
  #byPath = new BoundedCache<readonly string[]>(PATH_CACHE_SIZE)
  /**
   * One array per set of goals reached: every path of `/docs/*` gets the
   * same one, so the combined lists below are shared by all of them (a new
   * array per path would make a new list, and a new buffer entry, per path)
   */
  #sets = new Map<string, readonly string[]>()
  /** view key list -> goal keys -> the view's list with the goal keys (frozen, shared) */
  #combined = new WeakMap<readonly string[], Map<readonly string[], readonly string[]>>()

  constructor(goals: readonly TrackingGoalSettings[]) {
    const patterns = [...new Set(goals.flatMap((goal) => (goal.path === null ? [] : [goal.path])))]
    this.#goals = patterns.map((pattern) => ({
      key: dimensionKey('goal', pattern),
      matcher: compileGoalPath(pattern),
    }))
  }

  /** The `goal:<pattern>` keys of the goals a path reaches (one per distinct pattern) */
  keysOf(path: string): readonly string[] {
    const known = this.#byPath.get(path)
    if (known !== undefined) return known
    const keys: string[] = []
    for (const goal of this.#goals) if (goal.matcher.test(path)) keys.push(goal.key)
    if (keys.length === 0) return this.#byPath.set(path, NO_KEYS)
    const id = keys.join('\n')
    let set = this.#sets.get(id)
    if (set === undefined) {
      /* at most as many sets as paths remembered */
      if (this.#sets.size >= PATH_CACHE_SIZE) this.#sets.clear()
      this.#sets.set(id, (set = Object.freeze(keys)))
    }
    return this.#byPath.set(path, set)
  }

  /**
   * The key list of a view of `path`: the view's own list (null when every
   * dimension is off) with the keys of the goals the path reaches; the
   * list itself when it reaches none
   */
  withGoals(path: string, keys: readonly string[] | null): readonly string[] | null {
    const goals = this.keysOf(path)
    if (goals.length === 0) return keys
    if (keys === null || keys.length === 0) return goals
    /* a list not shared (given by a caller, junk) makes a list that is not shared either */
    if (!Object.isFrozen(keys)) return Object.freeze([...keys, ...goals])
    let byGoals = this.#combined.get(keys)
    if (byGoals === undefined) this.#combined.set(keys, (byGoals = new Map()))
    const known = byGoals.get(goals)
    if (known !== undefined) return known
    const combined = Object.freeze([...keys, ...goals])
    if (byGoals.size >= COMBINED_PER_LIST) byGoals.clear()
    byGoals.set(goals, combined)
    return combined
  }
}
