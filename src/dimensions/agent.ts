import UAParser from 'ua-parser-js'
import { cleanValue } from './values.ts'

/** What the user agent (and its low-entropy client hints) says */
export interface AgentInfo {
  browser: string
  browserVersion: string
  os: string
  osVersion: string
  device: 'desktop' | 'mobile' | 'tablet' | 'other'
}

const UNKNOWN = 'Unknown'

/** ua-parser-js names, as shown (also what imports map other tools' names through) */
export const BROWSER_NAMES: Readonly<Record<string, string>> = {
  'Mobile Safari': 'Safari',
  'Mobile Firefox': 'Firefox',
  'Mobile Chrome': 'Chrome',
  'Chrome Mobile': 'Chrome',
}

/** OS names as shown, whatever the parser or the platform hint says */
export const OS_NAMES: Readonly<Record<string, string>> = {
  'Mac OS': 'macOS',
  'macOS': 'macOS',
  'Chromium OS': 'ChromeOS',
  'Chrome OS': 'ChromeOS',
}

/** Operating systems of desktop computers: no device type from the parser there is `desktop` */
const DESKTOP_OS: ReadonlySet<string> = new Set([
  'Windows',
  'macOS',
  'Linux',
  'ChromeOS',
  'Ubuntu',
  'Debian',
  'Fedora',
  'Arch',
  'Mint',
  'openSUSE',
  'Gentoo',
  'Manjaro',
  'CentOS',
  'RedHat',
  'FreeBSD',
  'OpenBSD',
  'NetBSD',
  'Solaris',
])

/** The value of a structured-header string (`"Windows"`), cleaned */
function hintString(raw: string | undefined): string | null {
  if (raw === undefined) return null
  const value = cleanValue(raw.replaceAll('"', ''))
  return value === '' ? null : value
}

/**
 * Browser, OS and device of a user agent (ua-parser-js 1.x, MIT), with the
 * low-entropy client hints when present: `Sec-CH-UA-Mobile: ?1` is a mobile
 * phone, `Sec-CH-UA-Platform` names the OS (its version is kept only when it
 * agrees with the user agent). Every value is cleaned; nothing throws.
 */
export function parseAgent(
  userAgent: string,
  mobileHint?: string,
  platformHint?: string
): AgentInfo {
  let result: UAParser.IResult
  try {
    result = UAParser(userAgent)
  } catch {
    result = UAParser('')
  }
  const rawBrowser = result.browser.name ? cleanValue(result.browser.name) : ''
  const browser = rawBrowser === '' ? UNKNOWN : (BROWSER_NAMES[rawBrowser] ?? rawBrowser)
  const major = result.browser.major ? cleanValue(result.browser.major) : ''
  const rawOs = result.os.name ? cleanValue(result.os.name) : ''
  let os = rawOs === '' ? UNKNOWN : (OS_NAMES[rawOs] ?? rawOs)
  let osVersion = result.os.version ? cleanValue(result.os.version) : ''

  const platform = hintString(platformHint)
  if (platform !== null) {
    const hinted = OS_NAMES[platform] ?? platform
    if (hinted !== os) {
      os = hinted
      osVersion = ''
    }
  }

  const type = result.device.type
  let device: AgentInfo['device']
  if (mobileHint === '?1') device = 'mobile'
  else if (type === 'mobile' || type === 'tablet') device = type
  else if (type !== undefined) device = 'other'
  else device = DESKTOP_OS.has(os) || browser !== UNKNOWN ? 'desktop' : 'other'

  return {
    browser,
    browserVersion:
      browser !== UNKNOWN && major !== '' ? cleanValue(`${browser} ${major}`) : browser,
    os,
    osVersion: os !== UNKNOWN && osVersion !== '' ? cleanValue(`${os} ${osVersion}`) : os,
    device,
  }
}
