// Pure tests of the template sandbox: escaping rules, Liquid features, and what a template must
// never be able to do (read files, walk prototypes, use filters we do not ship).
import { describe, expect, it } from 'vitest';
import { compile, compileMessage, renderCompiled, renderMessage, TemplateError } from '../../src/domain/render.ts';

const html = (source: string, data: Record<string, unknown> = {}) =>
  renderCompiled(compile(source, 'bodyHtml', 'html'), data, 'bodyHtml', 'html');
const text = (source: string, data: Record<string, unknown> = {}) =>
  renderCompiled(compile(source, 'bodyText', 'text'), data, 'bodyText', 'text');

const nasty = `<a href="x">&'`;

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('escaping', () => {
  it('HTML-escapes {{var}} in HTML bodies', () => {
    expect(html('<p>{{ v }}</p>', { v: nasty })).toBe('<p>&lt;a href=&#34;x&#34;&gt;&amp;&#39;</p>');
  });

  it('leaves {{{var}}} raw in HTML bodies, with or without inner spaces', () => {
    expect(html('<div>{{{v}}}</div><div>{{{ v }}}</div>', { v: nasty })).toBe(`<div>${nasty}</div><div>${nasty}</div>`);
  });

  it('never escapes text bodies, and treats {{{var}}} there like {{var}}', () => {
    expect(text('{{ v }}|{{{ v }}}', { v: nasty })).toBe(`${nasty}|${nasty}`);
  });

  it('never escapes the subject and folds line breaks a variable brings into it', () => {
    const rendered = renderMessage(
      compileMessage({ subject: 'Re: {{ v }} {{ w }}', html: '<b>{{ v }}</b>', text: null }),
      { v: nasty, w: 'a\r\nBcc: evil@example.com' },
    );
    expect(rendered.subject).toBe(`Re: ${nasty} a Bcc: evil@example.com`);
    expect(rendered.html).toBe('<b>&lt;a href=&#34;x&#34;&gt;&amp;&#39;</b>');
    expect(rendered.text).toBeNull();
  });
});

describe('Liquid features', () => {
  it('renders conditionals', () => {
    const source = '{% if vip %}VIP{% elsif trial %}trial{% else %}regular{% endif %}';
    expect(text(source, { vip: true })).toBe('VIP');
    expect(text(source, { trial: 1 })).toBe('trial');
    expect(text(source)).toBe('regular');
    expect(text('{% unless paid %}please pay{% endunless %}', { paid: false })).toBe('please pay');
  });

  it('renders loops over arrays with forloop variables, escaping each item in HTML', () => {
    const items = [{ name: 'A&B' }, { name: 'C' }];
    expect(
      html(
        '{% for i in items %}{{ forloop.index }}.{{ i.name }}{% unless forloop.last %},{% endunless %}{% endfor %}',
        { items },
      ),
    ).toBe('1.A&amp;B,2.C');
    expect(text('{% for i in items %}{{ i }}{% else %}none{% endfor %}', { items: [] })).toBe('none');
  });

  it('applies standard filters', () => {
    expect(
      text('{{ name | upcase }} {{ missing | default: "friend" }} {{ n | plus: 2 }}', { name: 'ada', n: 40 }),
    ).toBe('ADA friend 42');
  });

  it('renders a missing variable, a missing nested path and a loop over nothing as empty', () => {
    expect(html('[{{ missing }}][{{ a.b.c }}][{{{ raw }}}][{% for x in nothing %}x{% endfor %}]')).toBe('[][][][]');
    expect(text('Hi {{ user.first_name }}!', { user: {} })).toBe('Hi !');
  });

  it('leaves null bodies null in a compiled message', () => {
    const c = compileMessage({ subject: 's', html: null, text: 't {{ v }}' });
    expect(c.html).toBeNull();
    expect(renderMessage(c, { v: 1 })).toEqual({ subject: 's', html: null, text: 't 1' });
  });
});

describe('sandbox', () => {
  it.each([
    ["{% include 'package.json' %}", 'html'],
    ["{% render 'package.json' %}", 'html'],
    ["{% include '/etc/passwd' %}", 'text'],
    ["{% render '../../package.json' %}", 'text'],
    ["{% layout 'package.json' %}x", 'html'],
  ] as const)('%s cannot read a file (%s)', (source, kind) => {
    // package.json exists in the working directory: the lookup must fail anyway.
    const error = thrown(() => renderCompiled(compile(source, 'bodyHtml', kind), {}, 'bodyHtml', kind));
    expect(error).toBeInstanceOf(TemplateError);
    expect((error as TemplateError).part).toBe('bodyHtml');
    expect((error as Error).message).not.toContain('posthorn');
    expect((error as Error).message).not.toContain('root:');
  });

  it('renders nothing for prototype access', () => {
    const data = { x: { a: 1 }, s: 'str', list: [1] };
    for (const source of [
      '{{ x.constructor }}',
      '{{ x.constructor.name }}',
      '{{ s.constructor.constructor }}',
      '{{ x.__proto__ }}',
      '{{ x.toString }}',
      '{{ x.hasOwnProperty }}',
      '{{ list.constructor }}',
    ]) {
      expect(html(source, data), source).toBe('');
      expect(text(source, data), source).toBe('');
    }
    expect(text('{% assign p = x.__proto__ %}{{ p.toString }}{{ p }}', data)).toBe('');
    // own properties still work
    expect(text('{{ x.a }}', data)).toBe('1');
  });

  it('refuses an unknown filter when compiling, naming the part', () => {
    const error = thrown(() => compile('{{ v | no_such_filter }}', 'subject', 'text'));
    expect(error).toBeInstanceOf(TemplateError);
    expect((error as TemplateError).part).toBe('subject');
    expect((error as Error).message).toMatch(/^subject: .*no_such_filter/);
    expect(() => compileMessage({ subject: 's', html: '{{ v | nope }}', text: null })).toThrow(TemplateError);
  });

  it('refuses syntax errors when compiling', () => {
    for (const source of ['{{ a', '{% if %}x{% endif %}', '{% for %}', '{% if a %}never closed', '{% nosuchtag %}']) {
      expect(() => compile(source, 'bodyHtml', 'html'), source).toThrow(TemplateError);
    }
  });

  it('stops a loop that would allocate too much instead of running it', () => {
    const started = Date.now();
    expect(() => text('{% for i in (1..100000000) %}x{% endfor %}')).toThrow(TemplateError);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
