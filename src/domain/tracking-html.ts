// Tracking applied to a message's rendered HTML: a 1×1 pixel before </body> (open tracking) and
// every http(s) link rewritten to a signed /t/c/ link (click tracking). Unsubscribe and other
// links to Posthorn's own pages, mailto: and links marked data-no-track stay as they are.
//
// Start tags are found by a scanner that honours quoted attribute values (a ">" inside quotes does
// not end the tag), and attributes are read one by one, so case, quoting style and attribute order
// do not matter. Comments are copied untouched, except Outlook's conditional comments whose content
// is HTML the client renders.
import { escapeHtml } from './html-escape.ts';
import { MAX_TRACKED_URL_BYTES, signTrackingToken, verifyTrackingToken } from './tracking-tokens.ts';

export interface TrackingOptions {
  secret: string;
  publicUrl: string; // no trailing slash
  messageId: string;
  accountId: string;
  open: boolean;
  click: boolean;
}

export interface TrackingPlan {
  pixelUrl: string | null;
  /** The tracked link for the index-th tracked URL in the message. */
  linkUrl: ((url: string, index: number) => string) | null;
  /** Links that must keep their URL (our own pages: unsubscribe, preferences, …). */
  keep: (url: string) => boolean;
}

const TAG = /<(!--[\s\S]*?--|(?:a|area)(?=[\s>/])(?:[^>"']|"[^"]*"|'[^']*')*)>/gi;
const LINK_TAG = /<((?:a|area)(?=[\s>/])(?:[^>"']|"[^"]*"|'[^']*')*)>/gi;
const ATTR = /([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** Character references in an attribute value, decoded (what the browser would follow). */
export function decodeAttribute(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);?/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[ref.toLowerCase()] ?? whole;
  });
}

function rewriteTag(tag: string, plan: TrackingPlan, next: () => number): string {
  // tag is the inside of "<…>" without the brackets, starting with the tag name.
  const nameEnd = tag.search(/[\s/]/);
  if (nameEnd < 0) return `<${tag}>`;
  const attrs = tag.slice(nameEnd);
  let href: { start: number; end: number; value: string } | null = null;
  let noTrack = false;
  ATTR.lastIndex = 0;
  for (let m = ATTR.exec(attrs); m; m = ATTR.exec(attrs)) {
    const name = m[1].toLowerCase();
    if (name === 'data-no-track' || name === 'data-notrack') noTrack = true;
    if (name === 'href' && href === null && m[0].includes('='))
      href = { start: m.index, end: m.index + m[0].length, value: m[2] ?? m[3] ?? m[4] ?? '' };
  }
  if (!href || noTrack || !plan.linkUrl) return `<${tag}>`;
  const url = decodeAttribute(href.value).trim();
  if (!/^https?:\/\/[^\s]/i.test(url) || plan.keep(url) || Buffer.byteLength(url) > MAX_TRACKED_URL_BYTES)
    return `<${tag}>`;
  const tracked = plan.linkUrl(url, next());
  return `<${tag.slice(0, nameEnd)}${attrs.slice(0, href.start)}href="${escapeHtml(tracked)}"${attrs.slice(href.end)}>`;
}

/** Rewrites links and inserts the pixel according to the plan. */
export function rewriteHtml(html: string, plan: TrackingPlan): string {
  let index = 0;
  let out = html;
  if (plan.linkUrl) {
    const next = () => index++;
    out = out.replace(TAG, (whole, inner: string) => {
      if (inner.startsWith('!--')) {
        // <!--[if mso]> … <![endif]--> holds markup Outlook shows: its links are links too.
        return /^!--\[if /i.test(inner) ? whole.replace(LINK_TAG, (_w, t: string) => rewriteTag(t, plan, next)) : whole;
      }
      return rewriteTag(inner, plan, next);
    });
  }
  if (plan.pixelUrl) {
    const pixel =
      `<img src="${escapeHtml(plan.pixelUrl)}" width="1" height="1" alt="" ` +
      `style="display:block;width:1px;height:1px;border:0;margin:0;padding:0">`;
    const at = out.search(/<\/body\s*>(?![\s\S]*<\/body\s*>)/i);
    out = at >= 0 ? out.slice(0, at) + pixel + out.slice(at) : out + pixel;
  }
  return out;
}

/** Open and click tracking for one message, with signed tokens under the installation's public URL. */
export function applyTracking(html: string, o: TrackingOptions): string {
  if (!o.open && !o.click) return html;
  const own = `${o.publicUrl}/`;
  const ids = { messageId: o.messageId, accountId: o.accountId };
  const plan: TrackingPlan = {
    pixelUrl: o.open ? `${o.publicUrl}/t/o/${signTrackingToken(o.secret, { kind: 'open', ...ids })}` : null,
    linkUrl: o.click
      ? (url, linkIndex) =>
          `${o.publicUrl}/t/c/${signTrackingToken(o.secret, { kind: 'click', ...ids, linkIndex, url })}`
      : null,
    // Posthorn's own pages (unsubscribe, preferences, web view, confirm) and already tracked links.
    keep: (url) =>
      url.toLowerCase().startsWith(own.toLowerCase() + 'p/') || url.toLowerCase().startsWith(own.toLowerCase() + 't/'),
  };
  return rewriteHtml(html, plan);
}

const IMG_TAG = /<img(?=[\s>/])(?:[^>"']|"[^"]*"|'[^']*')*>/gi;

/** The value of one attribute of a start tag (the inside of "<…>"), decoded; null when absent. */
function attributeOf(tag: string, wanted: string): { start: number; end: number; value: string } | null {
  const nameEnd = tag.search(/[\s/]/);
  if (nameEnd < 0) return null;
  const attrs = tag.slice(nameEnd);
  ATTR.lastIndex = 0;
  for (let m = ATTR.exec(attrs); m; m = ATTR.exec(attrs)) {
    if (m[1].toLowerCase() === wanted && m[0].includes('='))
      return {
        start: nameEnd + m.index,
        end: nameEnd + m.index + m[0].length,
        value: decodeAttribute(m[2] ?? m[3] ?? m[4] ?? '').trim(),
      };
  }
  return null;
}

/**
 * The reverse of applyTracking, for showing a captured message to its sender (the dashboard's
 * inbox): the open pixel is removed and every tracked link points at its destination again, so
 * that looking at the message records no open and no click. Only tokens that verify under this
 * installation's secret, for this account, are touched; everything else stays as it was.
 */
export function removeTracking(html: string, o: { secret: string; publicUrl: string; accountId: string }): string {
  const base = `${o.publicUrl}/t/`.toLowerCase();
  const payload = (url: string, kind: 'open' | 'click') => {
    if (!url.toLowerCase().startsWith(`${base}${kind === 'open' ? 'o' : 'c'}/`)) return null;
    const token = url.slice(base.length + 2).split(/[?#]/)[0];
    const p = verifyTrackingToken(o.secret, token, kind);
    return p && p.accountId === o.accountId ? p : null;
  };
  const withoutPixel = html.replace(IMG_TAG, (tag) => {
    const src = attributeOf(tag.slice(1, -1), 'src');
    return src && payload(src.value, 'open') ? '' : tag;
  });
  return withoutPixel.replace(LINK_TAG, (whole, inner: string) => {
    const href = attributeOf(inner, 'href');
    const url = href && payload(href.value, 'click')?.url;
    if (!href || !url) return whole;
    return `<${inner.slice(0, href.start)}href="${escapeHtml(url)}"${inner.slice(href.end)}>`;
  });
}
