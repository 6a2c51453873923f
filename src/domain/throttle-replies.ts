// Replies by which a receiver says "you are sending too much, too fast": the sender must back off
// from the whole domain, not only retry the one message. A 421 (the server closing the session) is
// always such a signal; other 4xx replies are when their text says so. Greylisting ("try again
// later" for an unknown sender triplet) is not: it concerns one message and the normal retry
// schedule handles it.
import type { SmtpReply } from './bounce-classes.ts';

const THROTTLE_TEXT = new RegExp(
  [
    'too many (connections|sessions|messages|recipients|concurrent)',
    'rate[- ]?limit',
    'throttl',
    'too fast',
    'sending rate',
    'unusual rate',
    'temporarily (deferred|rate)',
    'exceeded .*(rate|connections|limit)',
    'try again later',
    '4\\.7\\.28',
  ].join('|'),
  'i',
);

export function isThrottleReply(reply: SmtpReply): boolean {
  if (reply.code < 400 || reply.code >= 500) return false;
  if (/greylist|graylist/i.test(reply.text)) return false;
  return reply.code === 421 || THROTTLE_TEXT.test(reply.text);
}
