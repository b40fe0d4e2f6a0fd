/**
 * Checks a rendered Alloy configuration against the vendored reference of the pinned Alloy release
 * (`test/reference/alloy-<version>/`, read from upstream's documentation at that tag; see its README).
 */
import { readFileSync } from 'node:fs';
import { imageVersion } from '../charts/shared/labels.ts';
import { AlloyCall, AlloyReference } from '../charts/shared/alloy-syntax.ts';
import { IMAGES } from '../charts/versions.ts';
import type { ParsedBlock, ParsedValue } from './alloy-parse.ts';

/** Arguments and nested blocks a block takes. */
export interface BlockSchema {
  arguments: string[];
  blocks: Record<string, BlockSchema>;
}

/** A component's schema: its block schema, its exports and the debug metrics it documents. */
export interface ComponentSchema extends BlockSchema {
  exports: string[];
  metrics: string[];
}

/** `reference.json`. */
export interface AlloyReferenceData {
  repository: string;
  tag: string;
  commit: string;
  /** Every component of the release, with its stability (`general-availability`, `public-preview`, `experimental`). */
  components: Record<string, string>;
  /** The full schema of the components Sightline may use. */
  schemas: Record<string, ComponentSchema>;
  functions: string[];
  runFlags: string[];
  controllerMetrics: string[];
}

/** The pinned Alloy version, as the image names it without its `v` (`1.18.1`). */
export const ALLOY_VERSION = imageVersion(IMAGES.alloy);

/** The vendored reference of the pinned version; its absence means the image was bumped without it. */
export function alloyReference(): AlloyReferenceData {
  return JSON.parse(readFileSync(new URL(`./reference/alloy-${ALLOY_VERSION}/reference.json`, import.meta.url), 'utf8')) as AlloyReferenceData;
}

/**
 * Everything in `blocks` that the reference does not know: components that do not exist or are not generally
 * available (Alloy refuses those at its default stability level), components without a label, arguments and
 * blocks a component or block does not take, references to a component the file does not define or to an
 * export it does not have, and functions the standard library does not have. One message per problem.
 */
export function alloyConfigProblems(blocks: readonly ParsedBlock[], reference: AlloyReferenceData): string[] {
  const problems: string[] = [];
  const defined = new Map(blocks.map((b) => [`${b.name}.${b.label}`, b.name]));
  const checkValue = (value: ParsedValue, where: string): void => {
    if (value instanceof AlloyReference) {
      const path = value.path.join('.');
      // A reference is <component name>.<label>.<export>: find the longest prefix naming a defined component.
      const target = [...defined.keys()].find((key) => path.startsWith(`${key}.`));
      if (target === undefined) problems.push(`${where}: ${path} names no component defined in the file`);
      else {
        const exported = path.slice(target.length + 1);
        const exports = reference.schemas[defined.get(target)!]?.exports ?? [];
        if (!exports.includes(exported))
          problems.push(`${where}: ${defined.get(target)} exports no ${exported} (it exports ${exports.join(', ') || 'nothing'})`);
      }
    } else if (value instanceof AlloyCall) {
      if (!reference.functions.includes(value.name.join('.')))
        problems.push(`${where}: ${value.name.join('.')} is not a function of the standard library`);
      for (const [i, arg] of value.args.entries()) checkValue(arg as ParsedValue, `${where} argument ${i}`);
    } else if (Array.isArray(value)) for (const [i, v] of value.entries()) checkValue(v, `${where}[${i}]`);
    else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) checkValue(v, `${where}.${k}`);
  };
  const checkBlock = (block: ParsedBlock, schema: BlockSchema, where: string): void => {
    for (const [name, value] of Object.entries(block.attributes)) {
      if (!schema.arguments.includes(name)) problems.push(`${where}: unknown argument ${name} (allowed: ${schema.arguments.join(', ') || 'none'})`);
      checkValue(value, `${where}.${name}`);
    }
    for (const inner of block.blocks) {
      const innerSchema = schema.blocks[inner.name];
      if (innerSchema === undefined)
        problems.push(`${where}: unknown block ${inner.name} (allowed: ${Object.keys(schema.blocks).join(', ') || 'none'})`);
      else checkBlock(inner, innerSchema, `${where} > ${inner.name}`);
      if (inner.label !== undefined) problems.push(`${where} > ${inner.name}: a nested block takes no label`);
    }
  };
  for (const block of blocks) {
    const where = `${block.name} "${block.label ?? ''}"`;
    const stability = reference.components[block.name];
    if (stability === undefined) problems.push(`${block.name}: not a component of Alloy ${reference.tag}`);
    else if (stability !== 'general-availability') problems.push(`${block.name}: ${stability}, which Alloy refuses at its default stability level`);
    else if (block.label === undefined) problems.push(`${block.name}: a component needs a label`);
    else if (reference.schemas[block.name] === undefined)
      problems.push(`${block.name}: no schema vendored in test/reference/alloy-${ALLOY_VERSION}/ (add it from the docs at ${reference.tag})`);
    else checkBlock(block, reference.schemas[block.name]!, where);
  }
  return problems;
}
