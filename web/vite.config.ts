import path from 'node:path';
import { defineConfig } from 'vite';

// The API server the dev server forwards to (`node dist/server/src/main.js serve`).
const apiTarget = process.env['OPSLAB_DEV_API'] ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      // The contract's request schemas (TypeBox) are for the server's validation: the UI only uses their types,
      // so building them is free of side effects and they are left out of the bundle.
      treeshake: {
        manualPureFunctions: ['Type', 'stringEnum', 'idParams', 'patterned'],
        moduleSideEffects: (id: string) => !id.includes('@sinclair/typebox'),
      },
    },
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    fs: {
      // The UI imports the wire contract shared with the server from ../contract; the repository root (the
      // default) covers it and node_modules. Named here so a package.json in web/ would not shut it out.
      allow: [path.resolve(import.meta.dirname, '..')],
    },
    proxy: {
      // No changeOrigin: the server compares the browser's Origin with the Host it was sent to,
      // so the Host must stay the dev server's own.
      '/api': { target: apiTarget, ws: true },
    },
  },
  preview: {
    host: '127.0.0.1',
    proxy: {
      '/api': { target: apiTarget, ws: true },
    },
  },
});
