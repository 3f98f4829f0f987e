import type { AnalyticsRange, WidgetData } from '../widgets/types.ts'
import { DashboardRegistry, type DashboardWidgetRef } from './dashboard.ts'

/** A value, or a function computing it when the cabinet is rendered */
export type Lazy<T> = T | (() => T | Promise<T>)

/**
 * Who a cabinet entry or dashboard widget is meant for; the host's guard
 * decides who that is. Staff see everything; users see what is not marked
 * 'staff'.
 */
export type CabinetAudience = 'staff' | 'user'

/** A link of the cabinet's topbar or sidebar */
export interface CabinetEntry {
  /** stable key, e.g. "tracking.analytics" */
  key: string
  label: string
  url: string
  /** who sees it (default: everyone who sees the cabinet space) */
  audience?: CabinetAudience
}

/** What a module contributes to the cabinet */
export interface CabinetDeclaration {
  /** the module name, e.g. "tracking"; declaring it again replaces it */
  module: string
  /** the cabinet area the module belongs to, e.g. "staff" */
  space?: string
  topbar?: Lazy<CabinetEntry[]>
  sidebar?: Lazy<CabinetEntry[]>
  dashboardWidgets?: Lazy<DashboardWidgetRef[]>
}

/** An entry with the module and space that declared it */
export type ResolvedCabinetEntry = CabinetEntry & { module: string; space: string | null }

/** Which declarations to resolve */
export interface CabinetFilter {
  space?: string
  /**
   * Who the page is rendered for: 'user' leaves out the entries and
   * dashboard widgets marked 'staff'. None given: no filter, for a page the
   * host's own guard already restricted (e.g. its staff cabinet layout).
   */
  audience?: CabinetAudience
}

/** True when an entry or widget meant for `meantFor` may be shown to `audience` */
function visibleTo(audience: CabinetAudience | undefined, meantFor: CabinetAudience | undefined) {
  return !(audience === 'user' && meantFor === 'staff')
}

async function resolveLazy<T>(value: Lazy<T> | undefined, fallback: T): Promise<T> {
  if (value === undefined) return fallback
  return typeof value === 'function' ? await (value as () => T | Promise<T>)() : value
}

/**
 * A small cabinet registry: modules declare their topbar entries, sidebar
 * items and dashboard widgets; host pages resolve them when they render.
 * Declarations may hold functions, so nothing is read (settings included)
 * before a page asks.
 */
export class Cabinet {
  readonly #declarations = new Map<string, CabinetDeclaration>()
  /** The dashboard providers and their cached results */
  readonly dashboard: DashboardRegistry

  constructor(options: { dashboard?: DashboardRegistry } = {}) {
    this.dashboard = options.dashboard ?? new DashboardRegistry()
  }

  /** Adds (or replaces) a module's contributions */
  declare(declaration: CabinetDeclaration): this {
    if (!declaration.module) throw new Error('A cabinet declaration needs a module name')
    this.#declarations.set(declaration.module, declaration)
    return this
  }

  /** The declared modules, in declaration order */
  modules(): string[] {
    return [...this.#declarations.keys()]
  }

  declaration(module: string): CabinetDeclaration | undefined {
    return this.#declarations.get(module)
  }

  #matching(filter: CabinetFilter): CabinetDeclaration[] {
    return [...this.#declarations.values()].filter(
      (declaration) => filter.space === undefined || declaration.space === filter.space
    )
  }

  async #entries(
    field: 'topbar' | 'sidebar',
    filter: CabinetFilter
  ): Promise<ResolvedCabinetEntry[]> {
    const out: ResolvedCabinetEntry[] = []
    for (const declaration of this.#matching(filter)) {
      for (const entry of await resolveLazy(declaration[field], [])) {
        if (!visibleTo(filter.audience, entry.audience)) continue
        out.push({ ...entry, module: declaration.module, space: declaration.space ?? null })
      }
    }
    return out
  }

  /** Topbar entries of the declared modules */
  topbar(filter: CabinetFilter = {}): Promise<ResolvedCabinetEntry[]> {
    return this.#entries('topbar', filter)
  }

  /** Sidebar items of the declared modules; `audience: 'user'` leaves staff items out */
  sidebar(filter: CabinetFilter = {}): Promise<ResolvedCabinetEntry[]> {
    return this.#entries('sidebar', filter)
  }

  /**
   * The widget references the declared modules put on the dashboard, in
   * order; `audience: 'user'` leaves staff widgets out
   */
  async dashboardWidgetRefs(filter: CabinetFilter = {}): Promise<DashboardWidgetRef[]> {
    const out: DashboardWidgetRef[] = []
    for (const declaration of this.#matching(filter)) {
      for (const ref of await resolveLazy(declaration.dashboardWidgets, [])) {
        if (visibleTo(filter.audience, ref.audience)) out.push(ref)
      }
    }
    return out
  }

  /**
   * The dashboard widgets' payloads for a range (default: each provider's),
   * from the providers' caches when fresh. Widgets the audience may not see
   * are never computed.
   */
  async dashboardWidgets(
    filter: CabinetFilter & { range?: AnalyticsRange } = {}
  ): Promise<WidgetData[]> {
    return this.dashboard.widgets(await this.dashboardWidgetRefs(filter), filter.range)
  }
}
