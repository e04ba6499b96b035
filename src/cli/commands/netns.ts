import { defineCommand } from "citty";
export default defineCommand({ meta: { name: "netns", description: "Manage persistent network namespaces" } });
