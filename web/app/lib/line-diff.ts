// Line diffs of two versions' source, for the Versions tab. Pure: a longest common subsequence
// of lines (common prefix and suffix trimmed first, so an edit in a long file stays cheap), then
// hunks with a few lines of context around each change, as `diff -u` shows them.

export type DiffLine =
  | { kind: "same"; text: string; oldNumber: number; newNumber: number }
  | { kind: "removed"; text: string; oldNumber: number }
  | { kind: "added"; text: string; newNumber: number };

/** Past this many cells the middle is shown as all removed then all added, rather than stall the page. */
const MAX_CELLS = 4_000_000;

/** Splits text into lines; a final newline does not make an empty last line. */
export function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** Every line of `before` and `after`, each kept, removed or added, in reading order. */
export function diffLines(before: string, after: string): DiffLine[] {
  const a = splitLines(before);
  const b = splitLines(after);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const out: DiffLine[] = [];
  for (let i = 0; i < start; i++) out.push({ kind: "same", text: a[i] as string, oldNumber: i + 1, newNumber: i + 1 });
  out.push(...middle(a, b, start, endA, endB));
  for (let i = endA, j = endB; i < a.length; i++, j++) {
    out.push({ kind: "same", text: a[i] as string, oldNumber: i + 1, newNumber: j + 1 });
  }
  return out;
}

/** The changed middle, a[start..endA) against b[start..endB), by a table of LCS lengths. */
function middle(a: string[], b: string[], start: number, endA: number, endB: number): DiffLine[] {
  const n = endA - start;
  const m = endB - start;
  const out: DiffLine[] = [];
  if (n * m > MAX_CELLS) {
    for (let i = start; i < endA; i++) out.push({ kind: "removed", text: a[i] as string, oldNumber: i + 1 });
    for (let j = start; j < endB; j++) out.push({ kind: "added", text: b[j] as string, newNumber: j + 1 });
    return out;
  }
  // lcs[i][j]: the LCS length of a[start+i..endA) and b[start+j..endB), in one flat array.
  const width = m + 1;
  const lcs = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * width + j] =
        a[start + i] === b[start + j]
          ? (lcs[(i + 1) * width + j + 1] as number) + 1
          : Math.max(lcs[(i + 1) * width + j] as number, lcs[i * width + j + 1] as number);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    const oldIndex = start + i;
    const newIndex = start + j;
    if (i < n && j < m && a[oldIndex] === b[newIndex]) {
      out.push({ kind: "same", text: a[oldIndex] as string, oldNumber: oldIndex + 1, newNumber: newIndex + 1 });
      i++;
      j++;
    } else if (j < m && (i === n || (lcs[i * width + j + 1] as number) > (lcs[(i + 1) * width + j] as number))) {
      out.push({ kind: "added", text: b[newIndex] as string, newNumber: newIndex + 1 });
      j++;
    } else {
      // On a tie the removal comes first: reads like `diff -u`.
      out.push({ kind: "removed", text: a[oldIndex] as string, oldNumber: oldIndex + 1 });
      i++;
    }
  }
  return out;
}

export type DiffHunk = { kind: "lines"; lines: DiffLine[] } | { kind: "skipped"; count: number };

/** The changes with `context` unchanged lines around each; longer runs of unchanged lines are skipped. */
export function hunks(lines: DiffLine[], context = 3): DiffHunk[] {
  const keep = lines.map(() => false);
  lines.forEach((line, index) => {
    if (line.kind === "same") return;
    for (let k = Math.max(0, index - context); k <= Math.min(lines.length - 1, index + context); k++) keep[k] = true;
  });
  const out: DiffHunk[] = [];
  for (let index = 0; index < lines.length; index++) {
    const last = out.at(-1);
    if (keep[index]) {
      if (last?.kind === "lines") last.lines.push(lines[index] as DiffLine);
      else out.push({ kind: "lines", lines: [lines[index] as DiffLine] });
    } else if (last?.kind === "skipped") last.count++;
    else out.push({ kind: "skipped", count: 1 });
  }
  return out;
}

export interface FileDiff {
  path: string;
  status: "added" | "removed" | "changed" | "same";
  lines: DiffLine[];
  added: number;
  removed: number;
}

/** Each file of either version (sorted by path), with its line diff and counts. */
export function diffFiles(before: Record<string, string>, after: Record<string, string>): FileDiff[] {
  const paths = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return paths.map((path) => {
    const lines = diffLines(before[path] ?? "", after[path] ?? "");
    const added = lines.filter((line) => line.kind === "added").length;
    const removed = lines.filter((line) => line.kind === "removed").length;
    const status = !(path in before)
      ? "added"
      : !(path in after)
        ? "removed"
        : added + removed === 0
          ? "same"
          : "changed";
    return { path, status, lines, added, removed };
  });
}
