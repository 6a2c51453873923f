import { describe, expect, it } from 'vitest';
import { deriveText, deriveTextTemplate } from '../../src/domain/html-text.ts';
import { compile, renderCompiled } from '../../src/domain/render.ts';

const renderHtml = (source: string, data: Record<string, unknown>) =>
  renderCompiled(compile(source, 'bodyHtml', 'html'), data, 'bodyHtml', 'html');
const renderText = (source: string, data: Record<string, unknown>) =>
  renderCompiled(compile(source, 'bodyText', 'text'), data, 'bodyText', 'text');

const NEWSLETTER = `<!doctype html><html><body>
<h1>Hello {{ firstname }} {{ lastname }}!</h1>
<p>News for {{ customerFields.hometown }}: ${'warm coats, soft scarves and boots for every weather. '.repeat(3)}</p>
<p><a href="https://shop.example/sale?u={{ subscriber.id }}">Shop the sale</a></p>
{% if company != "" %}<p>Greetings to everyone at {{ company }}.</p>{% endif %}
<ul>{% for i in (1..2) %}<li>Item {{ i }}</li>{% endfor %}</ul>
<p style="font-size:small"><a href="{{ unsubscribeUrl }}">Unsubscribe</a></p>
</body></html>`;

describe('deriveTextTemplate', () => {
  const people = [
    {
      firstname: 'Anna',
      lastname: 'Müller',
      company: '',
      customerFields: { hometown: 'Köln' },
      subscriber: { id: 7 },
      unsubscribeUrl: 'https://p.example/p/unsubscribe/abc',
    },
    {
      firstname: 'Ben & "Bo"',
      lastname: "<O'Neil>",
      company: 'Acme',
      customerFields: { hometown: 'A very long town name that pushes the line over the wrap width' },
      subscriber: { id: 8 },
      unsubscribeUrl: 'https://p.example/p/unsubscribe/def',
    },
  ];

  it('renders the same words as converting each rendered message', () => {
    const template = deriveTextTemplate(NEWSLETTER);
    expect(template).not.toBeNull();
    for (const data of people) {
      const once = renderText(template!, data);
      const perMessage = deriveText(renderHtml(NEWSLETTER, data));
      // Wrapping may differ (placeholders are shorter than values); the words and their order may not.
      expect(once.split(/\s+/).join(' ')).toBe(perMessage.split(/\s+/).join(' '));
    }
  });

  it('keeps variables unescaped in the text and the links readable', () => {
    const text = renderText(deriveTextTemplate(NEWSLETTER)!, people[1]!);
    expect(text).toContain('Hello Ben & "Bo" <O\'Neil>!');
    expect(text).toContain('[https://p.example/p/unsubscribe/def]');
    expect(text).toContain('Greetings to everyone at Acme.');
    expect(text).not.toMatch(/lq[0-9a-f]{12}x/);
  });

  it('gives up on templates that output raw HTML', () => {
    expect(deriveTextTemplate('<p>{{{ block }}}</p>')).toBeNull();
    expect(deriveTextTemplate('<p>{{ block | raw }}</p>')).toBeNull();
  });

  it('keeps a heading in its own case', () => {
    expect(deriveText('<h1>Thanks</h1>')).toContain('Thanks');
  });
});
