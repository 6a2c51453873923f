// One message's way through delivery, as a list of steps (the loop in worker.ts claims and screens
// whole batches first, see steps/claim.ts and steps/screen.ts):
//   screened out → record the refusal;
//   otherwise build (render, compose, sign) → transport → record the reply.
// Every kind of message (transactional over HTTP, SMTP-submitted, mailing) takes these same steps;
// the kind decides only where the build step reads its source (build-message.ts).
// The message's slot is given back as soon as its outcome is known, before the outcome is committed.
import type { Config } from '../config.ts';
import type { MessagesTable } from '../store/schema.ts';
import type { MessageBuilder } from './build-message.ts';
import type { OutcomeRecorder } from './outcome-recorder.ts';
import type { PriorityGate } from './priority-gate.ts';
import type { Transport } from './transports/transport.ts';
import { refusal, type Verdict } from './steps/screen.ts';
import { buildStep } from './steps/build.ts';
import { transportStep } from './steps/transport.ts';
import { answered, captured, handedBack, recordDecision, type Decision } from './steps/record.ts';

export interface Pipeline {
  builder: MessageBuilder;
  buildGate: PriorityGate;
  transport: Transport | null;
  recorder: OutcomeRecorder;
  retry: Pick<Config['worker'], 'retryMaxAgeSeconds' | 'retrySchedule'>;
  clock: () => number;
}

/** Delivers one claimed, screened message and records its outcome; `outcomeKnown` frees its slot. */
export function deliverMessage(
  p: Pipeline,
  m: MessagesTable,
  verdict: Verdict,
  outcomeKnown: () => void,
): Promise<void> {
  if (!('send' in verdict)) return record(p, m, refusal(m, verdict, p.clock()), outcomeKnown);
  return send(p, m).then((decision) => record(p, m, decision, outcomeKnown));
}

async function send(p: Pipeline, m: MessagesTable): Promise<Decision> {
  const build = await buildStep(p.builder, p.buildGate, m, p.clock);
  if ('failed' in build) return build.failed;
  const { built } = build;
  const sent = transportStep(p.transport, m, built);
  if (sent === 'captured') return captured(m, built, p.clock());
  const reply = await sent;
  if ('notTriedUntil' in reply) return handedBack(m, reply.notTriedUntil, p.clock());
  return answered(p.retry, m, built, reply, p.clock());
}

function record(p: Pipeline, m: MessagesTable, decision: Decision, outcomeKnown: () => void): Promise<void> {
  outcomeKnown();
  return recordDecision(p.recorder, m, decision);
}
