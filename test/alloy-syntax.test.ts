import { describe, expect, it } from 'vitest';
import { call, quote, ref, renderAlloy, type AlloyBlock } from '../charts/shared/alloy-syntax.ts';
import { parseAlloy } from './alloy-parse.ts';

/** The value of attribute `v` of a one-block file, rendered and read back. */
const roundTrip = (v: string) => parseAlloy(renderAlloy([{ name: 'b', attributes: { v } }]))[0]!.attributes.v;

describe('Alloy strings', () => {
  it('escapes quotes and backslashes, and reads back the same string', () => {
    expect(quote('say "hi" \\ bye')).toBe('"say \\"hi\\" \\\\ bye"');
    for (const s of ['"', '\\', '\\"', 'a\\nb', 'C:\\logs\\*.log', '$1', '${1}', '(.+)']) expect(roundTrip(s)).toBe(s);
  });

  it('writes newlines, tabs and other control characters as escapes, so a value never breaks a line', () => {
    const rendered = quote('line 1\nline 2\r\ttab \x00 \x1b[0m \x7f \u2028');

    expect(rendered).toBe('"line 1\\nline 2\\r\\ttab \\u0000 \\u001b[0m \\u007f \\u2028"');
    expect(rendered).not.toMatch(/[\n\r\u2028]/);
    expect(roundTrip('line 1\nline 2\r\ttab \x00 \x1b[0m \x7f \u2028')).toBe('line 1\nline 2\r\ttab \x00 \x1b[0m \x7f \u2028');
  });

  it('writes non-ASCII text as itself, astral characters included', () => {
    expect(quote('Zürich ✓ 日本 🚀')).toBe('"Zürich ✓ 日本 🚀"');
    expect(roundTrip('Zürich ✓ 日本 🚀')).toBe('Zürich ✓ 日本 🚀');
  });

  it('fails on a lone surrogate, which a UTF-8 file cannot hold', () => {
    expect(() => quote('bad \ud800 half')).toThrow(/lone UTF-16 surrogate/);
  });
});

describe('Alloy values', () => {
  const block: AlloyBlock = {
    name: 'loki.source.file',
    label: 'pods',
    attributes: {
      targets: ref('discovery.relabel.pods.output'),
      forward_to: [ref('loki.process.pods.receiver')],
      tail_from_end: false,
      count: 3,
      ratio: 0.25,
      skipped: undefined,
      empty_list: [],
      empty_map: {},
      names: ['a', 'b'],
      host: call('sys.env', 'HOSTNAME'),
      selector: call('string.format', 'spec.nodeName=%s', call('sys.env', 'HOSTNAME')),
      static: [{ __path__: '/var/log/*.log', 'app.kubernetes.io/name': 'x', true: 'keyword key' }],
    },
    blocks: [{ name: 'file_match', attributes: { enabled: true } }],
  };

  it('renders lists, objects, references and calls that read back as the same data', () => {
    const [parsed] = parseAlloy(renderAlloy([block]));
    const { skipped: _, ...attributes } = block.attributes!;

    expect(parsed).toEqual({
      name: 'loki.source.file',
      label: 'pods',
      attributes,
      blocks: [{ name: 'file_match', attributes: { enabled: true }, blocks: [] }],
    });
  });

  it('writes references and calls bare, and quotes object keys that are not identifiers', () => {
    const text = renderAlloy([block]);

    expect(text).toContain('targets       = discovery.relabel.pods.output\n');
    expect(text).toContain('forward_to    = [loki.process.pods.receiver]\n');
    expect(text).toContain('selector      = string.format("spec.nodeName=%s", sys.env("HOSTNAME"))\n');
    expect(text).toContain('"app.kubernetes.io/name" = "x",');
    expect(text).toContain('"true"                   = "keyword key",');
    expect(text).not.toContain('skipped');
  });

  it('fails on a number Alloy cannot read', () => {
    expect(() => renderAlloy([{ name: 'b', attributes: { n: Number.NaN } }])).toThrow(/not a number/);
    expect(() => renderAlloy([{ name: 'b', attributes: { n: Number.POSITIVE_INFINITY } }])).toThrow(/not a number/);
  });
});

describe('Alloy blocks', () => {
  it('nests blocks, keeping their order, and separates top-level blocks by an empty line', () => {
    const blocks: AlloyBlock[] = [
      {
        name: 'discovery.relabel',
        label: 'pods',
        attributes: { targets: ref('discovery.kubernetes.pods.targets') },
        blocks: [
          { name: 'rule', attributes: { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' } },
          {
            name: 'rule',
            attributes: {
              source_labels: ['a', 'b'],
              separator: '/',
              regex: 'true/(.*)',
              replacement: '/var/log/pods/*$1/*.log',
              target_label: '__path__',
            },
          },
        ],
      },
      {
        name: 'loki.write',
        label: 'default',
        blocks: [{ name: 'endpoint', attributes: { url: 'http://loki:3100/loki/api/v1/push' }, blocks: [{ name: 'queue_config', attributes: {} }] }],
      },
    ];
    const text = renderAlloy(blocks);

    expect(text).toBe(
      [
        'discovery.relabel "pods" {',
        '  targets = discovery.kubernetes.pods.targets',
        '',
        '  rule {',
        '    source_labels = ["__meta_kubernetes_namespace"]',
        '    target_label  = "namespace"',
        '  }',
        '',
        '  rule {',
        '    source_labels = ["a", "b"]',
        '    separator     = "/"',
        '    regex         = "true/(.*)"',
        '    replacement   = "/var/log/pods/*$1/*.log"',
        '    target_label  = "__path__"',
        '  }',
        '}',
        '',
        'loki.write "default" {',
        '  endpoint {',
        '    url = "http://loki:3100/loki/api/v1/push"',
        '',
        '    queue_config { }',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    expect(parseAlloy(text).map((b) => b.blocks.map((inner) => inner.name))).toEqual([['rule', 'rule'], ['endpoint']]);
  });

  it.each([
    ['a block name', { name: 'loki.source-file' }],
    ['a label', { name: 'loki.write', label: 'my writer' }],
    ['an attribute name', { name: 'b', attributes: { 'forward-to': 1 } }],
    ['a keyword as attribute name', { name: 'b', attributes: { null: 1 } }],
  ] as Array<[string, AlloyBlock]>)('fails on %s that is not an identifier', (_, block) => {
    expect(() => renderAlloy([block])).toThrow(/is not an Alloy identifier/);
  });

  it('fails on a reference that is not a dotted path of identifiers', () => {
    expect(() => ref('loki.write.my-writer.receiver')).toThrow(/is not an Alloy identifier/);
  });
});

describe('the test reader of Alloy files', () => {
  it('reads every escape of the specification, raw strings and comments', () => {
    const [b] = parseAlloy('// c\nb { /* x */ s = "\\a\\b\\f\\v\\\'\\101\\x41\\u00e9\\U0001F680\\xc3\\xa9" \n r = `a\\n"b` }');

    expect(b!.attributes).toEqual({ s: "\x07\b\f\v'AAé🚀é", r: 'a\\n"b' });
  });

  it('fails on an unterminated string, an unknown escape and an operator', () => {
    expect(() => parseAlloy('b { s = "abc }')).toThrow(/unterminated string/);
    expect(() => parseAlloy('b { s = "\\q" }')).toThrow(/unknown escape/);
    expect(() => parseAlloy('b { s = "a" + "b" }')).toThrow(/unexpected character/);
  });
});
