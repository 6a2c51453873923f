// Step 3, build: render, compose and sign the message (in the build threads, build-pool.ts, for
// templated mail; on the event loop for mail submitted over SMTP, see build-message.ts). Builds
// are let in by priority, only as many as keep the threads busy (the gate).
import type { MessagesTable } from '../../store/schema.ts';
import { isStoreUnavailable } from '../../store/store-errors.ts';
import type { BuiltMessage, MessageBuilder } from '../build-message.ts';
import type { PriorityGate } from '../priority-gate.ts';
import type { Decision } from './record.ts';

/**
 * The built message, or the bounce of a message whose content cannot be built. A store that is
 * unavailable is not the content's fault: that error is thrown, and the message goes back to the queue.
 */
export async function buildStep(
  builder: MessageBuilder,
  gate: PriorityGate,
  m: MessagesTable,
  clock: () => number,
): Promise<{ built: BuiltMessage } | { failed: Decision }> {
  try {
    return { built: await gate.run(m.priority, () => builder.build(m)) };
  } catch (error) {
    if (isStoreUnavailable(error)) throw error;
    // Content that cannot be built now will not build later either: fail the message, visibly.
    const reason = `could not build the message: ${(error as Error).message}`;
    return {
      failed: {
        outcome: {
          id: m.id,
          status: 'bounced',
          lastResponse: reason,
          bounceClass: 40,
          messageIdHeader: null,
          size: null,
          at: clock(),
        },
        event: { type: 'bounce', data: { reason, bounceClass: 40 } },
      },
    };
  }
}
