// Stands in for consola/utils where citty imports it (build.ts): its colour helpers load node:tty and
// detect the terminal at start-up, about 10 ms of every command; help text is plain instead.
const plain = (text: unknown): string => String(text);

export const colors: Record<string, (text: unknown) => string> = new Proxy({}, { get: () => plain });
