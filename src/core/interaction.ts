// What a person did on a channel (a command, a click, a form), as the channel hands it to the core's queue.
import type { Address, Platform } from './ports.js';

export type Interaction =
  | { type: 'command'; text: string }
  | { type: 'action'; id: string; value: string }
  | { type: 'form-change'; formId: string; values: Record<string, string | undefined> }
  | { type: 'form-submit'; formId: string; values: Record<string, string | undefined>; state: string };

export interface RunPayload {
  requestId: string;
  platform: Platform;
  userId: string;
  reply: Address;
  interaction: Interaction;
  /**
   * The channel's own note on where a form answering this interaction can appear (Slack: the view already open, or the
   * click's trigger); opaque to the core, handed back to the channel with the form.
   */
  formRef?: string;
}

/**
 * As queued (inbox stream, job data): the interaction sealed with the data key. A command's raw text and a form's values
 * may hold NoEcho values, and which keys are NoEcho is known only once the worker has matched them to a product.
 */
export type QueuedPayload = Omit<RunPayload, 'interaction'> & { sealed: string };
/** An unsealed RunPayload was queued by a process from before sealing (during an upgrade). */
export type Payload = QueuedPayload | RunPayload;
