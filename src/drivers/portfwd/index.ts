export { startPortForwarder, type PortForward, type PortForwarder, type PortForwarderOptions } from "./start.ts";
