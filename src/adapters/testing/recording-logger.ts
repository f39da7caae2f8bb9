// Shared with the agent's fakes: one recording logger for every unit test.
export { recordingLogger } from '../../../test/support/recording-logger.ts';
export type { LogEntry } from '../../../test/support/recording-logger.ts';
