import { defineCommand } from "citty";
import { print } from "../output.ts";
import { notFoundIsRuntime, UsageError } from "../../errors.ts";
import { latestContainer, parsePortQuery, portLines, publishedPorts, withContext } from "../../lifecycle/index.ts";
import { checkAllLatest, contextOptions, globalArgs, latestArg, rejectUnknownOptions, runtimeArgs } from "../args.ts";
import { goJson, isJsonFormat, renderList } from "../template/index.ts";
import { PORT_HEADERS, portJson, portView, templateFormatArg } from "../views.ts";

const args = {
  ...globalArgs,
  ...runtimeArgs,
  ...templateFormatArg,
  noheading: { type: "boolean", alias: "n", description: "leave out the header row of a table" },
  all: { type: "boolean", alias: "a", description: "every container's published ports, each line starting with its id (12 characters) and a tab" },
  ...latestArg,
  id: { type: "positional", required: false, description: "container id or name", valueHint: "container" },
  port: { type: "positional", required: false, description: "PORT[/PROTO]: show where this container port is published" },
} as const;

export default defineCommand({
  meta: { name: "port", description: "List a container's published ports, or the host address of one" },
  args,
  run({ args: values, rawArgs }) {
    // an unknown container, or a port it does not publish: exit 1, as rm's and inspect's
    return notFoundIsRuntime(
      (async () => {
        rejectUnknownOptions(rawArgs, args);
        checkAllLatest([values.id, values.port].filter((a) => a !== undefined).map(String), values, true);
        if (values.all) {
          // podman's port --all: no container named, every container's mappings, one port a line
          if (values.id !== undefined) throw new UsageError("--all and a container id cannot be used together: no arguments are needed with --all");
          if (values.format !== undefined) throw new UsageError("--all and --format cannot be used together");
          const lines = await withContext(contextOptions(values), async (ctx) =>
            ctx.state().list().flatMap((rec) => portLines(publishedPorts(ctx, rec.id)).map((l) => `${rec.id.slice(0, 12)}\t${l}\n`)),
          );
          print(lines.join(""));
          return;
        }
        // with --latest, the one argument is PORT (podman's)
        if (values.latest && values.port !== undefined) throw new UsageError("--latest and a container id cannot be used together: give PORT alone");
        if (values.id === undefined && !values.latest) throw new UsageError("you must supply a running container name or id, or --all or --latest");
        // podman's port: a word beyond CONTAINER and PORT is refused, not ignored
        if (values._.length > 2) throw new UsageError("`port` accepts at most 2 arguments");
        const ports = await withContext(contextOptions(values), async (ctx) => publishedPorts(ctx, values.latest ? latestContainer(ctx.state()).id : String(values.id)));
        const arg = values.latest ? values.id : values.port;
        const query = arg === undefined ? undefined : String(arg);
        const format = values.format === undefined ? undefined : String(values.format);
        if (format === undefined) {
          print(portLines(ports, query).map((l) => `${l}\n`).join(""));
          return;
        }
        // With a format, PORT picks the mappings that contain it (their ranges as they are); portLines refuses
        // a port that is not published, in the words it uses without a format.
        if (query !== undefined) portLines(ports, query);
        const wanted = query === undefined ? undefined : parsePortQuery(query);
        const picked = wanted
          ? ports.filter((m) => m.protocol === wanted.protocol && wanted.port >= m.containerPort && wanted.port < m.containerPort + m.range)
          : ports;
        if (isJsonFormat(format)) print(`${goJson(picked.map(portJson), "  ")}\n`);
        else print(renderList(format, picked.map(portView), { headers: PORT_HEADERS, noHeading: values.noheading === true }));
      })(),
    );
  },
});
