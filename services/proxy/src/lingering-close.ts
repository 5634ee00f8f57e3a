// Closing a socket while the client is still sending makes the kernel answer with a reset, and a reset can make the
// client's kernel drop what it had received but not yet read: the 413 that says why. So, as nginx's lingering_close
// does, the connection is half-closed after the response and what still arrives is read and dropped for a while.
import type { ServerResponse } from 'node:http';

/** How long a half-closed connection keeps reading what the client still sends (nginx waits up to 30 s). */
const LINGER_MS = 2_000;

/**
 * When the response closes the connection while the request body was not read to the end, closes it lingering.
 * A response that keeps the connection is not affected: node:http reads and drops the rest of the body itself.
 */
export function closeLingering(res: ServerResponse): void {
  const socket = res.socket;
  if (!socket || res.req.complete) return;
  // node:http ends a `Connection: close` response with socket.destroySoon(): FIN, then destroy at once: the reset.
  socket.destroySoon = () => {
    if (socket.writable) socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    // The client's own FIN ends the wait early.
    socket.once('end', () => socket.destroy());
  };
}
