/**
 * A group provider (issue 10): everything etcd-spot needs from one kind of cloud group, as one unit,
 * so that `elastigroup`, `asg` and `static` plug into the agent the same way and a fourth (GCP managed
 * instance groups, Azure scale sets) adds a folder under src/providers/ and a registry entry, and
 * touches neither the core nor the composition root:
 *
 * - the {@link InstanceGroup}: instances with private IPs, desired capacity, lifecycle state, and the
 *   release call `signalReadyToShutdown` ("this member has left, terminate now": Spot.io's
 *   INSTANCE_READY_TO_SHUTDOWN, ASG's CompleteLifecycleAction CONTINUE);
 * - its termination sources (what tells this instance that it is going away);
 * - what runs while a leave is under way (ASG: lifecycle-action heartbeats), through `onNotice`;
 * - its credentials (resolved in `create`: a missing credential is a ConfigError at start, never a
 *   cycle error), and the shared secret they give every agent of the group, if any;
 * - its start-up checks of the deployment (warnings, never a refusal).
 *
 * Providers hold SDKs; the core and the agent see only the ports.
 */
import type { Config, ProviderName } from '../config/schema.ts';
import type { NoticeView } from '../core/observation.ts';
import type { Clock } from '../ports/clock.ts';
import type { InstanceGroup } from '../ports/instance-group.ts';
import type { InstanceIdentity, InstanceMetadata } from '../ports/instance-metadata.ts';
import type { Logger } from '../ports/logger.ts';
import type { TerminationSource } from '../ports/termination-source.ts';

/** What a provider is built from besides its config section. */
export interface ProviderDeps {
  /** This instance's metadata service (identity, tags, region, termination paths). */
  metadata: InstanceMetadata;
  clock: Clock;
  logger: Logger;
  /** The environment (credentials, endpoint overrides); only the composition root reads process.env. */
  env: Record<string, string | undefined>;
  /** Told about every cloud API request made (metrics): its route and HTTP status or failure. Must not throw. */
  onCloudCall?: (route: string, status: number | 'timeout' | 'unreachable') => void;
  /** Replaces the provider's group (tests); the provider then resolves no credentials for it. */
  group?: InstanceGroup;
}

/** Settings the agent derives from a provider's config section alone (no I/O). */
export interface ProviderSettings {
  /** Deadline of one call to the cloud API. */
  cloudTimeoutMs: number;
  /** The group's id when configured (it prefixes the bootstrap token and names snapshot folders). */
  groupId?: string;
}

/** One built provider. */
export interface Provider {
  readonly name: ProviderName;
  /** The group, built on first use where it needs the instance metadata (the group name from a tag). */
  readonly group: InstanceGroup;
  /**
   * What the agents' peer key is derived from when `agent.peerSecret` is not configured: a secret every
   * agent of the group already holds (`spot-token`: the Spot.io token), or one only this lone instance
   * needs (`secret`: a static group of one). Undefined: the peer secret must be configured (asg).
   */
  readonly sharedSecret?: { value: string; derive: 'spot-token' | 'secret' };
  /** This instance's termination sources, built once its identity is known. */
  terminationSources(self: InstanceIdentity): TerminationSource[];
  /**
   * A termination notice appeared (the watcher's first sight of it). ASG starts its lifecycle-action
   * heartbeats here; they stop at the release call or at {@link close}. Must not throw.
   */
  onNotice?(notice: NoticeView, self: InstanceIdentity): void;
  /**
   * Checks the deployment once at start-up (e.g. the group waits for the leave), logs one warning line
   * per broken guarantee and returns them. Never throws; a failed read is logged as a warning too.
   */
  checkDeployment(identity: InstanceIdentity, signal?: AbortSignal): Promise<string[]>;
  /** Stops background work (heartbeats). */
  close(): Promise<void>;
}

/** Builds one kind of provider. Registered by name in `registry.ts`. */
export interface ProviderFactory<N extends ProviderName = ProviderName> {
  readonly name: N;
  /** The settings of this provider's config section (pure). */
  settings(group: Extract<Config['group'], { provider: N }>): ProviderSettings;
  /** Builds the provider; throws ConfigError when its credentials or settings are missing. */
  create(config: Config & { group: Extract<Config['group'], { provider: N }> }, deps: ProviderDeps): Provider;
}
