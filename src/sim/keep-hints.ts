/**
 * What `sim --keep` prints once the verdict is out: ready-to-paste command lines to look at the kept
 * fleet from another terminal, with everything they need (the emulator's URL and token, the group,
 * the etcd endpoints, the TLS files). Pure, so the lines are tested as text and, in an e2e test, run.
 */

export interface KeptFleet {
  provider: 'elastigroup' | 'asg' | 'static';
  /** The emulator's base URL (Spot.io API, AWS endpoints). */
  emulatorUrl: string;
  /** The Elastigroup id, or the Auto Scaling group's name. */
  groupId: string;
  /** The Spot.io token the emulator accepts. */
  token: string;
  /** The AWS credentials the emulator accepts (asg). */
  aws?: { accessKeyId: string; secretAccessKey: string; region: string };
  /** etcd client URLs of the running members. */
  clientUrls: readonly string[];
  /** TLS files for etcdctl and `etcd-spot status` (the simulator's observer certificate). */
  tls?: { cacert: string; cert: string; key: string };
}

/** A shell word: as is when it is safe, else single-quoted. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The lines: an `etcd-spot status` with the group's API, and etcdctl's member list and endpoint status
 * tables. `etcdSpot` is how to run etcd-spot here (`etcd-spot`, or `npx etcd-spot` in a checkout).
 */
export function keepHintLines(f: KeptFleet, etcdSpot = 'etcd-spot'): string[] {
  const endpoints = f.clientUrls.join(',');
  const tls =
    f.tls === undefined
      ? ''
      : ` --cacert ${shellWord(f.tls.cacert)} --cert ${shellWord(f.tls.cert)} --key ${shellWord(f.tls.key)}`;
  const status =
    f.provider === 'asg'
      ? `AWS_ACCESS_KEY_ID=${shellWord(f.aws?.accessKeyId ?? 'sim')} AWS_SECRET_ACCESS_KEY=${shellWord(f.aws?.secretAccessKey ?? 'sim')} ${etcdSpot} status --set group.provider=asg --set group.region=${shellWord(f.aws?.region ?? 'us-east-1')} --set group.autoscalingEndpoint=${shellWord(f.emulatorUrl)} --set group.ec2Endpoint=${shellWord(f.emulatorUrl)} --group-id ${shellWord(f.groupId)}`
      : `SPOTINST_TOKEN=${shellWord(f.token)} ${etcdSpot} status --api-url ${shellWord(f.emulatorUrl)} --group-id ${shellWord(f.groupId)}`;
  return [
    '--keep: the fleet keeps running until Ctrl-C. From another terminal:',
    `  ${status} --endpoints ${shellWord(endpoints)}${tls}`,
    `  etcdctl --endpoints=${shellWord(endpoints)}${tls} member list -w table`,
    `  etcdctl --endpoints=${shellWord(endpoints)}${tls} endpoint status -w table`,
    `emulator: ${f.emulatorUrl} (group ${f.groupId}${f.provider === 'elastigroup' ? `, token ${f.token}` : ''})`,
  ];
}
