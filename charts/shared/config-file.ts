import { createHash } from 'node:crypto';
import { Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import * as YAML from 'yaml';

/** A file's content: data serialized as YAML, raw text, or a producer called at synth time (for hubs). */
export type FileContent = unknown;

/** Properties of {@link ConfigFiles}. */
export interface ConfigFilesProps {
  /** Name of the ConfigMap. */
  readonly name: string;
  /** Labels of the ConfigMap. @default - none */
  readonly labels?: Record<string, string>;
  /**
   * File name → content. A string is written as is; anything else is serialized with `yaml`. A function is
   * called at synth time, so a hub can render what other components contributed after it was created.
   */
  readonly files: Record<string, FileContent | (() => FileContent)>;
}

/**
 * Serializes a data object to YAML. `undefined` fields are dropped (never `key: null`), keys keep their
 * insertion order, and long strings are never folded, so output is stable byte for byte.
 */
export function toYaml(data: unknown): string {
  return YAML.stringify(data, { lineWidth: 0, aliasDuplicateObjects: false });
}

/**
 * App configuration files rendered into one ConfigMap, plus the checksum of their content.
 *
 * A workload mounting the files puts {@link checksum} on its pod template (see `checksumAnnotation`), so
 * a change to any file rolls its pods instead of waiting for a restart that may never come.
 */
export class ConfigFiles extends Construct {
  /** The ConfigMap holding the files. */
  public readonly configMap: kplus.ConfigMap;
  private readonly producers: ReadonlyArray<readonly [string, () => FileContent]>;
  private rendered?: Record<string, string>;

  public constructor(scope: Construct, id: string, props: ConfigFilesProps) {
    super(scope, id);
    this.producers = Object.entries(props.files).map(
      ([file, content]) => [file, typeof content === 'function' ? (content as () => FileContent) : () => content] as const,
    );
    this.configMap = new kplus.ConfigMap(this, 'ConfigMap', { metadata: { name: props.name, labels: props.labels } });
    for (const [file] of this.producers) {
      this.configMap.addData(file, Lazy.any({ produce: () => this.render()[file] }));
    }
  }

  /** Name of the ConfigMap. */
  public get name(): string {
    return this.configMap.name;
  }

  /** SHA-256 of every file's name and content, resolved at synth time. */
  public get checksum(): string {
    return Lazy.any({
      produce: () => {
        const hash = createHash('sha256');
        for (const [file, text] of Object.entries(this.render())) {
          hash.update(file).update('\0').update(text).update('\0');
        }
        return hash.digest('hex');
      },
    });
  }

  /** The rendered text of one file (for tests and for other components that embed it). */
  public fileText(file: string): string {
    const text = this.render()[file];
    if (text === undefined) throw new Error(`ConfigMap ${this.name} has no file ${file}`);
    return text;
  }

  private render(): Record<string, string> {
    this.rendered ??= Object.fromEntries(
      this.producers.map(([file, produce]) => {
        const content = produce();
        return [file, typeof content === 'string' ? content : toYaml(content)];
      }),
    );
    return this.rendered;
  }
}
