// The errors the proxy answers for itself, before any application is asked: no route for the host, no such Vallum
// page, a request target it will not read. The renderer in @vallum/server-kit turns them into a page or JSON.
import { ErrorCodes, VallumError } from '@vallum/errors';

export function noRouteError(host: string): VallumError {
  return new VallumError(ErrorCodes.ROUTE_NOT_FOUND, `No route is configured for ${host}.`, { status: 404 });
}

export function noSuchPageError(): VallumError {
  return new VallumError(ErrorCodes.ROUTE_NOT_FOUND, 'There is no such Vallum page.', { status: 404 });
}

/** A refusal from matchTarget (400: a target it will not read; 404: no route) as the error it answers with. */
export function refusalError(refusal: { status: number; message: string }): VallumError {
  return new VallumError(refusal.status === 404 ? ErrorCodes.ROUTE_NOT_FOUND : ErrorCodes.BAD_REQUEST, refusal.message, { status: refusal.status });
}
