// The frame of every public page: escaped values, the channel's name and colour, one stylesheet
// allowed by its hash in the Content-Security-Policy (no scripts at all), and headers that keep
// the token in the URL out of caches, referrers and frames.
import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { escapeHtml } from '../../domain/html-escape.ts';
import { accentColor, pageStrings, type PageLanguage } from '../../domain/public-page-strings.ts';

export { escapeHtml } from '../../domain/html-escape.ts';

/** Black or white, whichever reads better on the accent colour (WCAG relative luminance). */
function textOn(hex: string): string {
  const full = hex.length === 4 ? hex.replace(/^#(.)(.)(.)$/, '#$1$1$2$2$3$3') : hex;
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(full.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return luminance > 0.179 ? '#000000' : '#ffffff';
}

function stylesheet(accent: string): string {
  return `
:root{--accent:${accent};--on-accent:${textOn(accent)}}
*{box-sizing:border-box}
body{margin:0;background:#f4f4f5;color:#18181b;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
main{max-width:36rem;margin:2rem auto;background:#fff;border-top:.3rem solid var(--accent);padding:1.5rem
2rem;border-radius:.25rem}
.channel{margin:0 0 .5rem;font-weight:600;color:#3f3f46}
h1{font-size:1.5rem;margin:.25rem 0 1rem}
.note{padding:.75rem 1rem;border-left:.25rem solid var(--accent);background:#f4f4f5}
.error{border-left-color:#b91c1c}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
input[type=text],select{width:100%;padding:.5rem;font:inherit;border:1px solid #71717a;border-radius:.25rem}
fieldset{border:1px solid #d4d4d8;border-radius:.25rem;margin:1rem 0;padding:.5rem 1rem}
legend{font-weight:600;padding:0 .25rem}
fieldset label{font-weight:400;margin:.25rem 0}
button{margin-top:1rem;padding:.6rem 1.2rem;font:inherit;font-weight:600;
  background:var(--accent);color:var(--on-accent);border:0;border-radius:.25rem;cursor:pointer}
button:focus-visible,a:focus-visible,input:focus-visible,select:focus-visible{outline:.2rem solid
#2563eb;outline-offset:.15rem}
a{color:#1d4ed8}
footer{margin-top:2rem;font-size:.875rem}
`;
}

export interface Page {
  language: PageLanguage;
  title: string;
  channel: { name: string; color: string | null } | null;
  /** Already-escaped HTML for inside <main>. */
  body: string;
}

export function renderPage(page: Page): { html: string; csp: string } {
  const css = stylesheet(accentColor(page.channel?.color));
  const styleHash = createHash('sha256').update(css).digest('base64');
  const brand = page.channel?.name ?? pageStrings(page.language).newsletter;
  const html = `<!DOCTYPE html>
<html lang="${page.language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${escapeHtml(page.title)} – ${escapeHtml(brand)}</title>
<style>${css}</style>
</head>
<body>
<main>
<p class="channel">${escapeHtml(brand)}</p>
<h1>${escapeHtml(page.title)}</h1>
${page.body}
</main>
</body>
</html>
`;
  const csp =
    `default-src 'none'; style-src 'sha256-${styleHash}'; form-action 'self'; base-uri 'none'; ` +
    `frame-ancestors 'none'`;
  return { html, csp };
}

export function sendPage(reply: FastifyReply, status: number, page: Page): FastifyReply {
  const { html, csp } = renderPage(page);
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', csp)
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .send(html);
}
