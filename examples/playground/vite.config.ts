import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * The browser-safe packages (core, losses, samplers, models, datasets, metrics) import no Node
 * built-in (issue 13; checked by scripts/ci/browserBundle.sh). `@scorekit/training`, whose
 * Adam / EMA / gradient helpers the page uses, is a Node package by design: its index also
 * re-exports the checkpoint and atomic-file I/O (node:fs, node:path). The page never calls
 * those, but the browser must still load the modules, so this plugin resolves every `node:*`
 * built-in (and `pngjs`) to a stub module exporting the same names as functions that throw
 * "… is not available in the browser". It touches nothing but this playground's build.
 */
function nodeBuiltinStubs(): Plugin {
  const prefix = '\0playground-node-stub:';
  const stubbed = (id: string) =>
    id === 'pngjs' || id.startsWith('node:') || builtinModules.includes(id);
  return {
    name: 'playground-node-builtin-stubs',
    enforce: 'pre',
    resolveId(id) {
      return stubbed(id) ? `${prefix}${id}` : null;
    },
    async load(id) {
      if (!id.startsWith(prefix)) return null;
      const name = id.slice(prefix.length);
      const real: Record<string, unknown> =
        name === 'pngjs'
          ? { PNG: null }
          : await import(name.startsWith('node:') ? name : `node:${name}`);
      const names = Object.keys(real).filter(
        (n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n),
      );
      const body = names.map((n) => `export const ${n} = unavailable(${JSON.stringify(n)});`);
      return [
        'function unavailable(n) {',
        `  return function () { throw new Error(${JSON.stringify(name)} + '.' + n + ' is not available in the browser'); };`,
        '}',
        ...body,
        `export default {${names.join(', ')}};`,
      ].join('\n');
    },
  };
}

/**
 * The playground: a static page (index.html + one bundle + the tfjs wasm binaries). The
 * workspace packages resolve to their TypeScript sources through the `@scorekit/source`
 * export condition, so no package build is needed. The dev and preview servers send the
 * cross-origin isolation headers that let tfjs's wasm backend use threads (a plain static
 * host without them still works, single-threaded).
 */
export default defineConfig({
  root: here,
  base: './',
  plugins: [nodeBuiltinStubs()],
  resolve: { conditions: ['@scorekit/source', ...defaultClientConditions] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4000 },
  server: {
    host: '127.0.0.1',
    headers: {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    },
  },
  preview: {
    host: '127.0.0.1',
    headers: {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    },
  },
});
