/**
 * Grafana Alloy's configuration syntax, rendered from typed data.
 *
 * An Alloy file is not YAML: it is a sequence of blocks (`loki.write "default" { ... }`) holding attributes
 * (`url = "..."`) and nested blocks, whose values are strings, numbers, booleans, arrays, objects, references
 * to another component's exports (`loki.write.default.receiver`) and function calls (`sys.env("HOSTNAME")`).
 * Configs are built as {@link AlloyBlock} data and rendered here, never written as template strings: every
 * string goes through one escaping function, and a name that is not an identifier throws instead of producing
 * a file Alloy refuses.
 *
 * @see https://github.com/grafana/alloy/blob/v1.18.1/docs/sources/get-started/syntax.md
 * @see https://github.com/grafana/alloy/blob/v1.18.1/docs/sources/get-started/expressions/types_and_values.md
 */

/** A reference to an export of another component, e.g. `loki.write.default.receiver`. */
export class AlloyReference {
  public readonly path: readonly string[];
  public constructor(path: readonly string[]) {
    for (const part of path) identifier(part, 'reference');
    this.path = path;
  }
}

/** A call of a standard-library function, e.g. `sys.env("HOSTNAME")`. */
export class AlloyCall {
  public readonly name: readonly string[];
  public readonly args: readonly AlloyValue[];
  public constructor(name: readonly string[], args: readonly AlloyValue[]) {
    for (const part of name) identifier(part, 'function name');
    this.name = name;
    this.args = args;
  }
}

/** An object (a map from keys to values). Keys that are not identifiers are quoted. */
export interface AlloyObject {
  readonly [key: string]: AlloyValue | undefined;
}

/** Any value an attribute, an array element or an object field can hold. */
export type AlloyValue = string | number | boolean | readonly AlloyValue[] | AlloyObject | AlloyReference | AlloyCall;

/**
 * A block: a component (`loki.source.file "pods" { ... }`) or a block inside one (`endpoint { ... }`).
 * Attributes render first, in insertion order, then the nested blocks in order (relabel `rule` blocks apply
 * top-down, so their order is kept). An `undefined` attribute is left out.
 */
export interface AlloyBlock {
  /** Block name, dot-separated identifiers: `loki.source.file`, `stage.cri`, `rule`. */
  readonly name: string;
  /** The label of a component block, an identifier (`"pods"`). @default - no label */
  readonly label?: string;
  /** Attributes of the block. @default - none */
  readonly attributes?: AlloyObject;
  /** Nested blocks. @default - none */
  readonly blocks?: readonly AlloyBlock[];
}

/** A reference to `path` (`ref('loki', 'write', 'default', 'receiver')`, or one dotted string). */
export function ref(...path: string[]): AlloyReference {
  return new AlloyReference(path.flatMap((p) => p.split('.')));
}

/** A call of the standard-library function `name` (dotted, e.g. `sys.env`) with `args`. */
export function call(name: string, ...args: AlloyValue[]): AlloyCall {
  return new AlloyCall(name.split('.'), args);
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Words the syntax reserves for its literals: never a name, and quoted as an object key. */
const KEYWORDS = new Set(['true', 'false', 'null']);
const INDENT = '  ';

function isIdentifier(name: string): boolean {
  return IDENTIFIER.test(name) && !KEYWORDS.has(name);
}

function identifier(name: string, what: string): string {
  if (!isIdentifier(name))
    throw new Error(`${JSON.stringify(name)} is not an Alloy identifier (letters, digits and _, not starting with a digit): invalid ${what}`);
  return name;
}

/**
 * A double-quoted Alloy string. `"` and `\` are escaped, control characters and U+2028/U+2029 become escape
 * sequences (so a value never breaks a line of the file), and every other character, non-ASCII included, is
 * written as itself (Alloy reads UTF-8).
 *
 * @throws for a lone UTF-16 surrogate, which no UTF-8 file can hold
 */
export function quote(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdfff) {
      const next = value.charCodeAt(i + 1);
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += value[i]! + value[i + 1]!;
        i++;
        continue;
      }
      throw new Error(`${JSON.stringify(value)} holds a lone UTF-16 surrogate at ${i}, which an Alloy file cannot hold`);
    }
    const escaped = ESCAPES[value[i]!];
    if (escaped !== undefined) out += escaped;
    else if (code < 0x20 || code === 0x7f || code === 0x2028 || code === 0x2029) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += value[i];
  }
  return `${out}"`;
}

const ESCAPES: Readonly<Record<string, string>> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Renders blocks as an Alloy file: top-level blocks separated by an empty line, ending in a newline. */
export function renderAlloy(blocks: readonly AlloyBlock[]): string {
  return `${blocks.map((b) => renderBlock(b, 0)).join('\n\n')}\n`;
}

function renderBlock(block: AlloyBlock, depth: number): string {
  const pad = INDENT.repeat(depth);
  for (const part of block.name.split('.')) identifier(part, `block name ${block.name}`);
  const label = block.label === undefined ? '' : ` ${quote(identifier(block.label, `label of ${block.name}`))}`;
  const attributes = defined(block.attributes ?? {});
  const width = Math.max(0, ...attributes.map(([k]) => k.length));
  const lines = attributes.map(
    ([key, value]) => `${pad}${INDENT}${identifier(key, `attribute of ${block.name}`).padEnd(width)} = ${renderValue(value, depth + 1)}`,
  );
  const nested = (block.blocks ?? []).map((b) => renderBlock(b, depth + 1));
  const body = [...(lines.length > 0 ? [lines.join('\n')] : []), ...nested].join('\n\n');
  return body === '' ? `${pad}${block.name}${label} { }` : `${pad}${block.name}${label} {\n${body}\n${pad}}`;
}

function defined(object: AlloyObject): Array<[string, AlloyValue]> {
  return Object.entries(object).filter((entry): entry is [string, AlloyValue] => entry[1] !== undefined);
}

function renderValue(value: AlloyValue, depth: number): string {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${value} is not a number Alloy can read`);
    return String(value);
  }
  if (value instanceof AlloyReference) return value.path.join('.');
  if (value instanceof AlloyCall) return `${value.name.join('.')}(${value.args.map((a) => renderValue(a, depth)).join(', ')})`;
  const pad = INDENT.repeat(depth);
  if (isArray(value)) {
    if (value.length === 0) return '[]';
    // Scalars stay on one line; arrays of objects get one element per line, each ending in a comma.
    if (value.every((v) => typeof v !== 'object' || v instanceof AlloyReference)) return `[${value.map((v) => renderValue(v, depth)).join(', ')}]`;
    return `[\n${value.map((v) => `${pad}${INDENT}${renderValue(v, depth + 1)},`).join('\n')}\n${pad}]`;
  }
  const fields = defined(value as AlloyObject);
  if (fields.length === 0) return '{}';
  const keys = fields.map(([k]) => (isIdentifier(k) ? k : quote(k)));
  const width = Math.max(...keys.map((k) => k.length));
  return `{\n${fields.map(([, v], i) => `${pad}${INDENT}${keys[i]!.padEnd(width)} = ${renderValue(v, depth + 1)},`).join('\n')}\n${pad}}`;
}

function isArray(value: AlloyValue): value is readonly AlloyValue[] {
  return Array.isArray(value);
}
