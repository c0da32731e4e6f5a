/**
 * Reads the box tables `console.table` prints back into rows of named cells (quotes around strings
 * removed), so the figures of a benchmark run in a child process can be reused.
 */
export function parseConsoleTables(output: string): Array<Array<Record<string, string>>> {
  const tables: Array<Array<Record<string, string>>> = [];
  let header: string[] | undefined;
  let rows: Array<Record<string, string>> = [];
  for (const line of output.split("\n")) {
    const trimmed = line.trim();
    if (trimmed.startsWith("┌")) {
      header = undefined;
      rows = [];
      continue;
    }
    if (trimmed.startsWith("└")) {
      if (header) tables.push(rows);
      header = undefined;
      continue;
    }
    if (!trimmed.startsWith("│")) continue;
    const cells = trimmed
      .slice(1, -1)
      .split("│")
      .map((cell) => cell.trim().replace(/^'(.*)'$/, "$1"));
    if (!header) {
      header = cells;
      continue;
    }
    const row: Record<string, string> = {};
    header.forEach((name, column) => {
      row[name] = cells[column] ?? "";
    });
    rows.push(row);
  }
  return tables;
}
