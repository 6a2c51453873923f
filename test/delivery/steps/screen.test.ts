// The screen step on its own: a message whose recipient was suppressed or blacklisted after the
// accept is held back (an unsubscribe only from marketing mail), matched without regard to case,
// and recorded as the refusal it is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusal, screenBatch } from '../../../src/delivery/steps/screen.ts';
import { createSuppression } from '../../../src/services/suppressions.ts';
import { addToBlacklist } from '../../../src/services/blacklist.ts';
import { startStepWorld, type StepWorld } from '../../helpers/delivery-steps.ts';
import { dialectName } from '../../helpers/database.ts';

describe(`screen step (${dialectName})`, () => {
  let world: StepWorld;
  beforeAll(async () => {
    world = await startStepWorld();
  });
  afterAll(async () => world?.close());

  it('holds back suppressed and blacklisted recipients; an unsubscribe holds back marketing mail only', async () => {
    const { ctx } = world;
    const accountId = world.server.accountId;
    const plain = world.address('plain');
    // Recipients are matched without regard to case: this one is accepted in capitals, its entry is lower case.
    const bounced = world.address('bounced').toUpperCase();
    const unsubscribed = world.address('unsub');
    const blacklisted = world.address('black');
    const all = [plain, bounced, unsubscribed, blacklisted];
    const receipt = await world.accept(all);
    const offer = await world.accept(all, { optionsAttributes: { transactional: false } });
    // After the accept, in another case than the messages' recipients.
    await createSuppression(ctx, accountId, { email: bounced.toLowerCase(), type: 'bounce' });
    await createSuppression(ctx, accountId, { email: unsubscribed, type: 'unsubscribe' });
    await addToBlacklist(ctx, accountId, { email: blacklisted.toUpperCase() });

    const batch = await world.claim(receipt, offer);
    expect(batch).toHaveLength(8);
    const verdicts = await screenBatch(ctx, batch);
    const of = (transmissionId: string, recipient: string) =>
      verdicts.get(batch.find((m) => m.transmission_id === transmissionId && m.recipient === recipient)!.id);

    for (const t of [receipt, offer]) {
      expect(of(t, plain)).toEqual({ send: true });
      expect(of(t, bounced)).toEqual({ suppressed: 'bounce' });
      expect(of(t, blacklisted)).toEqual({ blacklisted: true });
    }
    expect(of(receipt, unsubscribed)).toEqual({ send: true });
    expect(of(offer, unsubscribed)).toEqual({ suppressed: 'unsubscribe' });
  });

  it('records a refusal as class 50: a bounce for a suppression, a policy rejection for the blacklist', async () => {
    const [m] = await world.claim(await world.accept([world.address('refused')]));
    expect(refusal(m, { suppressed: 'bounce' }, 1000)).toEqual({
      outcome: {
        id: m.id,
        status: 'suppressed',
        lastResponse: 'Recipient is on the suppression list (bounce)',
        bounceClass: 50,
        messageIdHeader: null,
        size: null,
        at: 1000,
      },
      event: { type: 'bounce', data: { reason: 'Recipient is on the suppression list (bounce)', bounceClass: 50 } },
    });
    expect(refusal(m, { blacklisted: true }, 1000)).toMatchObject({
      outcome: { status: 'suppressed', lastResponse: 'Recipient is on the blacklist of the account', bounceClass: 50 },
      event: { type: 'policy_rejection', data: { bounceClass: 50 } },
    });
  });
});
