import type { Command } from 'commander';

/** Every CLI command registers itself here, one module per noun. */
export function registerCommands(_program: Command): void {}
