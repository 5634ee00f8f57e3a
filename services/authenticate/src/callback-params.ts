// The IdP's answer on the callback names each OAuth parameter once. A repeated one (`?code=a&code=b`) is refused
// before anything reads it: parsers disagree on which copy wins, and that disagreement is what an injected
// parameter relies on.
import { VallumError, ErrorCodes } from '@vallum/errors';

const SINGLE = ['code', 'state', 'iss', 'error', 'error_description', 'error_uri', 'session_state'];

export function assertSingleCallbackParams(search: URLSearchParams): void {
  for (const name of SINGLE) {
    if (search.getAll(name).length > 1) {
      throw new VallumError(ErrorCodes.SIGN_IN_FAILED, `The sign-in response named "${name}" more than once. Please start again.`, { status: 400 });
    }
  }
}
