// What every admin API call shares: its prefix, the gate that lets an admin through, and the one log line per call.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Session } from '@vallum/session';

export const ADMIN_PREFIX = '/.vallum/admin/v1';

export interface AdminAction {
  action: string;
  target: string;
}

export type AdminGate = (req: FastifyRequest, reply: FastifyReply, action: AdminAction) => Promise<Session | undefined>;

/** One info line per admin call: who (email and sub), what, on what, and the request id; never a token. */
export function logAdminAction(req: FastifyRequest, by: Session, action: AdminAction, outcome: 'done' | 'denied', extra: Record<string, unknown> = {}): void {
  req.log.info(
    { admin: by.email || by.sub, admin_sub: by.sub, action: action.action, target: action.target, outcome, request_id: req.id, ...extra },
    outcome === 'done' ? 'admin action' : 'admin action denied',
  );
}
