// A module's schemas built at their first use, not when the module loads. Each valibot call builds an object
// (about a microsecond), and a native create or rm loads modules whose schemas it never parses with: the DNS
// server's configuration, CNI results and cache files. What is parsed, and how, stays the same.

/** build() once, at the first call; the same schemas ever after. */
export function lazySchemas<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= build());
}
