// Compiles src/cli/main.ts into the single executable dist/ctrnet, with the version and commit embedded.
import pkg from "./package.json" with { type: "json" };

const commit = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { stderr: "ignore" }).stdout.toString().trim();

const result = await Bun.build({
  entrypoints: ["src/cli/main.ts"],
  compile: { outfile: "dist/ctrnet" },
  minify: true,
  sourcemap: "none",
  define: { CTRNET_COMMIT: JSON.stringify(commit || "unknown") },
  plugins: [
    {
      // citty imports consola's default instance, whose construction costs about 20 ms at every start; it
      // only uses it for runMain/showUsage, which ctrnet does not call. Give it ctrnet's core-based logger.
      name: "citty-logger",
      setup(build) {
        build.onResolve({ filter: /^consola$/ }, () => ({ path: `${import.meta.dir}/src/log.ts` }));
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
