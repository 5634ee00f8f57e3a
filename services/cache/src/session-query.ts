import type { SessionQuery } from '@vallum/service-client';
import type { Session } from '@vallum/session';

export function matchesQuery(session: Session, query: SessionQuery): boolean {
  return (query.sub === undefined || session.sub === query.sub) && (query.idpSid === undefined || session.idpSid === query.idpSid);
}
