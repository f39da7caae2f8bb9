/**
 * Runs agents in-process against the cloud emulator and real etcd processes (loopback only). Each
 * agent gets its own temp state/data dirs and a log file; `close()` stops every agent (and its etcd)
 * and removes the dirs, also after a failure.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/adapters/local/logger.ts';
import { runningEtcdPids } from '../../src/adapters/etcd/etcd-process.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { describeError } from '../../src/core/errors.ts';
import { createAgentRuntime } from '../../src/agent/wiring.ts';
import type { AgentRuntime, RuntimeOptions } from '../../src/agent/wiring.ts';
import type { RunningEmulator } from '../../src/emulator/server.ts';

export const TOKEN = 'agent-test-token';

export interface TestAgent {
  instanceId: string;
  privateIp: string;
  dir: string;
  logFile: string;
  runtime: AgentRuntime;
  /** Settles when the loop returns. */
  loop: Promise<void>;
  stop(): Promise<void>;
}

export function agentConfig(
  emu: RunningEmulator,
  groupId: string,
  instanceId: string,
  dir: string,
  extra: Record<string, string> = {},
): Config {
  // An Auto Scaling group (`extra['group.provider'] = 'asg'`): the group name comes from the instance
  // tag, the region from IMDS, the credentials from the emulated instance profile; only the endpoints
  // are configured (and a peer secret, which Spot.io's token gives an Elastigroup for free).
  const group: Record<string, string> =
    extra['group.provider'] === 'asg'
      ? {
          'group.provider': 'asg',
          'group.autoscalingEndpoint': emu.url,
          'group.ec2Endpoint': emu.url,
          'group.requestTimeout': '2s',
          'agent.peerSecret': 'asg-integration-test-peer-secret',
        }
      : {
          'group.provider': 'elastigroup',
          'group.groupId': groupId,
          'group.apiUrl': emu.url,
          'group.token': TOKEN,
          'group.requestTimeout': '2s',
        };
  const r = loadConfig({
    env: {},
    overrides: {
      ...group,
      'metadata.url': emu.imdsUrl(instanceId),
      'metadata.timeout': '1s',
      'etcd.dataDir': join(dir, 'data'),
      'etcd.callTimeout': '1s',
      'agent.stateDir': join(dir, 'state'),
      'agent.cycleInterval': '300ms',
      'agent.terminationPollInterval': '300ms',
      'agent.groupPollInterval': '300ms',
      'agent.memberDeadAfter': '3s',
      'log.level': 'debug',
      ...extra,
    },
  });
  if (!r.ok) throw new Error(`bad test config:\n${r.issues.join('\n')}`);
  return r.config;
}

/**
 * Starts one agent in-process for `instanceId`. `opts.config` adds config overrides, `opts.runtime`
 * runtime options (e.g. a snapshot store), `opts.prepare` runs on the agent's fresh dir first.
 */
export async function startAgent(
  emu: RunningEmulator,
  groupId: string,
  instanceId: string,
  opts: {
    config?: Record<string, string>;
    runtime?: Omit<RuntimeOptions, 'env' | 'logger'>;
    prepare?: (dir: string) => Promise<void>;
  } = {},
): Promise<TestAgent> {
  const inst = emu.state.getInstance(instanceId);
  if (!inst) throw new Error(`no instance ${instanceId}`);
  const dir = await mkdtemp(join(tmpdir(), `etcd-spot-agent-${instanceId}-`));
  await opts.prepare?.(dir);
  const logFile = join(dir, 'agent.log');
  const config = agentConfig(emu, groupId, instanceId, dir, opts.config);
  const logger = createLogger({ level: 'debug', destination: logFile, base: { instanceId } });
  const runtime = createAgentRuntime(config, { ...opts.runtime, env: {}, logger });
  const ac = new AbortController();
  await runtime.start(AbortSignal.any([ac.signal, AbortSignal.timeout(10_000)]));
  const loop = runtime.run(ac.signal);
  let stopped: Promise<void> | undefined;
  return {
    instanceId,
    privateIp: inst.privateIp,
    dir,
    logFile,
    runtime,
    loop,
    stop: () =>
      (stopped ??= (async () => {
        ac.abort();
        await loop;
        await runtime.shutdown();
      })()),
  };
}

/** Stops every agent (etcd included), kills any etcd still registered, removes the dirs. */
export async function closeAll(agents: TestAgent[], emu: RunningEmulator | undefined): Promise<void> {
  await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
  for (const pid of runningEtcdPids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await emu?.close();
  await Promise.all(agents.map((a) => rm(a.dir, { recursive: true, force: true })));
}

/** The last lines of an agent's log (for failure diagnostics). */
export async function logTail(a: TestAgent, lines = 40): Promise<string> {
  try {
    const text = await readFile(a.logFile, 'utf8');
    return text.trim().split('\n').slice(-lines).join('\n');
  } catch (err) {
    return `(no log: ${describeError(err)})`;
  }
}

/** Parsed JSON lines of an agent's log. */
export async function logLines(a: TestAgent): Promise<Record<string, unknown>[]> {
  const text = await readFile(a.logFile, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** One line per non-repeated decision: `+ms action: reason` (relative to t0). */
export async function timeline(a: TestAgent, t0: number): Promise<string> {
  const out: string[] = [`timeline of ${a.instanceId}:`];
  let last = '';
  for (const l of await logLines(a)) {
    if (l.msg !== 'plan' && l.msg !== 'action done') continue;
    const at = Date.parse(String(l.time)) - t0;
    const text =
      l.msg === 'plan'
        ? `${String(l.action)}: ${String(l.reason).slice(0, 160)}`
        : `  → ${l.progressed ? 'progressed' : 'no progress'} in ${String(l.ms)} ms ${String(l.detail ?? '').slice(0, 120)}`;
    if (text === last) continue;
    last = text;
    out.push(`+${at} ms ${text}`);
  }
  return out.join('\n');
}
