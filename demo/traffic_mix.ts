/**
 * A realistic mix of browser requests, shared by the demo's sample traffic
 * (demo/sample_traffic.ts) and the HTTP benchmarks (bench/http.ts,
 * bench/fresh_app.ts): user agents of Chrome, Firefox, Safari and Edge
 * across versions, operating systems and devices (with the low-entropy
 * client hints Chromium sends), referrers (search engines, social
 * networks, forums, blogs, the app's own host), UTM campaigns,
 * Accept-Language values and a CF-IPCountry-style country header.
 *
 * Everything is deterministic: a seeded PRNG picks the values.
 */

/** A PRNG of 32-bit state (mulberry32): the same seed gives the same sequence */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** One of the values, by weight */
export function pickWeighted<T>(random: () => number, items: ReadonlyArray<readonly [T, number]>) {
  let total = 0
  for (const [, weight] of items) total += weight
  let roll = random() * total
  for (const [item, weight] of items) {
    roll -= weight
    if (roll < 0) return item
  }
  return items[items.length - 1][0]
}

/** One of the values, uniformly */
export function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]
}

export type Device = 'desktop' | 'mobile' | 'tablet'

/** A browser as it introduces itself */
export interface BrowserAgent {
  userAgent: string
  /** Sec-CH-UA-Mobile and Sec-CH-UA-Platform (Chromium browsers only) */
  hints: Record<string, string>
  browser: 'Chrome' | 'Firefox' | 'Safari' | 'Edge'
  os: 'Windows' | 'macOS' | 'Linux' | 'iOS' | 'Android'
  device: Device
}

const CHROME_VERSIONS = [124, 125, 126, 127, 128, 129, 130, 131]
const EDGE_VERSIONS = [126, 128, 129, 130, 131]
const FIREFOX_VERSIONS = [115, 127, 128, 129, 130, 131, 132]
const SAFARI_MAC_VERSIONS = ['16.6', '17.4.1', '17.5', '17.6', '18.0', '18.1']
const IOS_VERSIONS = ['16_7_10', '17_4_1', '17_5_1', '17_6_1', '18_0_1', '18_1']
const ANDROID_PHONES = [
  ['14', 'SM-S918B'],
  ['14', 'Pixel 8'],
  ['13', 'SM-A536B'],
  ['13', 'Redmi Note 12'],
  ['12', 'moto g(60)'],
  ['14', 'K'],
]
const ANDROID_TABLETS = [
  ['13', 'SM-X700'],
  ['14', 'Pixel Tablet'],
  ['12', 'Lenovo TB-J606F'],
]
const MAC = 'Macintosh; Intel Mac OS X 10_15_7'
const LINUX_DESKTOPS = [
  'X11; Linux x86_64',
  'X11; Ubuntu; Linux x86_64',
  'X11; Fedora; Linux x86_64',
]
const WINDOWS = 'Windows NT 10.0; Win64; x64'

function hints(mobile: boolean, platform: string) {
  return { 'sec-ch-ua-mobile': mobile ? '?1' : '?0', 'sec-ch-ua-platform': `"${platform}"` }
}

function chromium(version: number, platform: string, edge: boolean, mobile = false) {
  const tail = edge ? ` Edg${mobile ? 'A' : ''}/${version}.0.0.0` : ''
  return `Mozilla/5.0 (${platform}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${version}.0.0.0 ${mobile ? 'Mobile ' : ''}Safari/537.36${tail}`
}

/**
 * Every user agent of the mix (a few hundred, all distinct), with the
 * browser, OS and device a parser should find in it
 */
export function browserAgents(): BrowserAgent[] {
  const agents: BrowserAgent[] = []
  const add = (agent: BrowserAgent) => agents.push(agent)
  for (const v of CHROME_VERSIONS) {
    add({
      userAgent: chromium(v, WINDOWS, false),
      hints: hints(false, 'Windows'),
      browser: 'Chrome',
      os: 'Windows',
      device: 'desktop',
    })
    add({
      userAgent: chromium(v, MAC, false),
      hints: hints(false, 'macOS'),
      browser: 'Chrome',
      os: 'macOS',
      device: 'desktop',
    })
    for (const linux of LINUX_DESKTOPS.slice(0, 2)) {
      add({
        userAgent: chromium(v, linux, false),
        hints: hints(false, 'Linux'),
        browser: 'Chrome',
        os: 'Linux',
        device: 'desktop',
      })
    }
    for (const [android, model] of ANDROID_PHONES) {
      add({
        userAgent: chromium(v, `Linux; Android ${android}; ${model}`, false, true),
        hints: hints(true, 'Android'),
        browser: 'Chrome',
        os: 'Android',
        device: 'mobile',
      })
    }
    for (const [android, model] of ANDROID_TABLETS) {
      add({
        userAgent: chromium(v, `Linux; Android ${android}; ${model}`, false),
        hints: hints(false, 'Android'),
        browser: 'Chrome',
        os: 'Android',
        device: 'tablet',
      })
    }
    for (const ios of IOS_VERSIONS.slice(2)) {
      add({
        userAgent: `Mozilla/5.0 (iPhone; CPU iPhone OS ${ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/${v}.0.6778.73 Mobile/15E148 Safari/604.1`,
        hints: {},
        browser: 'Chrome',
        os: 'iOS',
        device: 'mobile',
      })
    }
  }
  for (const v of EDGE_VERSIONS) {
    add({
      userAgent: chromium(v, WINDOWS, true),
      hints: hints(false, 'Windows'),
      browser: 'Edge',
      os: 'Windows',
      device: 'desktop',
    })
    add({
      userAgent: chromium(v, MAC, true),
      hints: hints(false, 'macOS'),
      browser: 'Edge',
      os: 'macOS',
      device: 'desktop',
    })
    add({
      userAgent: chromium(v, `Linux; Android 14; ${ANDROID_PHONES[0][1]}`, true, true),
      hints: hints(true, 'Android'),
      browser: 'Edge',
      os: 'Android',
      device: 'mobile',
    })
  }
  for (const v of FIREFOX_VERSIONS) {
    add({
      userAgent: `Mozilla/5.0 (${WINDOWS}; rv:${v}.0) Gecko/20100101 Firefox/${v}.0`,
      hints: {},
      browser: 'Firefox',
      os: 'Windows',
      device: 'desktop',
    })
    add({
      userAgent: `Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:${v}.0) Gecko/20100101 Firefox/${v}.0`,
      hints: {},
      browser: 'Firefox',
      os: 'macOS',
      device: 'desktop',
    })
    for (const linux of LINUX_DESKTOPS) {
      add({
        userAgent: `Mozilla/5.0 (${linux}; rv:${v}.0) Gecko/20100101 Firefox/${v}.0`,
        hints: {},
        browser: 'Firefox',
        os: 'Linux',
        device: 'desktop',
      })
    }
    for (const android of ['13', '14']) {
      add({
        userAgent: `Mozilla/5.0 (Android ${android}; Mobile; rv:${v}.0) Gecko/${v}.0 Firefox/${v}.0`,
        hints: {},
        browser: 'Firefox',
        os: 'Android',
        device: 'mobile',
      })
    }
  }
  for (const version of SAFARI_MAC_VERSIONS) {
    add({
      userAgent: `Mozilla/5.0 (${MAC}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${version} Safari/605.1.15`,
      hints: {},
      browser: 'Safari',
      os: 'macOS',
      device: 'desktop',
    })
  }
  for (const ios of IOS_VERSIONS) {
    const version = ios.split('_').slice(0, 2).join('.')
    add({
      userAgent: `Mozilla/5.0 (iPhone; CPU iPhone OS ${ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${version} Mobile/15E148 Safari/604.1`,
      hints: {},
      browser: 'Safari',
      os: 'iOS',
      device: 'mobile',
    })
    add({
      userAgent: `Mozilla/5.0 (iPad; CPU OS ${ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${version} Mobile/15E148 Safari/604.1`,
      hints: {},
      browser: 'Safari',
      os: 'iOS',
      device: 'tablet',
    })
  }
  return agents
}

/** How often each device comes up in the sample (of visitors) */
export const DEVICE_SHARE: ReadonlyArray<readonly [Device, number]> = [
  ['desktop', 56],
  ['mobile', 38],
  ['tablet', 6],
]

/** The own host of a referrer that is internal navigation */
export const OWN_HOST = 'OWN_HOST'

/**
 * 50 referrers: search engines, social networks, forums, blogs and 4 of
 * the app's own pages (`OWN_HOST` stands for the app's origin)
 */
export const REFERRERS: readonly string[] = [
  'https://www.google.com/search?q=adonisjs+analytics',
  'https://www.google.com/',
  'https://www.google.de/',
  'https://www.google.co.uk/',
  'https://www.google.fr/',
  'https://www.google.co.in/',
  'https://www.google.com.br/',
  'https://www.bing.com/search?q=adonis+tracking',
  'https://www.bing.com/',
  'https://duckduckgo.com/',
  'https://html.duckduckgo.com/html/?q=adonisjs',
  'https://search.yahoo.com/search?p=adonisjs',
  'https://yandex.ru/search/?text=adonisjs',
  'https://www.ecosia.org/search?q=adonisjs',
  'https://search.brave.com/search?q=adonisjs',
  'https://www.baidu.com/s?wd=adonisjs',
  'https://news.ycombinator.com/item?id=41234567',
  'https://news.ycombinator.com/',
  'https://github.com/adonisjs/core/discussions/4512',
  'https://github.com/',
  'https://github.com/topics/analytics',
  'https://www.reddit.com/r/node/comments/1gq2x7k/cookieless_analytics/',
  'https://old.reddit.com/r/javascript/',
  'https://www.reddit.com/',
  'https://t.co/Ab3dE5fG7h',
  'https://twitter.com/',
  'https://x.com/',
  'https://www.linkedin.com/feed/',
  'https://lnkd.in/dXyZ12a',
  'https://www.facebook.com/',
  'https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.com',
  'https://m.facebook.com/',
  'https://www.instagram.com/',
  'https://www.youtube.com/',
  'https://mastodon.social/@adonis',
  'https://bsky.app/',
  'https://lobste.rs/s/abc123/cookieless_analytics',
  'https://dev.to/someone/self-hosted-analytics-for-adonisjs-4k2m',
  'https://medium.com/@someone/analytics-without-cookies-1a2b3c',
  'https://stackoverflow.com/questions/78123456/adonisjs-page-views',
  'https://www.producthunt.com/',
  'https://blog.example.org/2024/11/server-side-analytics',
  'https://jamesblog.dev/posts/adonis-7',
  'https://newsletter.example.com/issues/42',
  'https://discord.com/',
  'https://chatgpt.com/',
  `${OWN_HOST}/`,
  `${OWN_HOST}/about`,
  `${OWN_HOST}/posts/1`,
  `${OWN_HOST}/posts/2`,
]

/** UTM campaigns (source, medium, campaign, term, content; empty = left out) */
export const CAMPAIGNS: ReadonlyArray<readonly [string, string, string, string, string]> = [
  ['newsletter', 'email', 'launch', '', 'header-link'],
  ['newsletter', 'email', 'november-digest', '', 'footer-link'],
  ['google', 'cpc', 'brand', 'adonis analytics', 'ad-a'],
  ['google', 'cpc', 'brand', 'cookieless analytics', 'ad-b'],
  ['twitter', 'social', 'launch', '', 'thread'],
  ['github', 'referral', 'readme', '', 'badge'],
  ['reddit', 'paid-social', 'dev-audience', '', 'promoted-post'],
]

/** The query string of a campaign */
export function campaignQuery(campaign: (typeof CAMPAIGNS)[number]): string {
  const names = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content']
  return campaign
    .map((value, i) => (value ? `${names[i]}=${encodeURIComponent(value)}` : ''))
    .filter(Boolean)
    .join('&')
}

/** Accept-Language values by weight */
export const LANGUAGES: ReadonlyArray<readonly [string, number]> = [
  ['en-US,en;q=0.9', 34],
  ['en-GB,en;q=0.9', 8],
  ['de-DE,de;q=0.9,en;q=0.8', 12],
  ['fr-FR,fr;q=0.9', 9],
  ['es-ES,es;q=0.9,en;q=0.8', 6],
  ['pt-BR,pt;q=0.9,en;q=0.8', 5],
  ['ja-JP,ja;q=0.9', 4],
  ['zh-CN,zh;q=0.9', 4],
  ['nl-NL,nl;q=0.9,en;q=0.8', 3],
  ['it-IT,it;q=0.9', 3],
  ['pl-PL,pl;q=0.9', 2],
  ['ru-RU,ru;q=0.9', 2],
  ['hi-IN,hi;q=0.9,en;q=0.8', 2],
  ['ko-KR,ko;q=0.9', 2],
  ['sv-SE,sv;q=0.9', 1],
]

/** The country a language's visitors mostly come from (CF-IPCountry), else one of the rest */
export const COUNTRIES: Readonly<Record<string, readonly string[]>> = {
  en: ['US', 'US', 'US', 'GB', 'CA', 'AU', 'IE', 'NZ', 'IN', 'SG'],
  de: ['DE', 'DE', 'DE', 'AT', 'CH'],
  fr: ['FR', 'FR', 'FR', 'BE', 'CA', 'CH'],
  es: ['ES', 'ES', 'MX', 'AR', 'CO'],
  pt: ['BR', 'BR', 'BR', 'PT'],
  ja: ['JP'],
  zh: ['CN', 'TW', 'SG'],
  nl: ['NL', 'NL', 'BE'],
  it: ['IT'],
  pl: ['PL'],
  ru: ['RU', 'UA', 'KZ'],
  hi: ['IN'],
  ko: ['KR'],
  sv: ['SE'],
}

/** The header the demo names in `countryHeader` (config/tracking.ts) */
export const COUNTRY_HEADER = 'cf-ipcountry'

/** What the benchmark mix is made of (printed in docs/benchmarks.md) */
export function mixDescription(
  requests: ReadonlyArray<{ headers: Record<string, string>; path: string }>
) {
  const agents = new Set(requests.map((r) => r.headers['user-agent']))
  const referrers = new Set(requests.map((r) => r.headers['referer']).filter(Boolean))
  const utm = requests.filter((r) => r.path.includes('utm_')).length
  return `${requests.length} requests in turn, ${agents.size} distinct user agents (Chrome, Firefox, Safari, Edge across versions on Windows, macOS, Linux, iOS and Android; desktop, mobile and tablet; Sec-CH-UA-Mobile/Platform with the Chromium ones), ${referrers.size} referrers (search engines, social networks, forums, blogs, the app's own pages) on ${Math.round((100 * requests.filter((r) => r.headers['referer']).length) / requests.length)} % of requests, UTM parameters on ${Math.round((100 * utm) / requests.length)} %, Accept-Language (${LANGUAGES.length} languages) and \`CF-IPCountry\` on every request`
}

/**
 * The benchmark's request list for autocannon: `count` browser requests
 * over the paths in turn, each a distinct user agent of the mix (as many as
 * there are), a referrer on 4 of 5 (the 50 in turn), UTM parameters on
 * every 10th, Accept-Language and the country header.
 */
export function mixedRequests(
  paths: readonly string[],
  options: { count?: number; origin?: string; seed?: number } = {}
) {
  const random = seededRandom(options.seed ?? 14)
  const agents = browserAgents()
  const count = options.count ?? Math.max(400, agents.length)
  const origin = options.origin ?? 'http://127.0.0.1'
  let referrer = 0
  return Array.from({ length: count }, (_, i) => {
    const agent = agents[i % agents.length]
    const language = pickWeighted(random, LANGUAGES)
    const headers: Record<string, string> = {
      'user-agent': agent.userAgent,
      ...agent.hints,
      'accept-language': language,
      [COUNTRY_HEADER]: pick(random, COUNTRIES[language.slice(0, 2)]),
    }
    if (i % 5 !== 4) {
      headers['referer'] = REFERRERS[referrer++ % REFERRERS.length].replace(OWN_HOST, origin)
    }
    let path = paths[i % paths.length]
    if (i % 10 === 3) path += `?${campaignQuery(CAMPAIGNS[((i / 10) % CAMPAIGNS.length) | 0])}`
    return { method: 'GET', path, headers }
  })
}
