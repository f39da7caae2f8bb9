import type { Command } from 'commander';
import { registerAgentCommand } from './agent.ts';
import { registerCertsCommand } from './certs.ts';
import { registerDrainCommand } from './drain.ts';
import { registerEmulatorCommand } from './emulator.ts';
import { registerMemberCommand } from './member.ts';
import { registerPlanCommand } from './plan.ts';
import { registerRenderCommand } from './render.ts';
import { registerRecoverCommand } from './recover.ts';
import { registerSimCommand } from './sim.ts';
import { registerSnapshotCommand } from './snapshot.ts';
import { registerStatusCommand } from './status.ts';

/** Every CLI command registers itself here, one module per noun. */
export function registerCommands(program: Command): void {
  registerAgentCommand(program);
  registerCertsCommand(program);
  registerDrainCommand(program);
  registerEmulatorCommand(program);
  registerMemberCommand(program);
  registerPlanCommand(program);
  registerRenderCommand(program);
  registerRecoverCommand(program);
  registerSimCommand(program);
  registerSnapshotCommand(program);
  registerStatusCommand(program);
}
