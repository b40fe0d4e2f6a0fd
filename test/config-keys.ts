/**
 * Checks the component configs rendered into ConfigMaps and Secrets against the configuration keys of the
 * pinned upstream versions (the lists in `test/reference/config-keys`). Tempo, Loki and Promtail refuse to
 * start on a key they do not know, and Promtail ignores a misspelt pipeline-stage key without a word; none of
 * them runs here, so these lists stand in for their config parsers.
 *
 * List notation, one key path a line: `a.b` nested keys; `a[].b` key `b` in each item of list `a`; `a.*` a
 * map with user-chosen keys; `a.**` anything below `a`.
 */
import { readFileSync } from 'node:fs';
import * as YAML from 'yaml';

/** The components whose configs are checked, with the key list of their pinned version. */
export const KEY_LISTS = {
  tempo: 'tempo-3.0.3.txt',
  loki: 'loki-3.7.6.txt',
  promtail: 'promtail-3.6.11.txt',
  // The collector's core components only: contrib ones (k8s_attributes, health_check) are not covered.
  otelcol: 'otelcol-core-0.159.0.components.txt',
} as const;

export type Component = keyof typeof KEY_LISTS;

/** One node of the key tree: its known child keys, and whether anything below it is accepted (`**`). */
interface KeyNode {
  readonly children: Map<string, KeyNode>;
  anything: boolean;
}

const MAP_KEY = '*';
const LIST_SUFFIX = '[]';

/** A parsed key list, for looking key paths up. */
export class KeyList {
  private readonly root: KeyNode = { children: new Map(), anything: false };

  constructor(text: string) {
    for (const line of text.split('\n').map((l) => l.trim())) {
      if (line === '' || line.startsWith('#')) continue;
      let node = this.root;
      for (const segment of line.split('.')) {
        if (segment === '**') {
          node.anything = true;
          break;
        }
        let child = node.children.get(segment);
        if (!child) {
          child = { children: new Map(), anything: false };
          node.children.set(segment, child);
        }
        node = child;
      }
    }
  }

  /** The index of the first segment of `path` that the list does not know, or -1 when it knows the path. */
  firstUnknown(path: readonly string[]): number {
    let deepest = 0;
    const walk = (node: KeyNode, i: number): boolean => {
      if (i === path.length || node.anything) return true;
      deepest = Math.max(deepest, i);
      return candidates(path[i]!).some((key) => {
        const child = node.children.get(key);
        return child !== undefined && walk(child, i + 1);
      });
    };
    return walk(this.root, 0) ? -1 : deepest;
  }

  /** The keys the list knows next to the last segment of `parent` (for a spelling hint). */
  keysBelow(parent: readonly string[]): string[] {
    let node: KeyNode | undefined = this.root;
    for (const segment of parent) {
      node = candidates(segment)
        .map((key) => node!.children.get(key))
        .find((child) => child !== undefined);
      if (!node) return [];
    }
    return [...node.children.keys()].filter((key) => !key.startsWith(MAP_KEY));
  }
}

/**
 * The list entries a config key may match: itself, a user-chosen map key, and for a list of mappings also the
 * bare key (the lists write `a[].b`, and `a.b` where the Go type is a list).
 */
function candidates(segment: string): string[] {
  if (!segment.endsWith(LIST_SUFFIX)) return [segment, MAP_KEY];
  return [segment, `${MAP_KEY}${LIST_SUFFIX}`, segment.slice(0, -LIST_SUFFIX.length)];
}

const lists = new Map<Component, KeyList>();

/** The key list of a component's pinned version, read once. */
export function keyList(component: Component): KeyList {
  let list = lists.get(component);
  if (!list) {
    list = new KeyList(readFileSync(new URL(`reference/config-keys/${KEY_LISTS[component]}`, import.meta.url), 'utf8'));
    lists.set(component, list);
  }
  return list;
}

const isMapping = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Which component a parsed config file belongs to, by the top-level sections only that component has. */
export function componentOf(config: unknown): Component | undefined {
  if (!isMapping(config)) return undefined;
  if (isMapping(config.receivers) && isMapping(config.exporters) && isMapping(config.service)) return 'otelcol';
  if ('positions' in config || 'clients' in config) return 'promtail';
  if ('schema_config' in config || (isMapping(config.common) && 'limits_config' in config)) return 'loki';
  if ('distributor' in config || 'metrics_generator' in config || 'live_store' in config) return 'tempo';
  return undefined;
}

/** Every key path of a config, a list of mappings marked `key[]` (its items' keys continue the path). */
function keyPaths(value: unknown, prefix: readonly string[] = []): string[][] {
  if (Array.isArray(value)) return value.flatMap((item) => keyPaths(item, prefix));
  if (!isMapping(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const listOfMappings = Array.isArray(child) && child.some(isMapping);
    const path = [...prefix, listOfMappings ? `${key}${LIST_SUFFIX}` : key];
    return [path, ...keyPaths(child, path)];
  });
}

/**
 * The collector list covers a few core components: only their blocks are checked, with a component ID
 * (`otlp_grpc/tempo`) looked up by its type (`otlp_grpc`).
 */
function collectorPath(path: readonly string[], list: KeyList): string[] | undefined {
  const [section, id, ...rest] = path;
  if (section === undefined || id === undefined) return undefined;
  const type = id.split('/')[0]!;
  return list.keysBelow([section]).includes(type) ? [section, type, ...rest] : undefined;
}

/** An unknown key in one config file. */
export interface UnknownKey {
  /** The key path up to the first unknown key, dotted. */
  readonly path: string;
  /** Known keys next to it spelt nearly the same, nearest first. */
  readonly nearest: readonly string[];
}

/** What checking one config found: how many key paths it looked up, and the unknown ones. */
export interface KeyCheck {
  readonly checked: number;
  readonly unknown: readonly UnknownKey[];
}

/** Checks every key of a parsed `config` of `component` against the list of its pinned version. */
export function checkKeys(component: Component, config: unknown): KeyCheck {
  const list = keyList(component);
  const unknown = new Map<string, UnknownKey>();
  let checked = 0;
  for (const found of keyPaths(config)) {
    const path = component === 'otelcol' ? collectorPath(found, list) : found;
    if (!path) continue;
    checked++;
    const at = list.firstUnknown(path);
    if (at < 0) continue;
    const shown = path.slice(0, at + 1).join('.');
    if (!unknown.has(shown)) unknown.set(shown, { path: shown, nearest: nearestSpellings(path[at]!, list.keysBelow(path.slice(0, at))) });
  }
  return { checked, unknown: [...unknown.values()] };
}

/** Edit distance (insertions, deletions, substitutions) between two words. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}

/** Up to three of `known` within a few edits of `key`, nearest first: a typo's likely intent. */
function nearestSpellings(key: string, known: readonly string[]): string[] {
  const bare = (k: string) => (k.endsWith(LIST_SUFFIX) ? k.slice(0, -LIST_SUFFIX.length) : k);
  const word = bare(key);
  const limit = Math.max(2, Math.floor(word.length / 3));
  return known
    .map((k) => ({ k: bare(k), d: editDistance(word, bare(k)) }))
    .filter(({ d }) => d <= limit)
    .sort((x, y) => x.d - y.d || x.k.localeCompare(y.k))
    .slice(0, 3)
    .map(({ k }) => k);
}

/** A Kubernetes object as rendered, as far as this check reads it. */
interface RenderedObject {
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly data?: Record<string, unknown>;
  readonly stringData?: Record<string, unknown>;
}

/** What checking a set of rendered objects found. */
export interface ObjectsCheck {
  /** Key paths looked up, per component whose config was found. */
  readonly checked: Partial<Record<Component, number>>;
  /** One line per unknown key: `<namespace>/<ConfigMap> <file> (<component>): unknown key a.b (did you mean a.c?)`. */
  readonly problems: readonly string[];
}

/** Checks the component configs (`*.yaml`, `*.yml`, `*.json` files) of every ConfigMap and Secret in `objects`. */
export function checkObjects(objects: readonly RenderedObject[]): ObjectsCheck {
  const checked: Partial<Record<Component, number>> = {};
  const problems: string[] = [];
  for (const object of objects) {
    if (object.kind !== 'ConfigMap' && object.kind !== 'Secret') continue;
    for (const [file, text] of Object.entries({ ...object.data, ...object.stringData })) {
      if (typeof text !== 'string' || !/\.(ya?ml|json)$/.test(file)) continue;
      const config: unknown = YAML.parse(text);
      const component = componentOf(config);
      if (!component) continue;
      const result = checkKeys(component, config);
      checked[component] = (checked[component] ?? 0) + result.checked;
      for (const { path, nearest } of result.unknown) {
        const hint = nearest.length > 0 ? ` (did you mean ${nearest.join(', ')}?)` : '';
        problems.push(`${object.metadata?.namespace ?? '-'}/${object.metadata?.name} ${file} (${component}): unknown key ${path}${hint}`);
      }
    }
  }
  return { checked, problems };
}
