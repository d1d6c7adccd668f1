/**
 * Config shape of `services.<name>.limits` (forward/service-limits.ts enforces it). Kept beside
 * schema.ts so the main schema only plugs it in.
 */
import { z } from 'zod';

const positive = (what: string) =>
  z.number({ error: `${what} must be a number` }).refine((n) => Number.isFinite(n) && n > 0, { message: `${what} must be more than 0` });
const wholeAtLeastOne = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .min(1, `${what} must be at least 1`)
    .max(1_000_000, `${what} must be at most 1000000`);

/**
 * `services.<name>.limits`: a token bucket (`requestsPerSecond` refill, `burst` capacity,
 * default `requestsPerSecond` rounded up) and/or a cap on requests in flight. Per proxy replica.
 */
export const serviceLimitsSchema = z
  .strictObject(
    {
      requestsPerSecond: positive('requestsPerSecond').optional(),
      burst: wholeAtLeastOne('burst').optional(),
      maxConcurrent: wholeAtLeastOne('maxConcurrent').optional(),
    },
    { error: 'limits must be a mapping like { requestsPerSecond: 10, burst: 20, maxConcurrent: 5 }' },
  )
  .superRefine((limits, ctx) => {
    if (limits.burst !== undefined && limits.requestsPerSecond === undefined) {
      ctx.addIssue({ code: 'custom', path: ['burst'], message: 'burst needs requestsPerSecond (the rate that refills it)' });
    }
    if (limits.requestsPerSecond === undefined && limits.maxConcurrent === undefined) {
      ctx.addIssue({ code: 'custom', message: 'limits must set requestsPerSecond, maxConcurrent or both' });
    }
  });

export type ServiceLimitsConfig = z.infer<typeof serviceLimitsSchema>;
