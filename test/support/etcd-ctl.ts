import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseMemberId, type MemberId } from '../../src/core/ids.ts';

const run = promisify(execFile);

/** Runs etcdctl (API v3) with a deadline; resolves with stdout, rejects with stderr in the message. */
export async function etcdctl(args: string[], timeoutMs = 10_000): Promise<string> {
  try {
    const { stdout } = await run('etcdctl', args, {
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message?: string };
    throw new Error(`etcdctl ${args.join(' ')} failed: ${(err.stderr ?? '').trim() || err.message}`, {
      cause: e,
    });
  }
}

export interface EtcdctlMember {
  id: MemberId;
  status: string;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

/**
 * Parses `etcdctl member list` in its default "simple" form (`id, status, name, peers, clients,
 * learner`), whose ids are hex. The JSON form is useless here: it prints uint64 ids as bare JSON
 * numbers, which JSON.parse corrupts (etcd-physics §8).
 */
export function parseMemberListSimple(stdout: string): EtcdctlMember[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((line) => {
      const f = line.split(', ');
      if (f.length !== 6) throw new Error(`unexpected etcdctl member list line: ${line}`);
      const [id, status, name, peers, clients, learner] = f as [
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      const urls = (s: string) => (s === '' ? [] : s.split(','));
      return {
        id: parseMemberId(id),
        status,
        name,
        peerUrls: urls(peers),
        clientUrls: urls(clients),
        isLearner: learner === 'true',
      };
    });
}
