// A request refused before its body was read: the body is read and dropped for a while, so its sender reads the answer
// instead of a connection reset, and then the connection is cut.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** How long a refused sender may go on sending after its answer before the connection is cut. */
export const LINGER_MS = 2000;

/**
 * Once the answer is sent, node reads and drops what is left of the body; if that is not done within `lingerMs`, the
 * connection is cut. Closing at once, with the sender's bytes unread, would make the kernel reset the connection, and
 * the sender (still writing) would see EPIPE instead of its 4xx.
 */
export function lingerThenClose(req: IncomingMessage, res: ServerResponse, lingerMs = LINGER_MS): void {
  res.once('finish', () => {
    if (req.complete) return;
    const socket = req.socket;
    const timer = setTimeout(() => socket.destroy(), lingerMs);
    timer.unref();
    req.once('end', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
  });
}
