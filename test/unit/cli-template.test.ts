// --format's Go templates: expected outputs are what Go's text/template and podman's report package print
// for the same template and data (checked against podman itself in test/integration/format-cli.test.ts).
import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/errors.ts";
import { columnHeaders, fromJson, isJsonFormat, nilSlice, renderInspect, renderList, splitCamelCase, stringer, struct } from "../../src/cli/template/index.ts";
import { tabwrite } from "../../src/cli/template/tabwriter.ts";
import { goTime } from "../../src/cli/views.ts";

const nets = [
  struct(
    {
      Name: "n1",
      ID: "676b8bb84ce7",
      Labels: new Map([
        ["b", "2"],
        ["a", "1"],
      ]),
      Subnets: [struct({ Subnet: "10.89.0.0/24", Gateway: "10.89.0.1" }, { subnet: "10.89.0.0/24", gateway: "10.89.0.1" })],
      Internal: false,
      Aliases: ["web", "www"],
    },
    { name: "n1", id: "676b8bb84ce7" },
  ),
  struct({ Name: "n2", ID: "0480a93d2e9b", Labels: new Map(), Subnets: [], Internal: true, Aliases: [] }, { name: "n2", id: "0480a93d2e9b" }),
];
const headers = columnHeaders(["Name", "ID", "Labels", "Subnets", "Internal", "Aliases"], { ID: "network id" });
const list = (format: string, noHeading = false) => renderList(format, nets, { headers, noHeading });
const one = (format: string) => renderInspect(format, [nets[0]]);

/** The one-line UsageError a bad template gives. */
function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error("no error");
}

describe("fields, maps and printing", () => {
  test("a field of each item, one line each", () => {
    expect(list("{{.Name}} {{.ID}}")).toBe("n1 676b8bb84ce7\nn2 0480a93d2e9b\n");
  });
  test("nested fields, map keys, a missing key, Go's %v of maps and slices", () => {
    expect(one("{{.Labels.a}}|{{.Labels.zz}}|{{.Labels}}|{{.Aliases}}|{{.Subnets}}|{{.Internal}}")).toBe(
      "1|<no value>|map[a:1 b:2]|[web www]|[{10.89.0.0/24 10.89.0.1}]|false\n",
    );
  });
  test("json prints the JSON form of a struct, maps with sorted keys", () => {
    expect(one("{{json .}}")).toBe('{"name":"n1","id":"676b8bb84ce7"}\n');
    expect(one("{{json .Labels}} {{json .Aliases}} {{json .Subnets}}")).toBe(
      '{"a":"1","b":"2"} ["web","www"] [{"subnet":"10.89.0.0/24","gateway":"10.89.0.1"}]\n',
    );
  });
  test("a nil slice (podman's omitempty slice fields, unset) prints [] as an empty one, null as JSON, and is false, of length 0", () => {
    const v = struct({ Extra: nilSlice(), Empty: [] }, {});
    expect(renderInspect("{{.Extra}} {{json .Extra}} {{.Empty}} {{json .Empty}} {{len .Extra}} {{if .Extra}}y{{else}}n{{end}}{{range .Extra}}x{{end}}", [v])).toBe("[] null [] [] 0 n\n");
  });
  test("a Go map field that is null in JSON (a nil map: podman's DriverOpts, IPAMConfig) prints map[] as an empty one, null as JSON", () => {
    const v = fromJson({ DriverOpts: null, Other: null }, { maps: ["DriverOpts"] });
    expect(renderInspect("{{.DriverOpts}} {{json .DriverOpts}} {{len .DriverOpts}} {{.Other}} {{json .}}", [v])).toBe('map[] null 0 <nil> {"DriverOpts":null,"Other":null}\n');
  });
  test("fromJson: renamed fields, maps where the shape says, the JSON kept for json", () => {
    const v = fromJson({ Id: "x", Ports: { "80/tcp": [{ HostIp: "", HostPort: "8080" }] }, Net: { A: 1 } }, { renames: { Id: "ID", HostIp: "HostIP" }, maps: ["Ports"] });
    expect(renderInspect('{{.ID}} {{(index (index .Ports "80/tcp") 0).HostPort}} {{.Net.A}} {{json .Ports}}', [v])).toBe(
      'x 8080 1 {"80/tcp":[{"HostIp":"","HostPort":"8080"}]}\n',
    );
  });
  test("a stringer (a Go value with a String method: ctrnet's State word with podman's State fields) prints and marshals as its text, compares as it, and has its fields", () => {
    const v = struct({ State: stringer("ready", { Status: "running", Running: true }) }, { State: "ready" });
    expect(renderInspect('{{.State}} {{json .State}} {{.State.Status}} {{.State.Running}} {{if eq .State "ready"}}y{{end}} {{printf "%v" .State}} {{json .}}', [v])).toBe(
      'ready "ready" running true y ready {"State":"ready"}\n',
    );
    expect(failure(() => renderInspect("{{.State.Nope}}", [v]))).toContain("can't evaluate field Nope");
  });
  test("\\t and \\n typed on a command line are a tab and a newline", () => {
    expect(one("{{.Name}}\\t{{.ID}}\\n")).toBe("n1\t676b8bb84ce7\n");
  });
  test("a template with its own {{range .}} gets the whole list", () => {
    expect(list("{{range .}}{{.Name}},{{end}}")).toBe("n1,n2,\n");
  });
});

describe("actions", () => {
  test("range with else, and over a map with $key, $value", () => {
    expect(list("{{range .Subnets}}{{.Subnet}} via {{.Gateway}}{{else}}none{{end}}")).toBe("10.89.0.0/24 via 10.89.0.1\nnone\n");
    expect(one("{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}")).toBe("a=1;b=2;\n");
    expect(one("{{range $i, $a := .Aliases}}{{$i}}:{{$a}} {{end}}")).toBe("0:web 1:www \n");
    expect(one("{{range $a := .Aliases}}{{$a}} {{end}}")).toBe("web www \n");
  });
  test("if / else if / else, with and its else", () => {
    const t = '{{if .Internal}}internal{{else if eq .Name "n1"}}first{{else}}other{{end}} {{with .Aliases}}{{index . 0}}{{else}}-{{end}}';
    expect(list(t)).toBe("first web\ninternal -\n");
  });
  test("break and continue", () => {
    expect(one('{{range .Aliases}}{{if eq . "web"}}{{continue}}{{end}}{{.}}{{end}}')).toBe("www\n");
    expect(one('{{range .Aliases}}{{if eq . "www"}}{{break}}{{end}}{{.}}{{end}}')).toBe("web\n");
  });
  test("variables: declared, assigned in a range, scoped to their block; $ is the whole list, as podman runs the template on it", () => {
    expect(one('{{$n := 0}}{{range .Aliases}}{{$n = len .}}{{end}}{{$n}} {{with .Labels}}{{len $}}{{end}}')).toBe("3 1\n");
    expect(failure(() => one("{{if true}}{{$x := 1}}{{end}}{{$x}}"))).toContain('undefined variable "$x"');
  });
  test("pipelines pass their value as the last argument", () => {
    expect(one('{{.Name | upper | printf "<%s>"}} {{"A,B" | lower | split "," | len}} {{"a" | printf "%s-%s" "x"}}')).toBe("<N1> 1 x-a\n");
    expect(failure(() => one("{{.Name | .ID}}"))).toContain("can't give argument to non-function .ID");
  });
  test("trim markers and comments", () => {
    expect(one("a  {{- .Name -}}  \n b {{/* gone */}}c{{- /* gone */ -}} d")).toBe("an1b cd\n");
    expect(one("{{-3}}")).toBe("-3\n");
  });
});

describe("functions", () => {
  test("podman's: join, json, lower, upper, title, split, pad, truncate", () => {
    expect(one('{{join .Aliases ","}}|{{upper .Name}}|{{lower "AB"}}|{{title "hello world"}}|{{pad .Name 1 2}}|{{truncate .ID 4}}|{{split "a:b" ":"}}')).toBe(
      "web,www|N1|ab|Hello World| n1  |676b|[a b]\n",
    );
  });
  test("Go's: len, index, slice, print, println, printf, not, and, or, comparisons", () => {
    expect(one('{{len .Aliases}} {{len .Labels}} {{len "héllo"}} {{index .Aliases 1}} {{index .Labels "b"}} {{slice .ID 0 3}}')).toBe("2 2 6 www 2 676\n");
    expect(one('{{print 1 2 "a" 3}}|{{println .Name 1}}|{{printf "%5s|%-4d|%03d|%q|%v|%x|%.2f|%t" "ab" 7 5 "q" .Aliases 255 3.14159 true}}')).toBe(
      '1 2a3|n1 1\n|   ab|7   |005|"q"|[web www]|ff|3.14|true\n',
    );
    expect(one('{{not .Internal}} {{and 1 0 2}} {{or 0 "" "x"}} {{and .Internal .Nope}} {{eq 1 2 1}} {{ne "a" "b"}} {{lt 1 2}} {{ge "b" "a"}}')).toBe(
      "true 0 x false true true true true\n",
    );
  });
  test("numbers as Go prints them: integral ones as ints, floats shortest with a two-digit exponent outside 1e-4..1e6", () => {
    expect(one("{{0.000012}} {{1e20}} {{123456.789}} {{1234567.5}} {{-2.5e-9}} {{1.0}} {{0.1}}")).toBe("1.2e-05 1e+20 123456.789 1.2345675e+06 -2.5e-09 1 0.1\n");
    expect(one('{{printf "%e %g %.3g %.2g %s %d" 123456.789 0.000012 3.14159 1234.5 1 "x"}}')).toBe("1.234568e+05 1.2e-05 3.14 1.2e+03 %!s(int=1) %!d(string=x)\n");
  });
  test("html, js, urlquery; nil as an argument; a string indexes to its bytes", () => {
    expect(one(`{{html "<a href='x'>&\\"" 1}}|{{js "a'b<c>=\\\\"}}|{{urlquery "a b&c=d/é!*"}}`)).toBe(
      "&lt;a href=&#39;x&#39;&gt;&amp;&#34;1|a\\'b\\u003Cc\\u003E\\u003D\\\\|a+b%26c%3Dd%2F%C3%A9%21%2A\n",
    );
    expect(one('{{print .Name nil}} {{index .Name 0}} {{index "é" 1}}')).toBe("n1<nil> 110 169\n");
    expect(failure(() => one("{{nil}}"))).toContain("nil is not a command");
  });
  test("index out of range, len of a number, comparing a string with a number: errors", () => {
    expect(failure(() => one("{{index .Aliases 5}}"))).toContain("error calling index: index out of range: 5");
    expect(failure(() => one("{{len 3}}"))).toContain("len of type int");
    expect(failure(() => one('{{eq .Name 1}}'))).toContain("incompatible types for comparison");
  });
});

describe("tables", () => {
  test("table: header row from the field names, columns by tabwriter (min width 12, padding 2)", () => {
    expect(list("table {{.ID}} {{.Name}} {{.Internal}}")).toBe(
      "NETWORK ID    NAME        INTERNAL\n676b8bb84ce7  n1          false\n0480a93d2e9b  n2          true\n",
    );
  });
  test("table with \\t separators, --noheading leaves the header out", () => {
    expect(list("table {{.Name}}\\t{{.Labels}}", true)).toBe("n1          map[a:1 b:2]\nn2          map[]\n");
  });
  test("a format without table is not aligned and has no header", () => {
    expect(list("{{.Name}}\\t{{.ID}}")).toBe("n1\t676b8bb84ce7\nn2\t0480a93d2e9b\n");
  });
  test("inspect's templates are not aligned, as podman 4's", () => {
    expect(renderInspect("{{.Name}}\\t{{.ID}}", nets)).toBe("n1\t676b8bb84ce7\nn2\t0480a93d2e9b\n");
  });
  test("column headers split camel case as containers/common's camelcase", () => {
    expect(splitCamelCase("IPv6Enabled")).toEqual(["I", "Pv", "6", "Enabled"]);
    expect(splitCamelCase("NetworkInterface")).toEqual(["Network", "Interface"]);
    expect(splitCamelCase("IPAMOptions")).toEqual(["IPAM", "Options"]);
    expect(columnHeaders(["DNSEnabled", "ID"], { ID: "network id" })).toEqual(new Map([["DNSEnabled", "DNS ENABLED"], ["ID", "NETWORK ID"]]));
  });
  test("tabwriter: a line without a tab ends the column blocks above it; trailing cells are not padded", () => {
    expect(tabwrite("a\tbb\tc\nlong-cell-here\tb\tc\nplain line\nx\ty\n")).toBe(
      "a               bb          c\nlong-cell-here  b           c\nplain line\nx           y\n",
    );
    expect(tabwrite("a\tb\n")).toBe("a           b\n");
    expect(tabwrite("")).toBe("");
  });
});

describe("json and errors", () => {
  test("json and {{json .}} mean JSON output, as podman's report.IsJSON", () => {
    expect(isJsonFormat("json")).toBe(true);
    expect(isJsonFormat("{{ json . }}")).toBe(true);
    expect(isJsonFormat("{{json .Name}}")).toBe(false);
  });
  test("a bad template is one line naming the problem and where (line:column of the format as given)", () => {
    expect(failure(() => one("{{.Name"))).toBe('invalid --format "{{.Name": 1:3: unclosed action');
    expect(failure(() => one("ok {{.Nope}}"))).toBe('invalid --format "ok {{.Nope}}": 1:6: can\'t evaluate field Nope in type struct');
    expect(failure(() => one("a\\t{{nope .}}"))).toBe('invalid --format "a\\\\t{{nope .}}": 1:6: function "nope" not defined');
    expect(failure(() => one("{{if .Name}}x"))).toContain("1:3: unexpected EOF: {{if}} has no {{end}}");
    expect(failure(() => one("{{end}}"))).toContain("unexpected {{end}}");
    expect(failure(() => one("{{.Name}}\n{{range 5.5}}{{end}}"))).toContain('2:3: range can\'t iterate over 5.5');
    expect(failure(() => one('{{template "x"}}'))).toContain("not supported");
    expect(failure(() => one("{{.Name {}}"))).toContain("bad character U+007B '{'");
    expect(failure(() => one("{{.Labels.a.b}}"))).toContain("can't evaluate field b in type string");
  });
});

test("goTime prints Go's time.Time String()", () => {
  expect(goTime("2026-12-06T04:13:25.230Z")).toBe("2026-12-06 04:13:25.23 +0000 UTC");
  expect(goTime("2026-12-06T04:13:25.000Z")).toBe("2026-12-06 04:13:25 +0000 UTC");
});
