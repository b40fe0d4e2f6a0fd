/**
 * Unit parsing shared by the values model and the charts: durations, byte sizes and quantities, CPU, host
 * names, IP address text and Git revisions. Plain functions over validated text; the zod field types built
 * on them live in `fields.ts`.
 */
import { isIPv6 } from 'node:net';

/** Prometheus's duration syntax (`30s`, `15d`, `1h30m`), which every component in the stack accepts. */
export const DURATION = /^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/;

/**
 * The longest duration every component can hold, in the stack's syntax. Each duration ends up in Go's
 * `time.Duration` (int64 nanoseconds, about 292 years): Tempo and Grafana parse into it directly, and
 * Prometheus's and Loki's `model.Duration` (prometheus/common 0.67 and later) is the same type, whose parser
 * refuses anything longer with "duration out of range". No consumer of any duration field allows more.
 */
export const MAX_DURATION = '292y24w3d23h47m16s854ms';

/** Go's largest time.Duration, in nanoseconds. */
export const MAX_DURATION_NANOS = 2n ** 63n - 1n;

/** Seconds in a duration; NaN for an invalid one, so that no cross-field comparison fires on it. */
export function seconds(d: string): number {
  if (!DURATION.test(d)) return NaN;
  const units: Record<string, number> = { y: 31536000, w: 604800, d: 86400, h: 3600, m: 60, s: 1, ms: 0.001 };
  let total = 0;
  for (const [, n, unit] of d.matchAll(/(\d+)(ms|y|w|d|h|m|s)/g)) total += Number(n) * units[unit!]!;
  return total;
}

/** Nanoseconds in a duration, exactly (durations can exceed what a double holds to the nanosecond). */
export function nanoseconds(d: string): bigint {
  const units: Record<string, bigint> = {
    y: 31_536_000_000_000_000n,
    w: 604_800_000_000_000n,
    d: 86_400_000_000_000n,
    h: 3_600_000_000_000n,
    m: 60_000_000_000n,
    s: 1_000_000_000n,
    ms: 1_000_000n,
  };
  let total = 0n;
  for (const [, n, unit] of d.matchAll(/(\d+)(ms|y|w|d|h|m|s)/g)) total += BigInt(n!) * units[unit!]!;
  return total;
}

/** Millicores in a validated CPU quantity (`500m`, `2`, `0.5`). */
export function millicores(cpu: string): number {
  return cpu.endsWith('m') ? Number(cpu.slice(0, -1)) : Math.round(Number(cpu) * 1000);
}

/** Bytes in a validated byte size (`8GB`, Prometheus's base-2 units) or quantity (`10Gi`). */
export function bytes(size: string): number {
  const exponent: Record<string, number> = { B: 0, KB: 1, MB: 2, GB: 3, TB: 4, PB: 5, EB: 6, Mi: 2, Gi: 3, Ti: 4 };
  const [, n, unit] = /^(\d+)([A-Za-z]+)$/.exec(size) ?? [];
  // NaN for an invalid size: the field's own message reports it, and every comparison with NaN is false.
  return unit !== undefined && unit in exponent ? Number(n) * 1024 ** exponent[unit]! : NaN;
}

/** The canonical text of a valid IP address (see `canonicalIp` in fields.ts). */
export function canonicalIpText(address: string): string {
  if (!isIPv6(address)) return address;
  // The WHATWG URL serializer writes IPv6 hosts exactly as RFC 5952 does, embedded IPv4 as hex groups.
  const text = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(text);
  if (mapped === null) return text;
  const [high, low] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** An RFC 1123 host name (at least one letter in its last label, so that a mistyped IP is not taken for a name). */
export const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)*[a-z0-9]*[a-z][-a-z0-9]*$/i;

/**
 * Whether `revision` is something Argo CD can resolve in a Git repository: `HEAD`, a commit SHA, or a ref
 * name as `git check-ref-format --allow-onelevel` accepts it (a branch, a tag, or refs/heads/..., refs/tags/...).
 *
 * @see https://git-scm.com/docs/git-check-ref-format
 */
export function isGitRevision(revision: string): boolean {
  if (revision === 'HEAD' || /^[0-9a-f]{7,64}$/.test(revision)) return true;
  return (
    revision !== '@' &&
    // No control characters, space, ~ ^ : ? * [ or backslash anywhere.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: git refuses exactly these control characters in a ref name
    !/[\x00-\x20\x7f~^:?*[\\]/.test(revision) &&
    !revision.includes('..') &&
    !revision.includes('@{') &&
    !revision.endsWith('.') &&
    !revision.startsWith('/') &&
    !revision.endsWith('/') &&
    // Every /-separated component is non-empty, does not start with a dot and does not end in .lock.
    revision.split('/').every((part) => part !== '' && !part.startsWith('.') && !part.endsWith('.lock'))
  );
}
