import { VallumError, ErrorCodes } from '@vallum/errors';
import type { Decision } from '@vallum/policy';
import type { AuthorizeApi } from './apis.js';
import { callService, pingService, type ServiceEndpoint } from './call-service.js';

export function createHttpAuthorizeClient(endpoint: ServiceEndpoint): AuthorizeApi & { ping(): Promise<void> } {
  return {
    ping: () => pingService(endpoint),
    async evaluate(input) {
      const decision = await callService<Decision>(endpoint, { method: 'POST', path: '/v1/evaluate', body: input });
      if (!decision || typeof decision.allow !== 'boolean') {
        throw new VallumError(ErrorCodes.SERVICE_BAD_RESPONSE, 'authorize answered without a decision', { status: 502 });
      }
      return decision;
    },
  };
}
