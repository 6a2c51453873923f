// Pure webhook rules: the signature, the retry schedule, private addresses and the event mapping.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyWebhookSignature, webhookSignature } from '../../src/domain/webhook-signature.ts';
import { nextWebhookAttemptAt, webhookRetryDelay } from '../../src/domain/webhook-backoff.ts';
import { isPrivateAddress } from '../../src/domain/private-address.ts';
import {
  internalTypesFor,
  marketingPayloadEvent,
  transactionalPayloadEvent,
  unknownWebhookEvents,
  webhookBody,
} from '../../src/domain/webhook-events.ts';

describe('webhook signature', () => {
  it('is t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const header = webhookSignature('s3cret-s3cret-s3cret', '{"a":1}', 1700000000.9);
    const expected = createHmac('sha256', 's3cret-s3cret-s3cret').update('1700000000.{"a":1}').digest('hex');
    expect(header).toBe(`t=1700000000,v1=${expected}`);
  });

  it('verifies its own signature and refuses a changed body, another key or an old timestamp', () => {
    const header = webhookSignature('key-key-key-key-key', 'body', 1000);
    expect(verifyWebhookSignature('key-key-key-key-key', 'body', header, 1010)).toBe(true);
    expect(verifyWebhookSignature('key-key-key-key-key', 'body!', header, 1010)).toBe(false);
    expect(verifyWebhookSignature('other-other-other', 'body', header, 1010)).toBe(false);
    expect(verifyWebhookSignature('key-key-key-key-key', 'body', header, 2000)).toBe(false);
    expect(verifyWebhookSignature('key-key-key-key-key', 'body', 't=x,v1=zz', 1000)).toBe(false);
  });
});

describe('webhook retry schedule', () => {
  const policy = { baseMs: 30_000, capMs: 3_600_000, maxAgeMs: 24 * 3_600_000 };
  const middle = () => 0.5; // no jitter

  it('doubles from the base up to the cap', () => {
    expect([1, 2, 3, 4].map((n) => webhookRetryDelay(n, policy, middle))).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(webhookRetryDelay(20, policy, middle)).toBe(3_600_000);
  });

  it('jitters within ±20 %', () => {
    expect(webhookRetryDelay(1, policy, () => 0)).toBe(24_000);
    expect(webhookRetryDelay(1, policy, () => 1)).toBe(36_000);
  });

  it('gives up when the next attempt would be more than 24 h after the first', () => {
    const first = 1_000_000;
    expect(nextWebhookAttemptAt(first, 1, first + 1000, policy, middle)).toBe(first + 1000 + 30_000);
    expect(nextWebhookAttemptAt(first, 30, first + 23.5 * 3_600_000, policy, middle)).toBeNull();
  });
});

describe('private addresses', () => {
  it('refuses everything but public unicast', () => {
    for (const ip of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '224.0.0.1',
      'not-an-ip',
    ]) {
      expect(isPrivateAddress(ip), ip).toBe(true);
    }
    for (const ip of ['8.8.8.8', '93.184.216.34', '2606:4700::1111']) expect(isPrivateAddress(ip), ip).toBe(false);
  });
});

describe('webhook events', () => {
  it('maps public names to stored event types per surface', () => {
    expect(
      internalTypesFor('marketing', ['message.bounced', 'message.complained', 'subscriber.created', 'mailing.sent']),
    ).toEqual(['subscriber.created', 'mailing.sent', 'bounce', 'spam_complaint']);
    expect(internalTypesFor('transactional', ['delivery', 'bounce'])).toEqual(['delivery', 'bounce']);
    expect(unknownWebhookEvents('transactional', ['delivery', 'subscriber.created'])).toEqual(['subscriber.created']);
    expect(unknownWebhookEvents('marketing', ['subscriber.updated', 'delivery'])).toEqual(['delivery']);
  });

  const event = {
    id: 7,
    type: 'bounce',
    messageId: 'm1',
    transmissionId: 't1',
    mailingId: null,
    recipient: 'a@example.com',
    data: { bounceClass: 10, reason: '550 no such user' },
    createdAt: Date.UTC(2024, 0, 2, 3, 4, 5),
  };

  it('shapes transactional events with the message metadata and the type-specific fields', () => {
    expect(transactionalPayloadEvent(event, { order: '42' })).toEqual({
      type: 'bounce',
      eventId: '7',
      messageId: 'm1',
      transmissionId: 't1',
      recipient: 'a@example.com',
      timestamp: event.createdAt,
      metadata: { order: '42' },
      bounceClass: 10,
      reason: '550 no such user',
    });
    expect(transactionalPayloadEvent({ ...event, data: { metadata: { own: 'x' } } }, { order: '42' }).metadata).toEqual(
      { own: 'x' },
    );
  });

  it('shows a mailing message’s mailingId as the integer the marketing API uses, on both surfaces', () => {
    expect(transactionalPayloadEvent({ ...event, mailingId: '12' }, {}).mailingId).toBe(12);
    expect((marketingPayloadEvent({ ...event, mailingId: '12' }).data as { mailingId: unknown }).mailingId).toBe(12);
  });

  it('shapes marketing events in the marketing dialect', () => {
    expect(marketingPayloadEvent({ ...event, mailingId: '12' })).toEqual({
      id: 7,
      event: 'message.bounced',
      createdAt: '2024-01-02 03:04:05',
      data: {
        objectType: 'Message',
        messageId: 'm1',
        mailingId: 12,
        email: 'a@example.com',
        bounceClass: 10,
        reason: '550 no such user',
      },
    });
    expect(
      marketingPayloadEvent({
        ...event,
        type: 'subscriber.created',
        messageId: null,
        data: { subscriberId: 5, status: 1, statusAddition: null },
      }),
    ).toEqual({
      id: 7,
      event: 'subscriber.created',
      createdAt: '2024-01-02 03:04:05',
      data: { objectType: 'Subscriber', id: 5, email: 'a@example.com', status: 1, statusAddition: null },
    });
  });

  it('wraps frozen events in {batchId, retryCount, events}', () => {
    expect(JSON.parse(webhookBody('b1', 2, '[{"x":1}]'))).toEqual({ batchId: 'b1', retryCount: 2, events: [{ x: 1 }] });
  });
});
