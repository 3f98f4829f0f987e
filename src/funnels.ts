import { EVENT_PART_SEPARATOR } from './dimensions/names.ts'
import type { TrackingFunnelSettings, TrackingGoalSettings } from './types.ts'

/** Funnels a config may declare */
export const MAX_FUNNELS = 20
/** Steps of a funnel at most (a step reached is one digit of a visit's progress) */
export const MAX_FUNNEL_STEPS = 8

/**
 * The `funnel` dimension value of a funnel's step: `funnel<US>step<US>goal`
 * (step from 1). Its row counts the visits that reached the step (`views`)
 * and their visitors (the sketch), on the day the visit started. The goal's
 * name is part of it, so a funnel whose steps change reads no figures of
 * the old steps under the new ones.
 */
export function funnelStepValue(funnel: string, step: number, goal: string): string {
  return `${funnel}${EVENT_PART_SEPARATOR}${step}${EVENT_PART_SEPARATOR}${goal}`
}

/** A view's or an event's key lists never reach a goal of a funnel: one shared answer */
const NO_HITS: readonly number[] = Object.freeze([])

/**
 * What the write buffer needs to follow funnels. A counted view or event
 * reaches goals (its key list holds `goal:<pattern>` or `event:<name>`);
 * per visitor of a batch, the goals it reached in order are folded into a
 * *trail*: for each funnel and each step a visit may have reached before
 * the batch (0..k), the step it has reached after. A trail is a fixed-size
 * array whatever the number of views and events (at most 20 x 9 bytes), and
 * two trails compose (older, then newer). The store applies a trail to the
 * visitor's visit in progress (its progress is one digit per funnel in the
 * visit state) and counts each step newly reached on the visit's start day.
 * Built only when the config has funnels.
 */
export class FunnelPlan {
  /** per funnel: its steps as goal indexes, and the dimension value of each step */
  readonly funnels: ReadonlyArray<{ steps: readonly number[]; values: readonly string[] }>
  /** the step values per funnel, as a batch carries them to the store */
  readonly stepValues: ReadonlyArray<readonly string[]>
  /** the length of a trail: the sum of (steps + 1) */
  readonly width: number
  readonly #offsets: readonly number[]
  /** `goal:<pattern>` and `event:<name>` keys -> the goals (of funnels) they reach */
  readonly #goalsOfKey: ReadonlyMap<string, readonly number[]>
  /** key list -> the goals it reaches (sorted), NO_HITS for none */
  #hits = new WeakMap<readonly string[], readonly number[]>()
  readonly #identity: Uint8Array

  private constructor(
    funnels: readonly TrackingFunnelSettings[],
    goals: readonly TrackingGoalSettings[]
  ) {
    const index = new Map(goals.map((goal, i) => [goal.name, i]))
    this.funnels = funnels.map((funnel) => ({
      steps: funnel.steps.map((step) => index.get(step)!),
      values: funnel.steps.map((step, i) => funnelStepValue(funnel.name, i + 1, step)),
    }))
    this.stepValues = this.funnels.map((funnel) => funnel.values)
    const offsets: number[] = []
    let width = 0
    for (const funnel of this.funnels) {
      offsets.push(width)
      width += funnel.steps.length + 1
    }
    this.#offsets = offsets
    this.width = width
    const used = new Set(this.funnels.flatMap((funnel) => funnel.steps))
    const byKey = new Map<string, number[]>()
    for (const id of used) {
      const goal = goals[id]
      const key = goal.event !== null ? `event:${goal.event}` : `goal:${goal.path}`
      const list = byKey.get(key) ?? []
      list.push(id)
      byKey.set(key, list)
    }
    this.#goalsOfKey = new Map([...byKey].map(([key, ids]) => [key, Object.freeze(ids.sort())]))
    this.#identity = new Uint8Array(width)
    this.funnels.forEach((funnel, f) => {
      for (let p = 0; p <= funnel.steps.length; p++) this.#identity[offsets[f] + p] = p
    })
  }

  /** The plan of the settings' funnels, or null without funnels */
  static of(settings: {
    funnels: readonly TrackingFunnelSettings[]
    goals: readonly TrackingGoalSettings[]
  }): FunnelPlan | null {
    return settings.funnels.length === 0 ? null : new FunnelPlan(settings.funnels, settings.goals)
  }

  /**
   * The goals of funnels a view's or an event's key list reaches (sorted
   * goal indexes; empty for none), remembered per shared list
   */
  hitsOf(list: readonly string[]): readonly number[] {
    const known = this.#hits.get(list)
    if (known !== undefined) return known
    let hits: number[] | null = null
    for (const key of list) {
      const goals = this.#goalsOfKey.get(key)
      if (goals !== undefined) hits = hits === null ? [...goals] : [...new Set([...hits, ...goals])]
    }
    const out = hits === null ? NO_HITS : Object.freeze(hits.sort((a, b) => a - b))
    if (Object.isFrozen(list)) this.#hits.set(list, out)
    return out
  }

  /** A trail that reaches nothing: each start step stays where it is */
  identity(): Uint8Array {
    return this.#identity.slice()
  }

  /**
   * Folds one view or event that reached `hits` into a trail, in place: a
   * visit at step p of a funnel goes to p + 1 when the goal of step p + 1
   * is among the hits (one step per view or event and funnel)
   */
  advance(trail: Uint8Array, hits: readonly number[]): void {
    this.funnels.forEach((funnel, f) => {
      const offset = this.#offsets[f]
      const k = funnel.steps.length
      for (let p = 0; p <= k; p++) {
        const at = trail[offset + p]
        if (at < k && hits.includes(funnel.steps[at])) trail[offset + p] = at + 1
      }
    })
  }

  /** The trail of `older` followed by `newer` (into `older`, returned) */
  compose(older: Uint8Array, newer: Uint8Array): Uint8Array {
    this.funnels.forEach((funnel, f) => {
      const offset = this.#offsets[f]
      for (let p = 0; p <= funnel.steps.length; p++) {
        older[offset + p] = newer[offset + older[offset + p]]
      }
    })
    return older
  }

  /** A trail as the stores take it: one digit per (funnel, start step) */
  encode(trail: Uint8Array): string {
    return trail.join('')
  }
}

/**
 * Applies a trail to a visit's progress (one digit per funnel, '' for a
 * visit that reached nothing yet): the new progress and the steps newly
 * reached, as [funnel index, step index from 0]. WRITE_BATCH does the
 * same in Lua (keep them in step): a progress digit beyond a funnel's
 * steps (the config changed) counts as its last step, a missing one as 0.
 */
export function applyTrail(
  progress: string,
  trail: string,
  steps: ReadonlyArray<readonly string[]>
): { progress: string; reached: Array<[funnel: number, step: number]> } {
  const reached: Array<[number, number]> = []
  let out = ''
  let offset = 0
  steps.forEach((values, f) => {
    const k = values.length
    const before = Math.min(Number(progress[f] ?? 0) || 0, k)
    const after = Math.max(before, Number(trail[offset + before] ?? before) || 0)
    for (let step = before; step < after; step++) reached.push([f, step])
    out += String(after)
    offset += k + 1
  })
  return { progress: out, reached }
}
