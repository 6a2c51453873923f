// The dashboard's build: dashboard/ → dashboard/dist (served by the Posthorn server at /).
// Hashed file names under assets/ let the server cache them for a year.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Nothing from a CDN: every byte is in dist/, so the dashboard works offline.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  logLevel: 'warn',
});
