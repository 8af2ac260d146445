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
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
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
