import { ErrorCodes, VallumError } from '@vallum/errors';

export const DemoErrorCodes = {
  OPTIONS_INVALID: ErrorCodes.DEMO_OPTIONS_INVALID,
} as const;

export class DemoOptionsError extends VallumError {
  constructor(message: string) {
    super(DemoErrorCodes.OPTIONS_INVALID, message, { status: 500, expose: false });
    this.name = 'DemoOptionsError';
  }
}
