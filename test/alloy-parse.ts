/**
 * A reader of Alloy configuration files, written from the language's specification rather than from our
 * serializer, so that tests check the rendered text itself: a serializer bug (a lost escape, a dropped block)
 * shows up as a parse error or a different value, not as the same mistake made twice.
 *
 * It reads what Sightline renders and what the specification allows around it: blocks with an optional label,
 * attributes, double-quoted and raw (backtick) strings with every escape sequence of the specification,
 * numbers, booleans, `null`, arrays and objects with optional trailing commas, references and function calls,
 * and `//` and `/* *\/` comments. Operators (`+`, `==`, ...) are not modelled: Sightline renders none, and
 * reading one fails.
 *
 * @see https://github.com/grafana/alloy/blob/v1.18.1/docs/sources/get-started/syntax.md
 * @see https://github.com/grafana/alloy/blob/v1.18.1/docs/sources/get-started/expressions/types_and_values.md
 */
import { AlloyCall, AlloyReference } from '../charts/shared/alloy-syntax.ts';

/** A value as read. `null` is the language's own null literal. */
export type ParsedValue = string | number | boolean | null | ParsedValue[] | { [key: string]: ParsedValue } | AlloyReference | AlloyCall;

/** A block as read: its attributes by name and its nested blocks in order. */
export interface ParsedBlock {
  name: string;
  label?: string;
  attributes: Record<string, ParsedValue>;
  blocks: ParsedBlock[];
}

type Token =
  | { kind: 'ident'; text: string; at: number }
  | { kind: 'string'; value: string; at: number }
  | { kind: 'number'; value: number; at: number }
  | { kind: 'punct'; text: string; at: number }
  | { kind: 'end'; at: number };

/** Parses an Alloy file into its top-level blocks. @throws with the offset of the first thing it cannot read */
export function parseAlloy(text: string): ParsedBlock[] {
  const tokens = tokenize(text);
  let i = 0;
  const peek = (ahead = 0) => tokens[Math.min(i + ahead, tokens.length - 1)]!;
  const fail = (what: string): never => {
    throw new Error(`alloy parse error at offset ${peek().at}: ${what} (found ${JSON.stringify(peek())})`);
  };
  const punct = (text: string) => {
    const t = peek();
    if (t.kind !== 'punct' || t.text !== text) fail(`expected ${text}`);
    i++;
  };
  const isPunct = (text: string, ahead = 0) => {
    const t = peek(ahead);
    return t.kind === 'punct' && t.text === text;
  };
  const ident = (): string => {
    const t = peek();
    if (t.kind !== 'ident') return fail('expected an identifier');
    i++;
    return t.text;
  };
  const dotted = (): string[] => {
    const parts = [ident()];
    while (isPunct('.')) {
      i++;
      parts.push(ident());
    }
    return parts;
  };

  function body(closing: boolean): Pick<ParsedBlock, 'attributes' | 'blocks'> {
    const attributes: Record<string, ParsedValue> = {};
    const blocks: ParsedBlock[] = [];
    while (!(closing ? isPunct('}') : peek().kind === 'end')) {
      const name = dotted();
      if (isPunct('=')) {
        if (name.length !== 1) fail(`an attribute name is one identifier, not ${name.join('.')}`);
        i++;
        if (name[0]! in attributes) fail(`attribute ${name[0]} is set twice`);
        attributes[name[0]!] = value();
        continue;
      }
      let label: string | undefined;
      const t = peek();
      if (t.kind === 'string') {
        label = t.value;
        i++;
      }
      punct('{');
      const inner = body(true);
      punct('}');
      blocks.push({ name: name.join('.'), ...(label === undefined ? {} : { label }), ...inner });
    }
    return { attributes, blocks };
  }

  function value(): ParsedValue {
    const t = peek();
    if (t.kind === 'string' || t.kind === 'number') {
      i++;
      return t.value;
    }
    if (t.kind === 'punct' && t.text === '[') {
      i++;
      const items: ParsedValue[] = [];
      while (!isPunct(']')) {
        items.push(value());
        if (!isPunct(']')) punct(',');
      }
      i++;
      return items;
    }
    if (t.kind === 'punct' && t.text === '{') {
      i++;
      const object: Record<string, ParsedValue> = {};
      while (!isPunct('}')) {
        const key = peek();
        let name: string;
        if (key.kind === 'string') name = key.value;
        else if (key.kind === 'ident') name = key.text;
        else return fail('expected an object key');
        i++;
        punct('=');
        if (name in object) fail(`object key ${name} is set twice`);
        object[name] = value();
        if (!isPunct('}')) punct(',');
      }
      i++;
      return object;
    }
    if (t.kind === 'ident') {
      if (t.text === 'true' || t.text === 'false') {
        i++;
        return t.text === 'true';
      }
      if (t.text === 'null') {
        i++;
        return null;
      }
      const path = dotted();
      if (!isPunct('(')) return new AlloyReference(path);
      i++;
      const args: ParsedValue[] = [];
      while (!isPunct(')')) {
        args.push(value());
        if (!isPunct(')')) punct(',');
      }
      i++;
      return new AlloyCall(path, args as never);
    }
    return fail('expected a value');
  }

  const { attributes, blocks } = body(false);
  if (Object.keys(attributes).length > 0) fail(`top-level attributes are not allowed: ${Object.keys(attributes).join(', ')}`);
  return blocks;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) i++;
    else if (text.startsWith('//', i)) i = text.indexOf('\n', i) < 0 ? text.length : text.indexOf('\n', i);
    else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new Error(`alloy parse error at offset ${i}: unterminated comment`);
      i = end + 2;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!;
      tokens.push({ kind: 'ident', text: m[0], at: i });
      i += m[0].length;
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i))!;
      tokens.push({ kind: 'number', value: Number(m[0]), at: i });
      i += m[0].length;
    } else if (c === '"') {
      const [value, end] = readString(text, i);
      tokens.push({ kind: 'string', value, at: i });
      i = end;
    } else if (c === '`') {
      const end = text.indexOf('`', i + 1);
      if (end < 0) throw new Error(`alloy parse error at offset ${i}: unterminated raw string`);
      tokens.push({ kind: 'string', value: text.slice(i + 1, end), at: i });
      i = end + 1;
    } else if ('{}[]()=,.'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, at: i });
      i++;
    } else {
      throw new Error(`alloy parse error at offset ${i}: unexpected character ${JSON.stringify(c)}`);
    }
  }
  tokens.push({ kind: 'end', at: text.length });
  return tokens;
}

const SIMPLE_ESCAPES: Record<string, string> = { '\\': '\\', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', "'": "'", '"': '"' };

/** Reads a double-quoted string starting at `start`; returns its value and the offset after it. */
function readString(text: string, start: number): [string, number] {
  let out = '';
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length > 0) out += new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
    bytes = [];
  };
  let i = start + 1;
  for (;;) {
    const c = text[i];
    if (c === undefined || c === '\n') throw new Error(`alloy parse error at offset ${start}: unterminated string`);
    if (c === '"') {
      flush();
      return [out, i + 1];
    }
    if (c !== '\\') {
      flush();
      out += c;
      i++;
      continue;
    }
    const e = text[i + 1] ?? '';
    const hex = (n: number) => {
      const digits = text.slice(i + 2, i + 2 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(digits)) throw new Error(`alloy parse error at offset ${i}: bad escape \\${e}${digits}`);
      return parseInt(digits, 16);
    };
    if (e in SIMPLE_ESCAPES) {
      flush();
      out += SIMPLE_ESCAPES[e];
      i += 2;
    } else if (e === 'x') {
      bytes.push(hex(2));
      i += 4;
    } else if (/[0-7]/.test(e)) {
      const digits = text.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(digits)) throw new Error(`alloy parse error at offset ${i}: bad octal escape`);
      bytes.push(parseInt(digits, 8));
      i += 4;
    } else if (e === 'u' || e === 'U') {
      const n = e === 'u' ? 4 : 8;
      const code = hex(n);
      if ((code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff)
        throw new Error(`alloy parse error at offset ${i}: \\${e} escape of a surrogate or out of range`);
      flush();
      out += String.fromCodePoint(code);
      i += 2 + n;
    } else {
      throw new Error(`alloy parse error at offset ${i}: unknown escape \\${e}`);
    }
  }
}

/** Every block of a file, nested ones included, with the path of block names leading to it. */
export function walkBlocks(blocks: readonly ParsedBlock[], path: readonly string[] = []): Array<{ path: string[]; block: ParsedBlock }> {
  return blocks.flatMap((block) => {
    const here = [...path, block.name];
    return [{ path: here, block }, ...walkBlocks(block.blocks, here)];
  });
}

/** The component `name "label"` of a file; throws unless exactly one. */
export function component(blocks: readonly ParsedBlock[], name: string, label: string): ParsedBlock {
  const found = blocks.filter((b) => b.name === name && b.label === label);
  if (found.length !== 1) throw new Error(`expected one ${name} "${label}", found ${found.length}`);
  return found[0]!;
}
