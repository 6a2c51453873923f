// Who fetched a tracking pixel or link: the client's IP truncated for privacy, and whether the
// fetch was a machine's (an image proxy prefetching mail, a security scanner) rather than a
// person's. Machine opens are flagged, not hidden: the flag lets a report tell them apart.
import { isIPv4, isIPv6 } from 'node:net';

/** IPv4 to its /24, IPv6 to its /48 (the network, not the household); anything else to null. */
export function truncateIp(ip: string | null | undefined): string | null {
  if (!ip) return null;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const v4 = mapped ? mapped[1] : ip;
  if (isIPv4(v4)) return v4.split('.').slice(0, 3).concat('0').join('.');
  if (!isIPv6(ip)) return null;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::')
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 3)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::`;
}

// User agents of image proxies and link scanners that fetch on the recipient's behalf.
const MACHINE_AGENTS = [
  /GoogleImageProxy/i, // Gmail's image proxy ("via ggpht.com GoogleImageProxy")
  /YahooMailProxy/i,
  /\bYahoo!? ?Mail\b.*\bProxy\b/i,
  /Microsoft Office\/.*\(Windows NT.*Microsoft Outlook.*\bprefetch/i,
  /\bms-office\b.*\bprefetch/i,
  /OutlookPrefetch|Outlook-iOS-Android.*prefetch/i,
  /BingPreview/i,
  /Barracuda|Mimecast|Proofpoint|Symantec|messagelabs|ZScaler|Trend ?Micro|Forcepoint|SafeLinks/i,
  /\b(?:bot|crawler|spider|preview|scanner|curl|wget|python-requests|go-http-client|java\/|libwww)\b/i,
];

export interface ClientFacts {
  userAgent: string | null;
  /** When the message was handed over, epoch ms (null: not known). */
  deliveredAt: number | null;
  at: number;
}

/** A fetch within this long after delivery is a receiving server's scan, not a reader. */
export const MACHINE_WINDOW_MS = 2000;

export function isMachineFetch(f: ClientFacts): boolean {
  if (!f.userAgent || f.userAgent.trim() === '') return true;
  if (MACHINE_AGENTS.some((re) => re.test(f.userAgent!))) return true;
  return f.deliveredAt !== null && f.at - f.deliveredAt >= 0 && f.at - f.deliveredAt < MACHINE_WINDOW_MS;
}
