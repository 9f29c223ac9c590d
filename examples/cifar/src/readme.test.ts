import { readFileSync } from 'node:fs';
import { parseArgs, presets } from '@scorekit/example-cifar';
import { describe, expect, it } from 'vitest';

describe('README example', () => {
  it('runs as written', () => {
    const parsed = parseArgs(['sample', '--preset', 'tiny', '--classes', '0,3', '--scale', '2']);
    if (parsed.kind !== 'run') throw new Error('expected a run');
    const cfg = parsed.config; // validated by arktype before any work
    expect(cfg.sample.classes).toEqual([0, 3]);
    expect(cfg.sample.scale).toBe(2);
    expect(cfg.out).toBe('out/cifar-tiny/samples');
    expect(presets.paper.classifier.steps).toBe(60000);
  });

  it('is the code the README shows', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const line of [
      "const parsed = parseArgs(['sample', '--preset', 'tiny', '--classes', '0,3', '--scale', '2']);",
      "if (parsed.kind !== 'run') throw new Error('expected a run');",
      'const cfg = parsed.config; // validated by arktype before any work',
      "cfg.out; // 'out/cifar-tiny/samples'",
      'presets.paper.classifier.steps; // 60000',
    ])
      expect(readme).toContain(line);
  });
});
