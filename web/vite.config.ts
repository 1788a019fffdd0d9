import { defineConfig } from "vitest/config";

export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  test: { include: ["test/**/*.test.ts"], environment: "node" },
});
