import { hkdfSync } from 'node:crypto';

/** A 32-byte key for one purpose derived from a configured secret, so one secret never keys two kinds of thing. */
export function deriveKey(secret: string, purpose: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), `vallum:${purpose}`, 32));
}
