// Command syntax of the submission server's own SMTP code: the verb of a line, and the path and
// ESMTP parameters of MAIL FROM / RCPT TO.
import { describe, expect, it } from 'vitest';
import { parseCommandLine, parsePathArgument } from '../../src/smtp/smtp-command.ts';

/** The parse as a plain object (params as an object), or null. */
function path(args: string, keyword: 'FROM' | 'TO' = 'FROM') {
  const parsed = parsePathArgument(args, keyword);
  return parsed && { address: parsed.address, params: Object.fromEntries(parsed.params) };
}

describe('parseCommandLine', () => {
  it('upper-cases the verb and keeps the arguments as sent, trimmed', () => {
    expect(parseCommandLine('mail FROM:<a@b>')).toEqual({ verb: 'MAIL', args: 'FROM:<a@b>' });
    expect(parseCommandLine('EHLO  client.test ')).toEqual({ verb: 'EHLO', args: 'client.test' });
    expect(parseCommandLine('quit')).toEqual({ verb: 'QUIT', args: '' });
  });
});

describe('parsePathArgument: accepted forms', () => {
  it('reads FROM:<address>, with or without a space after the colon', () => {
    expect(path('FROM:<a@b>')).toEqual({ address: 'a@b', params: {} });
    expect(path('FROM: <a@b>')).toEqual({ address: 'a@b', params: {} });
    expect(path('TO:<c@d>', 'TO')).toEqual({ address: 'c@d', params: {} });
  });

  it('reads the null path <> as the empty address', () => {
    expect(path('FROM:<>')).toEqual({ address: '', params: {} });
    expect(path('FROM:<> SIZE=10')).toEqual({ address: '', params: { SIZE: '10' } });
  });

  it('reads parameters, names upper-cased, values as sent, a bare name as true', () => {
    expect(path('FROM:<a@b> SIZE=123 body=8BITMIME SMTPUTF8')).toEqual({
      address: 'a@b',
      params: { SIZE: '123', BODY: '8BITMIME', SMTPUTF8: true },
    });
    expect(path('FROM:<a@b>  SIZE=1  ')?.params).toEqual({ SIZE: '1' });
  });

  it('takes the keyword in any case', () => {
    expect(path('from:<a@b>')?.address).toBe('a@b');
    expect(path('To:<c@d>', 'TO')?.address).toBe('c@d');
  });

  it('drops the hops of a source route', () => {
    expect(path('TO:<@relay.example:u@h>', 'TO')?.address).toBe('u@h');
    expect(path('TO:<@r1,@r2:u@h>', 'TO')?.address).toBe('u@h');
  });
});

describe('parsePathArgument: refused forms', () => {
  it.each([
    ['no colon', 'FROM <a@b>'],
    ['the other keyword', 'TO:<a@b>'],
    ['a wrong keyword', 'FORM:<a@b>'],
    ['an unclosed bracket', 'FROM:<a@b'],
    ['junk right after the bracket', 'FROM:<a@b>SIZE=1'],
    ['a space inside the path', 'FROM:<a @b>'],
    ['a bracket inside the path', 'FROM:<a<x>@b>'],
    ['a source route without its colon', 'FROM:<@relay>'],
    ['a parameter without a name', 'FROM:<a@b> =1'],
    ['nothing after the colon', 'FROM:'],
  ])('%s: %s', (_what, args) => {
    expect(parsePathArgument(args, 'FROM')).toBeNull();
  });
});
