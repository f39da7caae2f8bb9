/**
 * Identifiers. Instance ids are the cloud's (`i-…`); member ids are etcd's uint64 raft ids, which
 * etcd3 hands out as decimal strings and etcdctl shows as hex. Inside etcd-spot a member id is always
 * canonical 16-digit lowercase hex; conversion happens only at the etcd adapter.
 */
export type InstanceId = string;
/** 16-digit lowercase hex, e.g. `8e9e05c52164694d`. */
export type MemberId = string;

const HEX16 = /^[0-9a-f]{16}$/;

export function memberIdFromDecimal(decimal: string): MemberId {
  return BigInt(decimal).toString(16).padStart(16, '0');
}

export function memberIdToDecimal(id: MemberId): string {
  return BigInt('0x' + id).toString(10);
}

/** Accepts hex as etcdctl prints it (with or without leading zeros, any case) and returns the canonical form. */
export function parseMemberId(text: string): MemberId {
  const t = text.trim().toLowerCase().replace(/^0x/, '');
  if (!/^[0-9a-f]{1,16}$/.test(t))
    throw new Error(`not a member id (expected up to 16 hex digits): ${JSON.stringify(text)}`);
  return t.padStart(16, '0');
}

export function isMemberId(text: string): text is MemberId {
  return HEX16.test(text);
}

/** Peer URL etcd-spot uses for an instance: http://<privateIp>:2380 by default. */
export function peerUrlFor(privateIp: string, peerPort = 2380, scheme = 'http'): string {
  return `${scheme}://${privateIp}:${peerPort}`;
}

export function clientUrlFor(privateIp: string, clientPort = 2379, scheme = 'http'): string {
  return `${scheme}://${privateIp}:${clientPort}`;
}
