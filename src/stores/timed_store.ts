import { E_TRACKING_STORE_TIMEOUT } from '../errors.ts'

/** Settles like `work`, or rejects with E_TRACKING_STORE_TIMEOUT after `timeoutMs` */
export async function withinTimeout<T>(work: Promise<T>, call: string, timeoutMs: number) {
  let timer: NodeJS.Timeout | undefined
  /* the work may still settle after the timeout: its outcome is ignored then */
  work.catch(() => {})
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new E_TRACKING_STORE_TIMEOUT([call, timeoutMs])), timeoutMs)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

function isThenable(value: unknown): value is Promise<unknown> {
  return typeof (value as Promise<unknown> | null)?.then === 'function'
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function'
}

/** An async iterable whose every step settles within the timeout */
function timedIterable<T>(iterable: AsyncIterable<T>, call: string, timeoutMs: number) {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const iterator = iterable[Symbol.asyncIterator]()
      return {
        next: () => withinTimeout(iterator.next(), call, timeoutMs),
        return: async (value?: unknown) =>
          iterator.return
            ? withinTimeout(iterator.return(value), call, timeoutMs)
            : { done: true as const, value: value as T },
      }
    },
  }
}

/**
 * The store with a time limit on every call that waits for it: a method
 * answering a promise rejects with E_TRACKING_STORE_TIMEOUT when the store
 * has not answered within `timeoutMs`, and each step of an async iterable
 * (readTaken) too. A stalled Redis (a frozen host, a partition: the
 * connection stays open and nothing comes back, so ioredis waits forever)
 * then never holds the analytics page, a flush or a shutdown past it.
 * Methods and properties are those of the store itself (called on it, so
 * its private fields work), new methods included.
 */
export function withStoreTimeout<S extends object>(store: S, timeoutMs: number): S {
  const wrapped = new Map<PropertyKey, unknown>()
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property)
      if (typeof value !== 'function') return value
      let wrapper = wrapped.get(property)
      if (wrapper === undefined) {
        const call = `${String(property)}()`
        wrapper = (...args: unknown[]) => {
          const result: unknown = Reflect.apply(value, target, args)
          if (isThenable(result)) return withinTimeout(result, call, timeoutMs)
          if (isAsyncIterable(result)) return timedIterable(result, call, timeoutMs)
          return result
        }
        wrapped.set(property, wrapper)
      }
      return wrapper
    },
  })
}
