// Compiles src/cli/main.ts into the single executable dist/ctrnet, with the version and commit embedded.
import pkg from "./package.json" with { type: "json" };

const commit = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { stderr: "ignore" }).stdout.toString().trim();

const result = await Bun.build({
  entrypoints: ["src/cli/main.ts"],
  compile: { outfile: "dist/ctrnet" },
  minify: true,
  // Bytecode compiled at build time spares parsing the whole bundle at every start; it needs CommonJS.
  bytecode: true,
  format: "cjs",
  sourcemap: "none",
  define: { CTRNET_COMMIT: JSON.stringify(commit || "unknown") },
  plugins: [
    {
      // citty imports consola's default instance and its colour helpers, which cost about 25 ms at every
      // start (measured with hyperfine); it only needs them for runMain/showUsage and coloured help.
      // Give it ctrnet's core-based logger and plain text.
      name: "citty-logger",
      setup(build) {
        build.onResolve({ filter: /^consola$/ }, () => ({ path: `${import.meta.dir}/src/log.ts` }));
        build.onResolve({ filter: /^consola\/utils$/ }, () => ({ path: `${import.meta.dir}/src/cli/plain-colors.ts` }));
      },
    },
  ],
});

if (!result.success) {
  for (const message of result.logs) console.error(message);
  process.exit(1);
}
const size = Bun.file("dist/ctrnet").size;
console.error(`built dist/ctrnet ${pkg.version} (${commit || "unknown"}), ${(size / 1048576).toFixed(1)} MiB`);
