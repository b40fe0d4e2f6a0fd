/**
 * Field types shared by several sections of the values model. Each message completes the sentence
 * `<path>: <value> ...`.
 */
import { isIP } from 'node:net';
import * as z from 'zod';
import { bytes, canonicalIpText, DURATION, MAX_DURATION, MAX_DURATION_NANOS, millicores, nanoseconds, seconds } from './units.ts';

/** How far back Prometheus looks for a sample (its default `--query.lookback-delta`). */
const LOOKBACK_DELTA = '5m';
/**
 * The most `scrapeInterval + scrapeTimeout` may take. Prometheus stamps a sample with the time its scrape
 * started, and a scrape may end `scrapeTimeout` later: just before the next sample lands, the last one is
 * that sum old. Past the lookback a series vanishes between scrapes, pending alerts reset and `up == 0`
 * stops firing; a minute of margin absorbs scheduling jitter and slow rule evaluations.
 */
export const LOOKBACK_BUDGET = '4m';

/**
 * Refuses a scrape interval and timeout whose sum reaches past {@link LOOKBACK_BUDGET}, on the interval's path.
 */
export function checkLookback(ctx: z.core.$RefinementCtx, path: PropertyKey[], where: string, interval: string, timeout: string): void {
  const total = seconds(interval) + seconds(timeout);
  if (total > seconds(LOOKBACK_BUDGET)) {
    ctx.addIssue({
      code: 'custom',
      path,
      input: interval,
      message: `is too long with ${where}.scrapeTimeout (${timeout}): scrapeInterval + scrapeTimeout is ${total}s, more than ${LOOKBACK_BUDGET} (Prometheus's ${LOOKBACK_DELTA} lookback less a minute of margin), so series would vanish between scrapes and alerts would reset`,
    });
  }
}

/** A Prometheus-style duration, greater than zero and no longer than {@link MAX_DURATION}. */
export const duration = () =>
  z
    .string()
    .regex(DURATION, { error: 'is not a duration like 15d or 36h', abort: true })
    .refine((v) => seconds(v) > 0, { error: 'is not a duration like 15d or 36h', abort: true })
    .refine((v) => nanoseconds(v) <= MAX_DURATION_NANOS, {
      error: `is longer than ${MAX_DURATION}, the longest duration Prometheus, Loki, Tempo and Grafana can represent (Go's time.Duration)`,
      abort: true,
    });

/** A byte size with a Prometheus unit (`512MB`, `50GB`). */
export const byteSize = () =>
  z.string().regex(/^[1-9]\d*(B|KB|MB|GB|TB|PB|EB)$/, { error: 'is not a size like 512MB or 50GB (units B, KB, MB, GB, TB, PB, EB)' });

/**
 * How long a workload may take to start before its liveness probe counts: the budget of its startup probe.
 * A restart in the middle of a long start (a WAL replay, a migration) would only start it over.
 */
export const startupTimeout = (fallback: string, what: string) =>
  duration()
    .refine((v) => seconds(v) >= 60, { error: 'is shorter than 1m' })
    .default(fallback)
    .describe(`How long the container may take to start before liveness probes count: ${what}.`);

/** An IPv4 or IPv6 network in CIDR notation. */
export const cidr = () =>
  z.string().refine(
    (v) => {
      const [address, bits, ...rest] = v.split('/');
      const max = isIP(address ?? '') === 4 ? 32 : isIP(address ?? '') === 6 ? 128 : 0;
      return rest.length === 0 && max > 0 && bits !== undefined && /^\d{1,3}$/.test(bits) && Number(bits) <= max;
    },
    { error: 'is not a network in CIDR notation like 10.20.0.0/16' },
  );

/** A storage or memory quantity for Kubernetes, in binary units the stack can reason about. */
export const quantity = () => z.string().regex(/^[1-9]\d*(Mi|Gi|Ti)$/, { error: 'is not a quantity like 512Mi, 10Gi or 1Ti' });

/** A CPU quantity: millicores (`250m`) or cores (`1`, `0.5`). */
export const cpuQuantity = () =>
  z
    .string()
    .regex(/^([1-9]\d*m|\d+(\.\d{1,3})?)$/, { error: 'is not a CPU quantity like 250m or 2' })
    .refine((v) => v.endsWith('m') || Number(v) > 0, { error: 'is not a CPU quantity like 250m or 2' });

/** An RFC 1123 DNS label: what Kubernetes requires of namespace and Service names. */
export const dnsLabel = () =>
  z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, {
    error: 'is not a DNS label (lower-case letters, digits and -, starting and ending alphanumeric, at most 63 characters)',
  });

/**
 * An IP address in the form the receivers write it: Go's `net.IP.String()`, which is RFC 5952 for IPv6
 * (lower case, the longest run of zero groups shortened to `::`) and plain dotted IPv4 for an IPv4-mapped
 * address. A label or a relabel regex only matches that exact text, so any other spelling is refused with
 * the one to write.
 */
export const canonicalIp = () =>
  z
    .string()
    .refine((v) => isIP(v) !== 0, { error: 'is not an IP address', abort: true })
    .superRefine((v, ctx) => checkCanonicalIp(v, ctx));

/** Reports a valid IP address that is not written in its canonical form (see {@link canonicalIp}). */
export function checkCanonicalIp(address: string, ctx: z.core.$RefinementCtx<string>): void {
  const canonical = canonicalIpText(address);
  if (canonical !== address) {
    ctx.addIssue({
      code: 'custom',
      input: address,
      message: `is not in canonical form: write ${JSON.stringify(canonical)}, as the receivers print it (RFC 5952 for IPv6, an IPv4-mapped address as IPv4)`,
    });
  }
}

/** A TCP/UDP port number. */
export const port = () =>
  z
    .int({ error: 'is not a port number (an integer from 1 to 65535)' })
    .min(1, { error: 'is not a port number (an integer from 1 to 65535)' })
    .max(65535, { error: 'is not a port number (an integer from 1 to 65535)' });

/** Replica count of a workload on a ReadWriteOnce volume: one pod, or zero to stop it and keep the data. */
export const singleReplica = () =>
  z
    .int({ error: 'is not a replica count (0 or 1)' })
    .min(0, { error: 'is not a replica count: use 1, or 0 to stop the workload and keep its data' })
    .max(1, { error: 'is more than 1: the workload keeps its data on a ReadWriteOnce volume that only one pod can mount' });

/** Requests and limits of one container; no request above its limit, which the API server refuses. */
export const resources = (defaults: { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } }) => {
  const pair = (d: { cpu: string; memory: string }) =>
    z.strictObject({ cpu: cpuQuantity().default(d.cpu), memory: quantity().default(d.memory) }).prefault({});
  return z
    .strictObject({ requests: pair(defaults.requests), limits: pair(defaults.limits) })
    .superRefine((v, ctx) => {
      const amounts = { cpu: millicores, memory: bytes };
      for (const resource of ['cpu', 'memory'] as const) {
        if (amounts[resource](v.requests[resource]) > amounts[resource](v.limits[resource])) {
          ctx.addIssue({
            code: 'custom',
            path: ['requests', resource],
            input: v.requests[resource],
            message: `is more than limits.${resource} (${v.limits[resource]}): Kubernetes refuses a request above its limit`,
          });
        }
      }
    })
    .prefault({})
    .describe('Container resources: requests are reserved by the scheduler, limits are the ceiling; no request above its limit.');
};

/** A key of a Secret's data, as Kubernetes validates it (IsConfigMapKey): the file name it is mounted as, too. */
export const secretDataKey = () =>
  z
    .string()
    .regex(/^[-._a-zA-Z0-9]{1,253}$/, { error: 'is not a Secret key (1 to 253 letters, digits, -, _ and ., like config.yml)', abort: true })
    .regex(/^(?!\.\.)(?!\.$)/, { error: 'is not a Secret key: it may not be "." or start with ".."' });

/** A reference to a Secret that the operator creates out of band (never rendered into dist/). */
export const secretKeyRef = (defaults: { name: string; key: string }) =>
  z.strictObject({ name: dnsLabel().default(defaults.name), key: secretDataKey().default(defaults.key) }).prefault({});

/** A label value Sightline takes from values (cluster, device and site names): no spaces, no quotes. */
export const labelValue = (what: string) =>
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: `is not ${what} (letters, digits, ., _ and -)` });

/** A Kubernetes label key (`[prefix/]name`) and value, for node selectors. */
export const k8sLabelKey = () =>
  z.string().regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, {
    error: 'is not a Kubernetes label key like kubernetes.io/hostname or bmc-network',
  });
export const k8sLabelValue = () =>
  z.string().regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, {
    error: 'is not a Kubernetes label value (at most 63 letters, digits, -, _ and ., starting and ending alphanumeric)',
  });
