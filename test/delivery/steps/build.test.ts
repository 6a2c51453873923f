// The build step on its own: a claimed message is rendered, composed and signed into the bytes that
// go out (through the build threads), and a message that cannot be built fails visibly, as a
// bounce of class 40, instead of going back to the queue for ever.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { buildStep } from '../../../src/delivery/steps/build.ts';
import { PriorityGate } from '../../../src/delivery/priority-gate.ts';
import { startStepWorld, type StepWorld } from '../../helpers/delivery-steps.ts';
import { dialectName } from '../../helpers/database.ts';

describe(`build step (${dialectName})`, () => {
  let world: StepWorld;
  const gate = new PriorityGate(2);
  beforeAll(async () => {
    world = await startStepWorld();
  });
  afterAll(async () => world?.close());

  it('renders the message for its recipient, with the return path that identifies it', async () => {
    const to = world.address('built');
    const [m] = await world.claim(await world.accept([to]));
    const result = await buildStep(world.builder, gate, m, world.ctx.clock);
    if (!('built' in result)) throw new Error(`not built: ${JSON.stringify(result.failed)}`);
    const { built } = result;
    expect(built.envelopeFrom).toMatch(new RegExp(`^bounces\\+${m.id}@`));
    const parsed = await simpleParser(built.raw);
    expect(parsed.subject).toBe('Hello Ada');
    expect(parsed.text?.trim()).toBe('Hello Ada');
    const bare = (id: string | undefined) => id?.replace(/^<|>$/g, '');
    expect(bare(parsed.messageId)).toBe(bare(built.messageIdHeader));
    expect((parsed.to as { text: string }).text).toContain(to);
  });

  it('fails a message whose content cannot be built: bounced, class 40, with the reason', async () => {
    const [m] = await world.claim(await world.accept([world.address('unbuildable')]));
    const gone = { ...m, transmission_id: 'no-such-transmission' };
    const result = await buildStep(world.builder, gate, gone, () => 1234);
    expect(result).toEqual({
      failed: {
        outcome: {
          id: m.id,
          status: 'bounced',
          lastResponse: `could not build the message: transmission no-such-transmission of message ${m.id} is gone`,
          bounceClass: 40,
          messageIdHeader: null,
          size: null,
          at: 1234,
        },
        event: {
          type: 'bounce',
          data: {
            reason: `could not build the message: transmission no-such-transmission of message ${m.id} is gone`,
            bounceClass: 40,
          },
        },
      },
    });
  });
});
