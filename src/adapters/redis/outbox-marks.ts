// The outbox's mark that a message is on its way, shared by the outbox and the writers that set it in their own step.
import type { Store } from './store.js';

/**
 * Whoever creates a message that later ones may edit before it lands (an alert, in the same atomic step that lets a
 * repeat refer to it) sets this; the outbox holds such edits back until the message has landed, instead of posting
 * them as new messages, and clears it when the message is posted.
 */
export const announcedKey = (store: Pick<Store, 'key'>, messageKey: string) => store.key('outbox', 'announced', messageKey);
