// The record step on its own: what a reply comes to (delivered; deferred on the retry schedule, or
// when the destination says; bounced when permanent or too old), and the decision written to the
// store: the message's row, and its event (none for a message handed back untried).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answered, captured, handedBack, recordDecision } from '../../../src/delivery/steps/record.ts';
import type { BuiltMessage } from '../../../src/delivery/build-message.ts';
import type { MessagesTable } from '../../../src/store/schema.ts';
import { startStepWorld, type StepWorld } from '../../helpers/delivery-steps.ts';
import { dialectName } from '../../helpers/database.ts';

const NOW = 1_700_000_000_000;
const retry = { retrySchedule: [60, 600], retryMaxAgeSeconds: 3600 };
const built: BuiltMessage = {
  raw: Buffer.from('Subject: x\r\n\r\nbody\r\n'),
  envelopeFrom: 'bounces+m1@example.com',
  messageIdHeader: '<m1@example.com>',
  firstDueAt: NOW - 1000,
};
const message = { id: 'm1', attempts: 1 } as MessagesTable;

describe('record step: what a reply comes to', () => {
  it('a 250 is a delivery, with the reply and the hop', () => {
    const d = answered(retry, message, built, { reply: { code: 250, text: '250 queued' }, via: 'relay' }, NOW);
    expect(d.outcome).toEqual({
      id: 'm1',
      messageIdHeader: '<m1@example.com>',
      size: built.raw.length,
      status: 'delivered',
      lastResponse: '250 queued',
      bounceClass: null,
      at: NOW,
    });
    expect(d.event).toEqual({ type: 'delivery', data: { response: '250 queued', via: 'relay' } });
  });

  it('a 4xx is deferred on the retry schedule, or until the time the destination asked for', () => {
    const reply = { code: 451, text: '451 4.3.0 try later' };
    const d = answered(retry, message, built, { reply, via: 'relay' }, NOW);
    // The first step of the schedule (60 s), give or take its 20 % jitter.
    expect(d.outcome.status).toBe('deferred');
    const next = d.outcome.nextAttemptAt!;
    expect(next).toBeGreaterThanOrEqual(NOW + 48_000);
    expect(next).toBeLessThanOrEqual(NOW + 72_000);
    expect(d.event).toMatchObject({ type: 'delay', data: { nextAttemptAt: new Date(next).toISOString() } });
    const asked = answered(retry, message, built, { reply, via: 'relay', retryAt: NOW + 5 }, NOW);
    expect(asked.outcome.nextAttemptAt).toBe(NOW + 5);
  });

  it('a 4xx past the retry age bounces, and an unreachable next hop then bounces as class 24', () => {
    const old = { ...built, firstDueAt: NOW - 3600_000 };
    const temp = answered(retry, message, old, { reply: { code: 451, text: '451 later' }, via: 'relay' }, NOW);
    expect(temp.outcome.status).toBe('bounced');
    expect(temp.event?.type).toBe('bounce');
    const none = answered(retry, message, old, { reply: { code: 0, text: 'no relay' }, via: 'none' }, NOW);
    expect(none.outcome).toMatchObject({ status: 'bounced', bounceClass: 24 });
  });

  it('a 5xx bounces at once with its class', () => {
    const reply = { code: 550, text: '550 5.1.1 no such user' };
    const d = answered(retry, message, built, { reply, via: 'relay' }, NOW);
    expect(d.outcome).toMatchObject({ status: 'bounced', bounceClass: 10, lastResponse: reply.text });
  });
});

describe(`record step: the store (${dialectName})`, () => {
  let world: StepWorld;
  beforeAll(async () => {
    world = await startStepWorld();
  });
  afterAll(async () => world?.close());

  it('writes the outcome, its event and the captured MIME, and releases the lease', async () => {
    const [m] = await world.claim(await world.accept([world.address('captured')]));
    await recordDecision(world.recorder, m, captured(m, built, world.ctx.clock()));
    expect(await world.row(m.id)).toMatchObject({ status: 'captured', lease_owner: null, size: built.raw.length });
    expect(await world.events(m.id)).toContainEqual({ type: 'delivery', data: { captured: true } });
    const raw = await world.ctx.db
      .selectFrom('message_raw')
      .select('mime')
      .where('message_id', '=', m.id)
      .executeTakeFirst();
    expect(Buffer.from(raw!.mime!).equals(built.raw)).toBe(true);
  });

  it('hands a message back untried: queued again as it was, at the given time, with no event', async () => {
    const [m] = await world.claim(await world.accept([world.address('handed-back')]));
    const eventsBefore = await world.events(m.id);
    const until = world.ctx.clock() + 60_000;
    await recordDecision(world.recorder, m, handedBack(m, until, world.ctx.clock()));
    const row = await world.row(m.id);
    expect(row).toMatchObject({ status: 'queued', lease_owner: null, last_response: null });
    expect(Number(row.next_attempt_at)).toBe(until);
    expect(await world.events(m.id)).toEqual(eventsBefore);
  });
});
