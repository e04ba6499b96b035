// Compiles src/cli/main.ts into the single executable dist/ctrnet, with the version and commit embedded.
import pkg from "./package.json" with { type: "json" };

/** The binary's starting JIT policy (see compile below); src/cli/jit.ts knows it as CTRNET_JIT_POLICY. */
const JIT_POLICY = 1000;

const commit = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { stderr: "ignore" }).stdout.toString().trim();

const result = await Bun.build({
  entrypoints: ["src/cli/main.ts"],
  // A compiled Bun reads .env and bunfig.toml from the working directory by default: a .env there would
  // set ctrnet's own variables (CTRNET_ROOT...), a broken bunfig.toml would fail every command, and each
  // start paid for the look-ups. ctrnet takes its settings from its options and environment only.
  // jitPolicy: JavaScriptCore's tier-up thresholds times 1000 at start, so a command of some tens of ms stays in
  // the interpreter: compiling its warmest functions (the baseline JIT on the command's own thread, the
  // others beside it on a 2-core machine) never paid back. 8 cut the CPU time of a create by about 18%
  // against 1; 1000 took about 0.9 ms more off a create and an rm (bench/create-ab.sh). Commands that walk
  // every record set 8 back, and the daemons the normal 1 (main.ts jitPolicyFor).
  compile: { outfile: "dist/ctrnet", autoloadDotenv: false, autoloadBunfig: false, jitPolicy: JIT_POLICY },
  minify: true,
  // Bytecode compiled at build time spares parsing the bundle at every start.
  bytecode: true,
  // One module per chunk of code that loads together, each with its own bytecode: a command loads and
  // decodes only its own graph (its `import()` in main.ts), not the whole program's 4.5 MB of bytecode, which
  // a single CommonJS bundle made every command pay (about 3 ms, and 9 MB more memory for the kernel to free
  // at exit). Splitting needs ES modules.
  format: "esm",
  splitting: true,
  sourcemap: "none",
  define: { CTRNET_COMMIT: JSON.stringify(commit || "unknown"), CTRNET_JIT_POLICY: String(JIT_POLICY) },
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
