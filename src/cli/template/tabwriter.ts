// Go's text/tabwriter (elastic tabstops), as podman's tables use it: NewWriter(w, 12, 2, 2, ' ', 0).
// A cell is text ended by a tab; a column block is a run of lines that have a cell in that column, and a
// line without any tab ends the blocks above it. The last cell of a line is not aligned.

interface Options {
  minWidth: number;
  padding: number;
}

const width = (text: string): number => [...text].length;

function formatBlock(lines: string[][], opts: Options): string {
  let out = "";
  const widths: number[] = [];
  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const cells = lines[i]!;
      cells.forEach((cell, j) => {
        out += cell;
        if (j < widths.length) out += " ".repeat(widths[j]! - width(cell));
      });
      out += "\n";
    }
  };
  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let row = line0; row < line1; row++) {
      if (column >= lines[row]!.length - 1) continue;
      writeLines(line0, row);
      line0 = row;
      let w = opts.minWidth;
      for (; row < line1 && column < lines[row]!.length - 1; row++) w = Math.max(w, width(lines[row]![column]!) + opts.padding);
      widths.push(w);
      format(line0, row);
      widths.pop();
      line0 = row;
      row--;
    }
    writeLines(line0, line1);
  };
  format(0, lines.length);
  return out;
}

export function tabwrite(text: string, opts: Options = { minWidth: 12, padding: 2 }): string {
  if (text === "") return "";
  const endsWithNewline = text.endsWith("\n");
  const rows = (endsWithNewline ? text.slice(0, -1) : text).split("\n");
  let out = "";
  let block: string[][] = [];
  for (const row of rows) {
    const cells = row.split("\t");
    block.push(cells);
    if (cells.length === 1) {
      out += formatBlock(block, opts);
      block = [];
    }
  }
  out += formatBlock(block, opts);
  return endsWithNewline ? out : out.slice(0, -1);
}
