import { EtcdSpotError } from '../core/errors.ts';

/**
 * A request to the emulator's model that cannot be honoured (unknown group, IP in use, bad value).
 * `status` is the HTTP status the control API answers with. `awsCode`, when set, is the error code the
 * AWS Query endpoints answer with (e.g. `ValidationError`); the message is then AWS's text.
 */
export class EmulatorError extends EtcdSpotError {
  readonly status: 400 | 404 | 409;
  readonly awsCode: string | undefined;
  constructor(message: string, status: 400 | 404 | 409, cause?: unknown, awsCode?: string) {
    const code =
      status === 404 ? 'EMULATOR_NOT_FOUND' : status === 409 ? 'EMULATOR_CONFLICT' : 'EMULATOR_INVALID';
    super(message, { code, retryable: false, cause });
    this.status = status;
    this.awsCode = awsCode;
  }
}
