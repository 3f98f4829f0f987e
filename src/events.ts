import type { HttpContext } from '@adonisjs/core/http'
import {
  dimensionKey,
  eventPageValue,
  eventPropValue,
  MAX_EVENT_NAME_LENGTH,
  MAX_EVENT_PATH_LENGTH,
  MAX_EVENT_PROPS,
  MAX_PROP_LENGTH,
} from './dimensions/names.ts'
import { cleanText } from './dimensions/values.ts'
import { normalizePath, stripTrailingSlash, type TrackingRecorder } from './recorder.ts'
import type { TrackingSettings } from './types.ts'
import type { WriteBuffer } from './write_buffer.ts'

/** At most one warning a minute about bad event input (the rest are counted into it) */
const REPORT_INTERVAL_MS = 60_000
/** Distinct (name, props, path) combinations whose key list is remembered */
const LIST_CACHE_SIZE = 2000
/** Longest cache key remembered (longer inputs are read, not remembered) */
const MAX_CACHE_KEY = 1000

/** The props of an event: string, number and boolean values are kept, other types dropped */
export type TrackingEventProps = Record<string, unknown>

/** An event recorded without a request (a job, a webhook): `tracking.recordEvent()` */
export interface TrackingEventInput {
  /** The event's name, 1 to 120 characters (longer ones are cut) */
  name: string
  /** Who did it: the same id as the visitor of their views (a user id); none: a count without visitor */
  visitor?: string | number | null
  /** The page it relates to (stored without query string, at most 200 characters) */
  path?: string | null
  /** At most 10 props; keys and values at most 100 characters */
  props?: TrackingEventProps | null
  /** When it happened (default now): decides the day */
  at?: Date | number
}

/** Where bad input is reported (the app's logger) */
interface EventLogger {
  warn(message: string): void
}

/** The path of an event_page value: at most MAX_EVENT_PATH_LENGTH, never half a character or escape */
function eventPath(path: string): string {
  if (path.length <= MAX_EVENT_PATH_LENGTH) return path
  let end = MAX_EVENT_PATH_LENGTH
  const last = path.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end--
  return path.slice(0, end).replace(/%[0-9a-fA-F]?$/, '')
}

/**
 * Turns events from server code into key lists of the dimension pipeline
 * (src/dimensions/names.ts): `event:<name>`, one `event_prop` per prop
 * and `event_page` for the page. The write buffer counts a list as one
 * entry with its visitor (WriteBuffer.addEvent), so events get the batch
 * script, the per-day cap with `(other)`, the TTLs and the exactly-once
 * flush of the dimensions; a row's `views` counts completions.
 *
 * Input is cut to the limits, never refused for its size: a name to 120
 * characters, keys and values to 100, the first 10 props; numbers and
 * booleans are written as text, other values dropped. What was cut or
 * dropped is logged, at most once a minute. A list is remembered per
 * (name, props, path), so a repeated event costs one lookup.
 */
export class EventRecorder {
  readonly #settings: TrackingSettings
  readonly #recorder: TrackingRecorder
  readonly #buffer: WriteBuffer
  readonly #logger?: EventLogger
  readonly #now: () => number
  #lists = new Map<string, readonly string[]>()
  #lastReport = Number.NEGATIVE_INFINITY
  #unreported = 0

  constructor(
    settings: TrackingSettings,
    recorder: TrackingRecorder,
    buffer: WriteBuffer,
    options: { logger?: EventLogger; now?: () => number } = {}
  ) {
    this.#settings = settings
    this.#recorder = recorder
    this.#buffer = buffer
    this.#logger = options.logger
    this.#now = options.now ?? Date.now
  }

  /**
   * Counts an event of a request for the request's visitor, when the
   * request's visitor would be counted (see TrackingRecorder.recordEvent).
   * Never throws: bad input is cut, or refused and logged (at most once a
   * minute). True when it was counted.
   */
  event(ctx: HttpContext, name: string, props?: TrackingEventProps | null): boolean {
    try {
      if (!this.#settings.enabled) return false
      const keys = this.#keys(name, props, this.#recorder.eventPath(ctx))
      return this.#recorder.recordEvent(ctx, keys)
    } catch (error) {
      this.#report((error as Error)?.message ?? String(error))
      return false
    }
  }

  /**
   * Counts an event with no request (a job, a webhook): for `visitor`
   * when given, on the day of `at` (default now). Input beyond the limits
   * is cut and logged; a missing name, props that are not an object or a
   * visitor of another type throw a TypeError. False when tracking is off.
   */
  record(input: TrackingEventInput): boolean {
    if (typeof input !== 'object' || input === null) {
      throw new TypeError('tracking.recordEvent() expects { name, visitor?, path?, props?, at? }')
    }
    if (!this.#settings.enabled) return false
    const { visitor, path, at } = input
    let id: string | null = null
    if (typeof visitor === 'number' && Number.isFinite(visitor)) id = String(visitor)
    else if (typeof visitor === 'string') id = visitor === '' ? null : visitor
    else if (visitor !== undefined && visitor !== null) {
      throw new TypeError(
        `tracking.recordEvent(): visitor must be a string or a number (got ${typeof visitor})`
      )
    }
    let page: string | null = null
    if (typeof path === 'string') {
      page = normalizePath(path)
      if (this.#settings.trailingSlash === 'strip') page = stripTrailingSlash(page)
    } else if (path !== undefined && path !== null) {
      throw new TypeError(`tracking.recordEvent(): path must be a string (got ${typeof path})`)
    }
    const when = at === undefined ? this.#now() : at instanceof Date ? at.getTime() : at
    if (typeof when !== 'number' || !Number.isFinite(when)) {
      throw new TypeError('tracking.recordEvent(): at must be a Date or epoch milliseconds')
    }
    const keys = this.#keys(input.name, input.props, page)
    this.#buffer.addEvent(this.#recorder.dayOf(when), id, null, keys, when)
    return true
  }

  /**
   * The key list of an event: remembered per input when the input is
   * within the limits (nothing to cut or report), else built and reported
   */
  #keys(name: unknown, props: unknown, path: string | null): readonly string[] {
    if (typeof name !== 'string') {
      throw new TypeError(`the event name must be a string (got ${describe(name)})`)
    }
    if (
      props !== undefined &&
      props !== null &&
      (typeof props !== 'object' || Array.isArray(props))
    ) {
      throw new TypeError(
        `the props of event "${name.slice(0, 40)}" must be an object of strings, numbers and booleans (got ${describe(props)})`
      )
    }
    /* length-prefixed parts: two different inputs never make one key */
    let cacheKey: string | null =
      name.length <= MAX_EVENT_NAME_LENGTH ? `${path ?? ''}\u0000${name.length}:${name}` : null
    let count = 0
    if (props && cacheKey !== null) {
      const record = props as Record<string, unknown>
      for (const key in record) {
        const value = record[key]
        const type = typeof value
        /* a value to convert or drop, or a prop beyond the limit: reported, so not remembered */
        if (
          ++count > MAX_EVENT_PROPS ||
          (type !== 'string' && type !== 'number' && type !== 'boolean')
        ) {
          cacheKey = null
          break
        }
        const text = type === 'string' ? (value as string) : String(value)
        cacheKey += `${key.length}:${key}${type[0]}${text.length}:${text}`
      }
    }
    if (cacheKey !== null && cacheKey.length <= MAX_CACHE_KEY) {
      const known = this.#lists.get(cacheKey)
      if (known !== undefined) return known
    }
    const [keys, problems] = this.#build(name, props as Record<string, unknown> | null, path)
    if (problems.length > 0) this.#report(`event "${name.slice(0, 40)}": ${problems.join('; ')}`)
    else if (cacheKey !== null && cacheKey.length <= MAX_CACHE_KEY) {
      if (this.#lists.size >= LIST_CACHE_SIZE) this.#lists.clear()
      this.#lists.set(cacheKey, keys)
    }
    return keys
  }

  /** The frozen key list of an event, and what was cut or dropped on the way */
  #build(
    rawName: string,
    props: Record<string, unknown> | null | undefined,
    path: string | null
  ): [keys: readonly string[], problems: string[]] {
    const problems: string[] = []
    const name = cleanText(rawName, MAX_EVENT_NAME_LENGTH)
    if (name === '') throw new TypeError('the event name is empty')
    if (rawName.length > MAX_EVENT_NAME_LENGTH) {
      problems.push(`name of ${rawName.length} characters cut to ${MAX_EVENT_NAME_LENGTH}`)
    }
    const keys = [dimensionKey('event', name)]
    if (path !== null) keys.push(dimensionKey('event_page', eventPageValue(name, eventPath(path))))
    if (props) {
      const seen = new Set<string>()
      let dropped = 0
      for (const rawKey of Object.keys(props)) {
        const raw = props[rawKey]
        let text: string
        if (typeof raw === 'string') text = raw
        else if (typeof raw === 'boolean') text = raw ? 'true' : 'false'
        else if (typeof raw === 'number' && Number.isFinite(raw)) text = String(raw)
        else {
          problems.push(
            `prop "${rawKey.slice(0, 40)}" dropped (${describe(raw)} values are not kept)`
          )
          continue
        }
        const key = cleanText(rawKey, MAX_PROP_LENGTH)
        const value = cleanText(text, MAX_PROP_LENGTH)
        if (key === '' || value === '' || seen.has(key)) {
          problems.push(`prop "${rawKey.slice(0, 40)}" dropped (empty or repeated)`)
          continue
        }
        if (seen.size >= MAX_EVENT_PROPS) {
          dropped++
          continue
        }
        if (rawKey.length > MAX_PROP_LENGTH || text.length > MAX_PROP_LENGTH) {
          problems.push(`prop "${key.slice(0, 40)}" cut to ${MAX_PROP_LENGTH} characters`)
        }
        seen.add(key)
        keys.push(dimensionKey('event_prop', eventPropValue(name, key, value)))
      }
      if (dropped > 0) {
        problems.push(`${dropped} props beyond the first ${MAX_EVENT_PROPS} dropped`)
      }
    }
    return [Object.freeze(keys), problems]
  }

  /** Logs bad input at most once a minute, with the number of reports held back */
  #report(message: string): void {
    const now = Date.now()
    if (now - this.#lastReport < REPORT_INTERVAL_MS) {
      this.#unreported++
      return
    }
    const more = this.#unreported > 0 ? ` (and ${this.#unreported} more in the last minute)` : ''
    this.#lastReport = now
    this.#unreported = 0
    const text = `[tracking] ${message}${more}`
    if (this.#logger) this.#logger.warn(text)
    else console.warn(text)
  }
}

/** The type of a bad value, for a message */
function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return 'non-finite number'
  return typeof value
}
