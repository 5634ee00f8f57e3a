import { randomBytes } from 'node:crypto';

export function newSessionId(): string {
  return randomBytes(24).toString('base64url');
}
