/**
 * The channel table: how a view's source, referrer and `utm_medium` give its
 * channel. Documented in the README ("Sources and audience"); the rules are
 * tried in this order, the first that matches wins:
 *
 * 1. Direct: no referrer and no `utm_*`, `ref` or `source` parameter
 * 2. Email: `utm_medium` or the source says email / newsletter, or the
 *    referrer is a webmail (`mail.*`, `webmail.*`, Outlook on the web)
 * 3. Paid Social / Paid Search: a paid `utm_medium` (cpc, ppc, cpm, cpv,
 *    cpa, retargeting, paid*): Paid Social when the source is a social
 *    network or the medium names social, else Paid Search
 * 4. Organic Search: the source is a search engine, or `utm_medium=organic`
 * 5. Organic Social: the source is a social network, or `utm_medium` is
 *    social, social-network, social-media, sm or organic_social
 * 6. Referral: `utm_medium` is referral, app or link, or the view came from
 *    another site's link (or `ref` / `source`) without utm_medium or utm_campaign
 * 7. Campaign: anything else tagged with utm parameters
 */
export const CHANNELS = [
  'Direct',
  'Organic Search',
  'Paid Search',
  'Organic Social',
  'Paid Social',
  'Email',
  'Referral',
  'Campaign',
] as const

export type Channel = (typeof CHANNELS)[number]

/**
 * Search engines, by the registrable domain without its public suffix
 * (`google` for google.com, google.co.uk, google.de) or by a `utm_source`
 * written the same way
 */
export const SEARCH_ENGINES: ReadonlySet<string> = new Set([
  'google',
  'bing',
  'yahoo',
  'duckduckgo',
  'baidu',
  'yandex',
  'ecosia',
  'qwant',
  'startpage',
  'brave',
  'naver',
  'seznam',
  'ask',
  'aol',
  'sogou',
  'so',
  'kagi',
  'yep',
  'mojeek',
  'daum',
  'msn',
  'search',
])

/** Social networks, written as SEARCH_ENGINES are (`t` is t.co and t.me, `x` is x.com) */
export const SOCIAL_NETWORKS: ReadonlySet<string> = new Set([
  'facebook',
  'fb',
  'instagram',
  'ig',
  'twitter',
  't',
  'x',
  'linkedin',
  'lnkd',
  'reddit',
  'youtube',
  'youtu',
  'tiktok',
  'pinterest',
  'snapchat',
  'tumblr',
  'mastodon',
  'threads',
  'bsky',
  'bluesky',
  'discord',
  'telegram',
  'whatsapp',
  'vk',
  'weibo',
  'quora',
  'meetup',
])

const EMAIL = /e[-_ ]?mail|newsletter/
const PAID = /^(?:.*cp.*|ppc|retargeting|paid.*)$/
const SOCIAL_MEDIUMS: ReadonlySet<string> = new Set([
  'social',
  'social-network',
  'social_network',
  'social-media',
  'social_media',
  'social network',
  'social media',
  'sm',
  'organic_social',
  'organic-social',
])
const REFERRAL_MEDIUMS: ReadonlySet<string> = new Set(['referral', 'app', 'link'])
/** webmail hosts whose registrable domain is also a search engine's or a portal's */
const WEBMAIL = /^(?:mail|webmail)\.|^outlook\.(?:live|office|office365)\.com$/

/** What the channel of a view is decided from */
export interface ChannelInput {
  /** the registrable domain without its suffix, or the lowercased source parameter */
  name: string | null
  /** a Referer header came (from another site) */
  referred: boolean
  /** the referrer's host name, when it has one */
  host: string | null
  /** the lowercased utm_medium */
  medium: string | null
  /** a utm_source, utm_campaign, utm_term or utm_content parameter came */
  tagged: boolean
  /** a `ref` or `source` parameter gave the source */
  refParam: boolean
}

/** The channel of a view (see the table above) */
export function channelOf(input: ChannelInput): Channel {
  const { name, host, medium } = input
  if (!input.referred && name === null && medium === null && !input.tagged) return 'Direct'
  if (
    (medium !== null && EMAIL.test(medium)) ||
    (name !== null && EMAIL.test(name)) ||
    (host !== null && WEBMAIL.test(host))
  ) {
    return 'Email'
  }
  const social = name !== null && SOCIAL_NETWORKS.has(name)
  if (medium !== null && PAID.test(medium)) {
    return social || medium.includes('social') ? 'Paid Social' : 'Paid Search'
  }
  if ((name !== null && SEARCH_ENGINES.has(name)) || medium === 'organic') return 'Organic Search'
  if (social || (medium !== null && SOCIAL_MEDIUMS.has(medium))) return 'Organic Social'
  if (medium !== null && REFERRAL_MEDIUMS.has(medium)) return 'Referral'
  if (medium === null && !input.tagged && (input.referred || input.refParam)) {
    return 'Referral'
  }
  return 'Campaign'
}
