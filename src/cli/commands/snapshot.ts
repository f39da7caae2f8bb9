/**
 * `etcd-spot snapshot save | list | verify | restore`: the configured snapshot store (`snapshot.*`)
 * from the command line, with etcdctl-like tables and `--json`. Every snapshot this writes or picks
 * passes the same checks as the agent's: etcd's SHA-256 trailer, then size and SHA-256 read back from
 * the store. Nothing here deletes a snapshot except retention after a successful `save`.
 */
import type { Command } from 'commander';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { ExitError, describeError, errorCode } from '../../core/errors.ts';
import type { Config } from '../../config/schema.ts';
import type { SnapshotManifest, SnapshotStore } from '../../ports/snapshot-store.ts';
import { EXIT } from '../exit-codes.ts';
import { cliRun, noteLogLevel } from '../output.ts';
import {
  outputFormat,
  renderDocument,
  renderTable,
  siBytes,
  withOutputOptions,
  type OutputFlags,
} from '../format.ts';
import {
  cliEtcdTls,
  clientSchemeOf,
  configErrorToExit,
  loadConfigFromFlags,
  withConfigOptions,
} from './agent.ts';
import type { ConfigFlags } from './agent.ts';
import { parseEndpoints } from './target-flags.ts';

interface SnapshotFlags extends ConfigFlags, OutputFlags {
  groupId?: string;
}

/** One table, columns padded, the last one not (etcdctl's `-w table` without the borders). */
export function formatTable(header: string[], rows: string[][], noHeaders = false): string {
  if (noHeaders) return renderTable(header, rows, true);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** Sizes like etcdctl: SI units (1 kB = 1000 B). */
export function humanBytes(n: number): string {
  return siBytes(n);
}

/** The `snapshot list` table; `wide` shows the whole SHA-256. */
export function formatSnapshotTable(
  list: readonly SnapshotManifest[],
  opts: { wide?: boolean; noHeaders?: boolean } = {},
): string {
  return formatTable(
    [
      'NAME',
      'CLUSTER ID',
      'REVISION',
      'RAFT INDEX',
      'MEMBERS',
      'ETCD',
      'SIZE',
      'SHA256',
      'TAKEN BY',
      'REASON',
    ],
    list.map((m) => [
      m.name,
      m.clusterId,
      String(m.revision),
      String(m.raftIndex),
      String(m.memberCount),
      m.etcdVersion,
      humanBytes(m.sizeBytes),
      opts.wide === true ? m.sha256 : m.sha256.slice(0, 12),
      m.takenBy,
      m.reason,
    ]),
    opts.noHeaders === true,
  );
}

function groupIdOf(config: Config, flags: SnapshotFlags): string {
  // The agents file snapshots under the Elastigroup id or the Auto Scaling group's name.
  const g = config.group;
  const id =
    flags.groupId ??
    (g.provider === 'elastigroup' ? g.groupId : g.provider === 'asg' ? g.groupName : undefined);
  if (id === undefined)
    throw new ExitError(
      'snapshot: no group id; pass --group-id or set group.groupId (group.groupName for an Auto Scaling group; snapshots are filed under it)',
      EXIT.badArgs,
      { code: 'USAGE' },
    );
  return id;
}

async function openStore(config: Config): Promise<SnapshotStore> {
  const { createSnapshotStore } = await import('../../adapters/snapshots/create-store.ts');
  let store: SnapshotStore | undefined;
  try {
    store = await createSnapshotStore(config.snapshot);
  } catch (err) {
    throw configErrorToExit(err);
  }
  if (store === undefined)
    throw new ExitError(
      "snapshot: no snapshot store is configured; set snapshot.store to 'fs' (with snapshot.dir) or 's3' (with snapshot.bucket)",
      EXIT.badArgs,
      { code: 'USAGE' },
    );
  return store;
}

/** A store failure as an exit: one line naming the store and the fix, exit 1. */
function storeFailure(err: unknown): unknown {
  if (err instanceof ExitError) return err;
  return new ExitError(describeError(err), EXIT.failure, { cause: err, code: errorCode(err) ?? 'FAILED' });
}

function print(flags: SnapshotFlags, doc: object, text: () => string): void {
  const format = outputFormat(flags);
  if (format === 'json' || format === 'yaml') {
    process.stdout.write(renderDocument(format, doc));
    cliRun.jsonWritten = true;
  } else process.stdout.write(text());
}

async function withStore<T>(
  flags: SnapshotFlags,
  run: (store: SnapshotStore, config: Config, groupId: string) => Promise<T>,
): Promise<T> {
  outputFormat(flags);
  const config = loadConfigFromFlags(flags);
  noteLogLevel(config.log.level);
  const groupId = groupIdOf(config, flags);
  const store = await openStore(config);
  try {
    return await run(store, config, groupId);
  } catch (err) {
    throw storeFailure(err);
  } finally {
    await store.close?.();
  }
}

function common(cmd: Command): Command {
  return withOutputOptions(
    withConfigOptions(cmd).option(
      '--group-id <id>',
      'the group whose snapshots to use (default: group.groupId)',
    ),
  );
}

export function registerSnapshotCommand(program: Command): void {
  const snap = program
    .command('snapshot')
    .description('Save, list, verify and restore etcd snapshots in the configured store (snapshot.*).');

  common(
    snap
      .command('save')
      .description('Take a snapshot now, verify it, upload it, read it back, then apply retention.')
      .option(
        '--endpoints <urls>',
        'etcd client URLs; the first that answers is snapshotted (default: http://127.0.0.1:<etcd.clientPort>)',
      )
      .option('--reason <text>', 'recorded in the manifest', 'on demand'),
  ).action(async (flags: SnapshotFlags & { endpoints?: string; reason: string }) => {
    await withStore(flags, async (store, config, groupId) => {
      const endpoints = parseEndpoints(flags.endpoints) ?? [
        `${clientSchemeOf(config)}://127.0.0.1:${config.etcd.clientPort}`,
      ];
      const [{ createEtcdCluster }, { takeSnapshot }, { retentionFromConfig }] = await Promise.all([
        import('../../adapters/etcd/etcd3-cluster.ts'),
        import('../../adapters/snapshots/snapshots.ts'),
        import('../../adapters/snapshots/create-store.ts'),
      ]);
      const etcd = createEtcdCluster({
        callTimeoutMs: config.etcd.callTimeoutMs,
        ...(await cliEtcdTls(config)),
      });
      try {
        let url: string | undefined;
        const tried: string[] = [];
        for (const e of endpoints) {
          try {
            await etcd.status(e, AbortSignal.timeout(config.etcd.callTimeoutMs));
            url = e;
            break;
          } catch (err) {
            tried.push(`${e}: ${describeError(err)}`);
          }
        }
        if (url === undefined)
          throw new ExitError(
            `no etcd member answered (${tried.join('; ')}); is etcd running? check --endpoints`,
            EXIT.etcdUnavailable,
            { code: 'ETCD_UNREACHABLE' },
          );
        const members = await etcd.listMembers([url], AbortSignal.timeout(config.etcd.callTimeoutMs));
        const r = await takeSnapshot({
          etcd,
          clientUrl: url,
          store,
          groupId,
          takenBy: 'cli',
          reason: flags.reason,
          memberCount: members.length,
          tmpDir: config.snapshot.tmpDir ?? tmpdir(),
          retention: retentionFromConfig(config.snapshot),
          now: Date.now,
          signal: AbortSignal.timeout(config.snapshot.timeoutMs),
        });
        print(flags, { snapshot: r.manifest, expired: r.expired, retentionError: r.retentionError }, () =>
          [
            `Snapshot saved and verified in ${store.description}:`,
            formatSnapshotTable([r.manifest]).trimEnd(),
            ...(r.expired.length > 0 ? [`retention deleted: ${r.expired.join(', ')}`] : []),
            ...(r.retentionError !== undefined ? [`retention failed: ${r.retentionError}`] : []),
            '',
          ].join('\n'),
        );
      } finally {
        await etcd.close();
      }
    });
  });

  common(
    snap
      .command('list')
      .description('List the snapshots of the group, oldest first.')
      .option('--cluster-id <hex>', 'only this cluster'),
  ).action(async (flags: SnapshotFlags & { clusterId?: string }) => {
    await withStore(flags, async (store, _config, groupId) => {
      const { manifests, problems } = await store.list(groupId);
      const list = manifests.filter((m) => flags.clusterId === undefined || m.clusterId === flags.clusterId);
      for (const p of problems) process.stderr.write(`warning: ${p.key}: ${p.error}\n`);
      print(flags, { store: store.description, groupId, snapshots: list, problems }, () =>
        list.length === 0
          ? `no snapshots of group ${groupId} in ${store.description}\n`
          : formatSnapshotTable(list, {
              wide: outputFormat(flags) === 'wide',
              noHeaders: flags.headers === false,
            }),
      );
    });
  });

  common(
    snap
      .command('verify [name]')
      .description(
        'Read snapshots back from the store and check size, SHA-256 and etcd’s own hash (default: the newest).',
      )
      .option('--all', 'verify every snapshot of the group'),
  ).action(async (name: string | undefined, flags: SnapshotFlags & { all?: boolean }) => {
    await withStore(flags, async (store, _config, groupId) => {
      const { verifyStoredSnapshot } = await import('../../adapters/snapshots/snapshots.ts');
      const { manifests } = await store.list(groupId);
      const chosen =
        name !== undefined
          ? manifests.filter((m) => m.name === name)
          : flags.all === true
            ? manifests
            : manifests.slice(-1);
      if (chosen.length === 0)
        throw new ExitError(
          name !== undefined
            ? `no snapshot named ${name} in group ${groupId} (see 'etcd-spot snapshot list')`
            : `no snapshots of group ${groupId} in ${store.description}`,
          EXIT.failure,
          { code: 'SNAPSHOT_NOT_FOUND' },
        );
      const results: { name: string; clusterId: string; ok: boolean; code?: string; error?: string }[] = [];
      for (const m of chosen) {
        try {
          await verifyStoredSnapshot(store, m);
          results.push({ name: m.name, clusterId: m.clusterId, ok: true });
        } catch (err) {
          results.push({
            name: m.name,
            clusterId: m.clusterId,
            ok: false,
            code: errorCode(err) ?? 'FAILED',
            error: describeError(err),
          });
        }
      }
      const bad = results.filter((r) => !r.ok);
      print(flags, { store: store.description, groupId, results }, () =>
        formatTable(
          ['NAME', 'CLUSTER ID', 'STATUS', 'DETAIL'],
          results.map((r) => [r.name, r.clusterId, r.ok ? 'ok' : (r.code ?? 'FAILED'), r.error ?? '']),
          flags.headers === false,
        ),
      );
      if (bad.length > 0) {
        cliRun.jsonWritten = outputFormat(flags) === 'json';
        throw new ExitError(
          `${bad.length} of ${results.length} snapshot${results.length === 1 ? '' : 's'} failed verification`,
          EXIT.failure,
          { code: 'SNAPSHOT_VERIFY_FAILED' },
        );
      }
    });
  });

  common(
    snap
      .command('restore')
      .description(
        'Restore the newest snapshot that passes every check (or --from <name>) into an empty data dir, with etcdutl or etcdctl.',
      )
      .requiredOption('--data-dir <dir>', 'the new data dir (must be empty or absent)')
      .requiredOption('--name <name>', "this member's name (etcd-spot uses the instance id)")
      .requiredOption('--peer-url <url>', "this member's peer URL, e.g. http://10.0.0.5:2380")
      .option('--initial-cluster <list>', 'name=peerURL,… (default: this member alone)')
      .option('--cluster-token <token>', 'the new cluster token (default: <group>-restore-<time>)')
      .option('--from <name>', 'this snapshot instead of the newest')
      .option('--cluster-id <hex>', 'refuse snapshots of any other cluster'),
  ).action(
    async (
      flags: SnapshotFlags & {
        dataDir: string;
        name: string;
        peerUrl: string;
        initialCluster?: string;
        clusterToken?: string;
        from?: string;
        clusterId?: string;
      },
    ) => {
      await withStore(flags, async (store, config, groupId) => {
        const [{ newestVerifiedSnapshot }, { restoreSnapshot }, { readEtcdBinaryVersion }] =
          await Promise.all([
            import('../../adapters/snapshots/snapshots.ts'),
            import('../../adapters/snapshots/restore.ts'),
            import('../../adapters/etcd/etcd-binary-version.ts'),
          ]);
        const local = await readEtcdBinaryVersion(config.etcd.binary);
        const only: SnapshotStore =
          flags.from === undefined
            ? store
            : {
                ...store,
                list: async (g, s) => {
                  const r = await store.list(g, s);
                  return { ...r, manifests: r.manifests.filter((m) => m.name === flags.from) };
                },
              };
        const snap = await newestVerifiedSnapshot(only, groupId, undefined, {
          ...(flags.clusterId !== undefined ? { clusterId: flags.clusterId } : {}),
          ...(local.ok ? { etcdVersion: local.version } : {}),
          tmpDir: config.snapshot.tmpDir ?? tmpdir(),
        });
        if (snap === undefined)
          throw new ExitError(
            flags.from !== undefined
              ? `no snapshot named ${flags.from} in group ${groupId}`
              : `no snapshots of group ${groupId} in ${store.description}`,
            EXIT.failure,
            { code: 'SNAPSHOT_NOT_FOUND' },
          );
        try {
          for (const s of snap.skipped) process.stderr.write(`skipped ${s.name}: ${s.error}\n`);
          const r = await restoreSnapshot({
            file: snap.file,
            dataDir: flags.dataDir,
            name: flags.name,
            peerUrl: flags.peerUrl,
            initialCluster: flags.initialCluster ?? `${flags.name}=${flags.peerUrl}`,
            clusterToken: flags.clusterToken ?? `${groupId}-restore-${Date.now()}`,
          });
          print(
            flags,
            { restored: snap.manifest, dataDir: flags.dataDir, tool: r.tool, skipped: snap.skipped },
            () =>
              `Restored ${snap.manifest.name} (cluster ${snap.manifest.clusterId}, revision ${snap.manifest.revision}) into ${flags.dataDir} with ${r.tool}; start etcd on it as a new cluster\n`,
          );
        } finally {
          await rm(snap.file, { force: true });
        }
      });
    },
  );
}
