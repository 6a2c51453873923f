// The claim step on its own: which due messages the worker takes (the window: bulk refilled a
// quarter of its share at a time, urgent mail whenever there is room) and taking them under a
// lease, urgent first, each message once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimMessages, claimWindow, type ClaimState } from '../../../src/delivery/steps/claim.ts';
import { OWNER, startStepWorld, type StepWorld } from '../../helpers/delivery-steps.ts';
import { dialectName } from '../../helpers/database.ts';

// 16 slots: 2 reserved for urgent mail, bulk refilled 3 at a time (a quarter of its 14).
const idle: ClaimState = {
  concurrency: 16,
  batchSize: 100,
  inFlight: 0,
  bulkInFlight: 0,
  bulkCapacity: 14,
  refillAt: 3,
  active: 0,
  newWork: false,
  urgentLookDue: false,
};

describe('claim window', () => {
  it('refills bulk work up to its share of the slots when idle', () => {
    expect(claimWindow(idle)).toEqual({ limit: 14, urgentOnly: false });
  });

  it('waits until a quarter of the bulk share is free before refilling', () => {
    const busy = { ...idle, inFlight: 12, bulkInFlight: 12 };
    expect(claimWindow(busy)).toBeNull();
    expect(claimWindow({ ...busy, inFlight: 11, bulkInFlight: 11 })).toEqual({ limit: 3, urgentOnly: false });
  });

  it('claims urgent mail alone, into the reserved slots, on new work or when a look is due', () => {
    const full = { ...idle, inFlight: 14, bulkInFlight: 14 };
    expect(claimWindow(full)).toBeNull();
    expect(claimWindow({ ...full, newWork: true })).toEqual({ limit: 2, urgentOnly: true });
    expect(claimWindow({ ...full, urgentLookDue: true })).toEqual({ limit: 2, urgentOnly: true });
  });

  it('claims nothing while outcomes waiting for their commit hold twice the concurrency', () => {
    expect(claimWindow({ ...idle, active: 32, newWork: true })).toBeNull();
    expect(claimWindow({ ...idle, active: 30 })).toEqual({ limit: 2, urgentOnly: false });
  });
});

describe(`claim step (${dialectName})`, () => {
  let world: StepWorld;
  beforeAll(async () => {
    world = await startStepWorld();
  });
  afterAll(async () => world?.close());

  it('takes due messages under a lease, urgent first, and each message only once', async () => {
    const bulk = await world.accept([world.address('bulk')], { optionsAttributes: { transactional: false } });
    const urgent = await world.accept([world.address('urgent')]);
    const { ctx } = world;

    const first = await claimMessages(ctx, OWNER, ctx.clock(), { limit: 1, urgentOnly: false });
    expect(first.map((m) => m.transmission_id)).toEqual([urgent]);
    expect(first[0]).toMatchObject({ priority: 0, lease_owner: OWNER });
    expect(Number(first[0].lease_expires_at)).toBeGreaterThan(ctx.clock());

    // Urgent only: the bulk message stays queued.
    expect(await claimMessages(ctx, OWNER, ctx.clock(), { limit: 10, urgentOnly: true })).toEqual([]);
    const rest = await claimMessages(ctx, 'w-another', ctx.clock(), { limit: 10, urgentOnly: false });
    expect(rest.map((m) => [m.transmission_id, m.priority, m.lease_owner])).toEqual([[bulk, 10, 'w-another']]);
    expect(await claimMessages(ctx, OWNER, ctx.clock(), { limit: 10, urgentOnly: false })).toEqual([]);
  });
});
