/**
 * Messages for invalid values, built from zod's issues: each names the field path, the value received
 * (clipped) and what is allowed.
 */
import type * as z from 'zod';

/** Invalid values: one message per problem, each naming the field path. */
export class ValuesError extends Error {
  public readonly problems: readonly string[];
  public constructor(source: string, problems: readonly string[]) {
    super(`${source} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ValuesError';
    this.problems = problems;
  }
}

/** How much of a value a message quotes: enough to recognize it, never a whole junk file. */
const QUOTE_LIMIT = 200;

/** Cuts `text` to {@link QUOTE_LIMIT} characters, saying how much was left out. */
export function clip(text: string): string {
  return text.length <= QUOTE_LIMIT ? text : `${text.slice(0, QUOTE_LIMIT)}... (${text.length - QUOTE_LIMIT} more characters)`;
}

function show(value: unknown): string {
  return value === undefined ? 'nothing' : clip(JSON.stringify(value) ?? String(value));
}

function pathOf(path: readonly PropertyKey[]): string {
  return (
    path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '') || '(top level)'
  );
}

/**
 * One issue as `<path>: <value> <what is allowed>`.
 *
 * @param root the schema that was parsed, which lists the keys allowed where an unknown one was found
 */
export function describeIssue(issue: z.core.$ZodIssue, root: z.core.$ZodType): string {
  const path = pathOf(issue.path);
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(root, issue.path);
      return issue.keys
        .map((k) => `${clip(path === '(top level)' ? k : `${path}.${k}`)}: unknown key (allowed here: ${allowed.join(', ')})`)
        .join('\n  - ');
    }
    case 'invalid_type':
      return issue.message.startsWith('is ')
        ? `${path}: ${show(input)} ${issue.message}`
        : `${path}: ${show(input)} is not ${issue.expected === 'object' ? 'a mapping' : `a ${issue.expected}`}`;
    case 'invalid_key': {
      const reason = issue.issues[0]?.message ?? issue.message;
      return `${path}: ${show(input)} ${reason}`;
    }
    case 'invalid_value':
      return `${path}: ${show(input)} is not one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return issue.message.startsWith('is ') || issue.message.startsWith('must ')
        ? `${path}: ${show(input)} ${issue.message}`
        : `${path}: ${show(input)}: ${issue.message}`;
  }
}

/** The keys the schema accepts at a path, for the unknown-key message. */
function allowedKeys(root: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let schema: z.core.$ZodType = root;
  for (const key of [...path, null]) {
    // Peel wrappers (defaults, optionals, refinements) down to the object or array underneath.
    for (;;) {
      const def = schema._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType };
      if (def.innerType) schema = def.innerType;
      else if (def.type === 'pipe' && def.in) schema = def.in;
      else break;
    }
    const def = schema._zod.def as { shape?: Record<string, z.core.$ZodType>; element?: z.core.$ZodType; valueType?: z.core.$ZodType };
    if (key === null) return Object.keys(def.shape ?? {});
    schema = (typeof key === 'number' ? def.element : (def.shape?.[String(key)] ?? def.valueType)) ?? schema;
  }
  return [];
}
