import { describe, expect, it } from 'vitest';
import {
  applyTracking,
  decodeAttribute,
  removeTracking,
  rewriteHtml,
  type TrackingPlan,
} from '../../src/domain/tracking-html.ts';
import { verifyTrackingToken } from '../../src/domain/tracking-tokens.ts';

const plan: TrackingPlan = {
  pixelUrl: 'https://px.test/o',
  linkUrl: (url, i) => `https://t.test/${i}?u=${encodeURIComponent(url)}`,
  keep: (url) => url.startsWith('https://own.test/p/'),
};
const links = (html: string) => [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);

describe('tracking HTML rewrite', () => {
  it('rewrites http(s) links in order, whatever the quoting, case and attribute order', () => {
    const html = `<html><body>
      <a href="https://a.test/1">1</a>
      <A class="x" HREF='http://b.test/2'>2</A>
      <a title="a > b" href=https://c.test/3>3</a>
      <a
        data-x="1"
        href = "https://d.test/4?x=1&amp;y=2">4</a>
      <area shape="rect" href="https://e.test/5">
    </body></html>`;
    const out = rewriteHtml(html, { ...plan, pixelUrl: null });
    expect(links(out)).toEqual([
      `https://t.test/0?u=${encodeURIComponent('https://a.test/1')}`,
      `https://t.test/1?u=${encodeURIComponent('http://b.test/2')}`,
      `https://t.test/2?u=${encodeURIComponent('https://c.test/3')}`,
      `https://t.test/3?u=${encodeURIComponent('https://d.test/4?x=1&y=2').replace(/&/g, '&amp;')}`,
      `https://t.test/4?u=${encodeURIComponent('https://e.test/5')}`,
    ]);
    expect(out).toContain('class="x"');
    expect(out).toContain('title="a > b"');
    expect(out).toContain('data-x="1"');
  });

  it('leaves mailto, tel, anchors, own pages, data-no-track and relative links alone', () => {
    const html = [
      '<a href="mailto:x@y.test">m</a>',
      '<a href="tel:+49">t</a>',
      '<a href="#top">a</a>',
      '<a href="/relative">r</a>',
      '<a href="https://own.test/p/unsubscribe/TOKEN">u</a>',
      '<a data-no-track href="https://keep.test/">k</a>',
      '<a href="javascript:alert(1)">j</a>',
      '<a name="x">n</a>',
      '<abbr title="https://x.test/">z</abbr>',
    ].join('');
    expect(rewriteHtml(html, { ...plan, pixelUrl: null })).toBe(html);
  });

  it('does not rewrite links inside ordinary comments, but does inside Outlook conditional comments', () => {
    const html = '<!-- <a href="https://c.test/">x</a> --><!--[if mso]><a href="https://mso.test/">y</a><![endif]-->';
    const out = rewriteHtml(html, { ...plan, pixelUrl: null });
    expect(out).toContain('<!-- <a href="https://c.test/">x</a> -->');
    expect(out).toContain(`href="https://t.test/0?u=${encodeURIComponent('https://mso.test/')}"`);
  });

  it('puts the pixel before the last </body>, or at the end without one', () => {
    expect(rewriteHtml('<html><BODY>hi</BODY></html>', { ...plan, linkUrl: null })).toMatch(
      /hi<img src="https:\/\/px\.test\/o"[^>]*><\/BODY><\/html>$/,
    );
    expect(rewriteHtml('<p>hi</p>', { ...plan, linkUrl: null })).toMatch(
      /^<p>hi<\/p><img src="https:\/\/px\.test\/o" width="1" height="1"/,
    );
  });

  it('decodes character references in attribute values', () => {
    expect(decodeAttribute('a&amp;b&#x26;c&#38;d&quot;&unknown;')).toBe('a&b&c&d"&unknown;');
  });

  it("signs tokens the verifier accepts, skipping Posthorn's own pages", () => {
    const secret = 'k'.repeat(64);
    const html =
      '<body><a href="https://shop.test/?a=1&amp;b=2">buy</a><a href="https://posthorn.test/p/unsubscribe/abc">unsub</a></body>';
    const out = applyTracking(html, {
      secret,
      publicUrl: 'https://posthorn.test',
      messageId: 'ab'.repeat(12),
      accountId: 'cd'.repeat(12),
      open: true,
      click: true,
    });
    const [click, unsub] = links(out);
    expect(unsub).toBe('https://posthorn.test/p/unsubscribe/abc');
    const token = click!.replace('https://posthorn.test/t/c/', '');
    expect(verifyTrackingToken(secret, token, 'click')).toEqual({
      kind: 'click',
      messageId: 'ab'.repeat(12),
      accountId: 'cd'.repeat(12),
      linkIndex: 0,
      url: 'https://shop.test/?a=1&b=2',
    });
    const pixel = /<img src="https:\/\/posthorn\.test\/t\/o\/([A-Za-z0-9_-]+)"/.exec(out)![1]!;
    expect(verifyTrackingToken(secret, pixel, 'open')).toMatchObject({ kind: 'open' });
    expect(
      applyTracking(html, {
        secret,
        publicUrl: 'https://posthorn.test',
        messageId: 'ab',
        accountId: 'cd',
        open: false,
        click: false,
      }),
    ).toBe(html);
  });

  it('removes its own pixel and restores its own tracked links, for this account only', () => {
    const secret = 'k'.repeat(64);
    const publicUrl = 'https://posthorn.test';
    const track = (html: string, accountId: string) =>
      applyTracking(html, { secret, publicUrl, messageId: 'ab'.repeat(12), accountId, open: true, click: true });
    const html =
      '<body><a class="x" href="https://shop.test/?a=1&amp;b=2">buy</a> <img src="https://cdn.test/logo.png" alt="logo">' +
      '<!--[if mso]><a href="https://shop.test/outlook">o</a><![endif]-->' +
      '<a href="https://posthorn.test/p/unsubscribe/abc">unsub</a></body>';
    const tracked = track(html, 'cd'.repeat(12));
    expect(tracked).toContain('/t/o/');
    const shown = removeTracking(tracked, { secret, publicUrl, accountId: 'cd'.repeat(12) });
    expect(shown).not.toMatch(/\/t\/[oc]\//);
    expect(links(shown)).toEqual([
      'https://shop.test/?a=1&amp;b=2',
      'https://shop.test/outlook',
      'https://posthorn.test/p/unsubscribe/abc',
    ]);
    expect(shown).toContain('<a class="x" href=');
    expect(shown).toContain('<img src="https://cdn.test/logo.png" alt="logo">');
    // Another account's tokens, another installation's and forged ones are left as they are.
    expect(removeTracking(tracked, { secret, publicUrl, accountId: 'ef'.repeat(12) })).toBe(tracked);
    expect(removeTracking(tracked, { secret: 'j'.repeat(64), publicUrl, accountId: 'cd'.repeat(12) })).toBe(tracked);
    const forged = tracked.replace(
      /\/t\/c\/([A-Za-z0-9_-]+)/,
      (_w, t: string) => `/t/c/${t.slice(0, 10)}${t[10] === 'A' ? 'B' : 'A'}${t.slice(11)}`,
    );
    expect(links(removeTracking(forged, { secret, publicUrl, accountId: 'cd'.repeat(12) }))[0]).toMatch(/\/t\/c\//);
  });
});
