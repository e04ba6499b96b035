export { dnsConfigUnchanged, readDnsConfig, readDnsStatus, statusPathOf, updateDnsServer, waitForDnsStatus, writeDnsConfig } from "./config.ts";
export { runDnsHelper } from "./helper.ts";
export { hostUpstreams, parseNameservers } from "./upstreams.ts";
export { SEARCH_DOMAIN } from "./zone.ts";
