// Compiles src/cli/main.ts into the single executable dist/ctrnet, with the version and commit embedded.
import pkg from "./package.json" with { type: "json" };

const commit = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { stderr: "ignore" }).stdout.toString().trim();

const result = await Bun.build({
  entrypoints: ["src/cli/main.ts"],
  compile: { outfile: "dist/ctrnet" },
  minify: true,
  sourcemap: "none",
  define: { CTRNET_COMMIT: JSON.stringify(commit || "unknown") },
});

if (!result.success) {
  for (const message of result.logs) console.error(message);
  process.exit(1);
}
const size = Bun.file("dist/ctrnet").size;
console.error(`built dist/ctrnet ${pkg.version} (${commit || "unknown"}), ${(size / 1048576).toFixed(1)} MiB`);
