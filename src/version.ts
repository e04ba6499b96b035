import pkg from "../package.json" with { type: "json" };

declare const CTRNET_COMMIT: string | undefined;

export const VERSION: string = pkg.version;
export const COMMIT: string = typeof CTRNET_COMMIT === "string" ? CTRNET_COMMIT : "dev";
