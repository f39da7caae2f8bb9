/** Public surface of the cloud emulator. */
export { CloudState, DEFAULT_RATE_LIMIT } from './state.ts';
export type {
  ActiveFault,
  CloudStateOptions,
  EventListener,
  InstanceCredentials,
  InstanceRefreshView,
  SignalResult,
  StateSnapshot,
} from './state.ts';
export { EmulatorError } from './errors.ts';
export { startEmulator, parseListen } from './server.ts';
export type { RunningEmulator, StartEmulatorOptions } from './server.ts';
export { createEmulatorApp } from './http/app.ts';
export { createSpotApp } from './http/spot.ts';
export { createImdsApp, handleImds } from './http/imds.ts';
export { createControlApp } from './http/control.ts';
export { createAwsApp } from './http/aws.ts';
export type * from './types.ts';
