import { defineConfig } from 'vite';

/**
 * The console is served by the issuer at /console/ (packages/issuer/src/console-host) from dist/.
 * JSX is compiled by Vite's built-in oxc transform with React's automatic runtime.
 */
export default defineConfig({
  // Relative: works whatever path the issuer URL has (the console lives at <issuer>/console/).
  base: './',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No inline polyfill script: the console's CSP allows only its own script files.
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
  },
});
