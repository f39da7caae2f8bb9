/**
 * zod schemas for everything the emulator accepts from outside (control API bodies, fault specs),
 * shared by the model (which validates what callers hand it) and the HTTP skin.
 */
import { z } from 'zod';
import { AWS_ROUTES, FAULT_ROUTES, SPOT_ROUTES } from './types.ts';
import type { AwsRoute, FaultRoute, FaultSpec, SpotRoute } from './types.ts';

export type LimitRoute = SpotRoute | AwsRoute;

/** Latency and timeout faults hold a request for real time; this bounds them. */
export const MAX_HOLD_MS = 60_000;

const ms = z.number().int().min(0);
const ipv4 = z
  .string()
  .regex(
    /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/,
    'expected a dotted IPv4 address',
  );

export const groupIdSchema = z.string().regex(/^sig-[A-Za-z0-9]{1,32}$/, 'expected sig-<letters/digits>');
/** AutoScalingGroupName as the emulator accepts it (AWS allows more; this keeps it URL- and XML-safe). */
export const asgNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/, 'expected letters, digits, . _ - (an AutoScalingGroupName)');
export const instanceIdSchema = z.string().regex(/^i-[0-9a-f]{8,17}$/, 'expected i-<hex>');

export const imdsSettingsSchema = z.strictObject({
  requireV2: z.boolean().optional(),
  tokenPut: z.union([z.literal('ok'), z.literal(403), z.literal(404), z.literal(405)]).optional(),
  tagsEnabled: z.boolean().optional(),
  down: z.boolean().optional(),
});

export const lifecycleHookSpecSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,255}$/, 'expected letters, digits, . _ -'),
  transition: z.enum(['autoscaling:EC2_INSTANCE_LAUNCHING', 'autoscaling:EC2_INSTANCE_TERMINATING']),
  heartbeatTimeoutSec: z.number().int().min(1).max(7200).optional(),
  defaultResult: z.enum(['CONTINUE', 'ABANDON']).optional(),
});

export const maintenancePolicySchema = z.strictObject({
  minHealthyPercentage: z.number().int().min(0).max(100),
  maxHealthyPercentage: z.number().int().min(100).max(200),
});

const asgSettings = {
  lifecycleHooks: z.array(lifecycleHookSpecSchema).max(50).optional(),
  capacityRebalance: z.boolean().optional(),
  tags: z.record(z.string().min(1).max(128), z.string().max(256)).optional(),
  instanceMaintenancePolicy: maintenancePolicySchema.optional(),
  proceedMs: ms.optional(),
  market: z.enum(['spot', 'on-demand']).optional(),
};

export const asgSpecSchema = z.strictObject({
  ...asgSettings,
  iamRole: z
    .string()
    .regex(/^[A-Za-z0-9+=,.@_-]{1,64}$/, 'expected an IAM role name')
    .optional(),
});
export const asgPatchSchema = z.strictObject(asgSettings);

const groupSettings = {
  name: z.string().min(1).max(255),
  minimum: z.number().int().min(0).optional(),
  maximum: z.number().int().min(0).optional(),
  autoReplace: z.boolean().optional(),
  replaceOn: z.enum(['terminating', 'terminated']).optional(),
  signalTimeoutMs: ms.optional(),
  shutdownSignal: z.boolean().optional(),
  launchDelayMs: ms.optional(),
  ipReuse: z.enum(['never', 'prefer']).optional(),
  imds: imdsSettingsSchema.optional(),
  instanceType: z.string().min(1).optional(),
  availabilityZones: z
    .array(z.string().regex(/^[a-z]+-[a-z]+-\d+[a-z]$/, 'expected an AZ such as us-east-1a'))
    .min(1)
    .optional(),
};

export const groupSpecSchema = z
  .strictObject({
    id: z.string().min(1).optional(),
    provider: z.enum(['elastigroup', 'asg']).optional(),
    asg: asgSpecSchema.optional(),
    targetCapacity: z.number().int().min(0),
    ...groupSettings,
  })
  .superRefine((g, ctx) => {
    if (g.provider === 'asg') {
      const name = asgNameSchema.safeParse(g.name);
      if (!name.success)
        ctx.addIssue({ code: 'custom', path: ['name'], message: name.error.issues[0]?.message ?? 'invalid' });
      if (g.id !== undefined && g.id !== g.name)
        ctx.addIssue({
          code: 'custom',
          path: ['id'],
          message: "an asg group's id is its name; leave id out",
        });
      return;
    }
    if (g.asg !== undefined)
      ctx.addIssue({ code: 'custom', path: ['asg'], message: "only with provider 'asg'" });
    if (g.id !== undefined && !groupIdSchema.safeParse(g.id).success)
      ctx.addIssue({ code: 'custom', path: ['id'], message: 'expected sig-<letters/digits>' });
  });

export const groupPatchSchema = z.strictObject({
  ...groupSettings,
  name: groupSettings.name.optional(),
  asg: asgPatchSchema.optional(),
});

export const capacitySchema = z.strictObject({ target: z.number().int().min(0) });

export const launchOptionsSchema = z.strictObject({
  privateIp: ipv4.optional(),
  reuseIp: z.boolean().optional(),
  warmed: z.boolean().optional(),
});

export const terminateInGroupSchema = z.strictObject({
  shouldDecrementDesiredCapacity: z.boolean().optional(),
});

export const completeActionSchema = z.strictObject({
  hookName: z.string().min(1).optional(),
  result: z.enum(['CONTINUE', 'ABANDON']).optional(),
});

export const protectionSchema = z.strictObject({ protected: z.boolean() });

export const healthSchema = z.strictObject({ healthStatus: z.enum(['Healthy', 'Unhealthy']) });

export const instanceRefreshSchema = z.strictObject({
  minHealthyPercentage: z.number().int().min(0).max(100).optional(),
  maxHealthyPercentage: z.number().int().min(100).max(200).optional(),
  /** Real time an instance must be InService before it counts as healthy (default 0). */
  instanceWarmupMs: ms.optional(),
});

export const interruptOptionsSchema = z.strictObject({
  noticeMs: ms.optional(),
  spotNotice: z.boolean().optional(),
  rebalance: z.boolean().optional(),
  lifecycle: z.boolean().optional(),
});

export const signalSchema = z.enum(['INSTANCE_READY', 'INSTANCE_READY_TO_SHUTDOWN']);

const faultCommon = {
  count: z.number().int().positive().optional(),
  untilMs: z.number().int().min(0).optional(),
  instanceId: instanceIdSchema.optional(),
};

export const faultSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('latency'), ms: ms.max(MAX_HOLD_MS), ...faultCommon }),
  z.strictObject({ kind: z.literal('status'), status: z.number().int().min(400).max(599), ...faultCommon }),
  z.strictObject({ kind: z.literal('timeout'), ms: ms.max(MAX_HOLD_MS), ...faultCommon }),
  z.strictObject({
    kind: z.literal('rate-limit'),
    resetSec: z.number().int().min(0).optional(),
    ...faultCommon,
  }),
  z.strictObject({ kind: z.literal('malformed'), ...faultCommon }),
  z.strictObject({ kind: z.literal('stale'), ...faultCommon }),
  z.strictObject({
    kind: z.literal('partial'),
    drop: z.array(instanceIdSchema).optional(),
    dropRandom: z.number().int().min(0).optional(),
    ...faultCommon,
  }),
  z.strictObject({ kind: z.literal('empty'), ...faultCommon }),
  z.strictObject({
    kind: z.literal('aws-error'),
    code: z.string().regex(/^[A-Za-z][A-Za-z0-9.]{0,99}$/, 'expected an AWS error code such as AccessDenied'),
    status: z.number().int().min(400).max(599).optional(),
    message: z.string().max(1000).optional(),
    ...faultCommon,
  }),
  z.strictObject({
    kind: z.literal('no-private-ip'),
    drop: z.array(instanceIdSchema).optional(),
    ...faultCommon,
  }),
]);

export const faultRouteSchema = z.enum(FAULT_ROUTES as [FaultRoute, ...FaultRoute[]]);
export const spotRouteSchema = z.enum(SPOT_ROUTES as [SpotRoute, ...SpotRoute[]]);
/** Routes a rate limit can be set on: a Spot route or one AWS action. */
export const limitRouteSchema = z.enum([...SPOT_ROUTES, ...AWS_ROUTES] as [LimitRoute, ...LimitRoute[]]);

export const rateLimitSchema = z.strictObject({
  limit: z.number().int().min(0),
  windowMs: z.number().int().positive().optional(),
});

/** One line per problem, each naming the field: `targetCapacity: Invalid input: expected number, received string`. */
export function formatIssues(error: z.ZodError, prefix = ''): string[] {
  return error.issues.map((i) => {
    const path = i.path.map(String).join('.');
    const field = [prefix, path].filter((p) => p !== '').join('.') || '(body)';
    return `${field}: ${i.message}`;
  });
}

// Compile-time check that the schemas accept exactly what the public types describe.
type Assert<T extends true> = T;
export type _FaultSchemaMatches = Assert<z.infer<typeof faultSpecSchema> extends FaultSpec ? true : false>;
