// Shutdown of a proxied WebSocket: the client gets a close frame with code 1001 ("going away") so it knows to
// reconnect elsewhere. Our frame must not land inside one of the upstream's frames, so the frames the upstream sends
// the client are followed (their headers only) and ours is written at the first boundary.
import type { Duplex } from 'node:stream';

const GOING_AWAY = Symbol('vallum.goingAway');
type Marked = Duplex & { [GOING_AWAY]?: () => void };

/** A close frame from a server (unmasked): FIN + opcode 8, two payload bytes, status 1001. */
const CLOSE_GOING_AWAY = Buffer.from([0x88, 0x02, 0x03, 0xe9]);

/** Follows the WebSocket frames of `upstream` piped to `client`, so `sayGoingAway(client)` can close it cleanly. */
export function trackWebSocket(client: Duplex, upstream: Duplex): void {
  let remaining = 0;
  const header: number[] = [];
  let wanted = false;
  const atBoundary = () => remaining === 0 && header.length === 0;
  const send = () => {
    upstream.unpipe(client);
    upstream.off('data', follow);
    // Still read (and drop) what the upstream sends, so its closing handshake and end are seen and both sides close.
    upstream.resume();
    if (client.writable) client.write(CLOSE_GOING_AWAY);
  };
  // Registered after pipe(), so when it runs the chunk has already been written to the client.
  const follow = (chunk: Buffer) => {
    for (let i = 0; i < chunk.length; ) {
      if (remaining > 0) {
        const take = Math.min(remaining, chunk.length - i);
        remaining -= take;
        i += take;
        continue;
      }
      header.push(chunk[i++]!);
      const length = headerLength(header);
      if (length === undefined || header.length < length) continue;
      remaining = payloadLength(header);
      header.length = 0;
    }
    if (wanted && atBoundary()) send();
  };
  upstream.on('data', follow);
  (client as Marked)[GOING_AWAY] = () => {
    if (wanted) return;
    wanted = true;
    if (atBoundary()) send();
  };
}

/** Sends 1001 to a tracked WebSocket (at once, or at the end of the frame on its way); false for other sockets. */
export function sayGoingAway(client: Duplex): boolean {
  const say = (client as Marked)[GOING_AWAY];
  if (say === undefined) return false;
  say();
  return true;
}

/** Bytes of a frame header, once its first two bytes are known. */
function headerLength(header: number[]): number | undefined {
  if (header.length < 2) return undefined;
  const len7 = header[1]! & 0x7f;
  const masked = (header[1]! & 0x80) !== 0;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
}

function payloadLength(header: number[]): number {
  const len7 = header[1]! & 0x7f;
  if (len7 < 126) return len7;
  if (len7 === 126) return (header[2]! << 8) | header[3]!;
  let n = 0;
  for (let i = 2; i < 10; i++) n = n * 256 + header[i]!;
  return n;
}
