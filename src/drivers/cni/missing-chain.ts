// What a plugin's DEL says when the rules it would delete are already gone: after a firewall reload, or
// when the DEL is a retry of one that got past that plugin before another failed (the bridge plugin, for
// one, fails on its own masquerade chain gone). iptables-legacy's and iptables-nft's wording, as podman
// matches them.
import { errorMessage } from "../../errors.ts";

const MISSING_CHAIN =
  /Couldn't load target `CNI-[\w-]+'|Chain '?CNI-[\w-]+'? does not exist|No chain\/target\/match by that name|chain .*CNI-[\w-]+.* does not exist/i;

export function isMissingChainError(err: unknown): boolean {
  return MISSING_CHAIN.test(errorMessage(err));
}
