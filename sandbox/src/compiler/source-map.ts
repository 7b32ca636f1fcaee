// Just enough of the source map format (v3) to map a position in esbuild's output back
// to the tenant's file: base64 VLQ decoding of `mappings`.

const VLQ = new Map([..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"].map((c, i) => [c, i]));

function decodeVlq(segment: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of segment) {
    const digit = VLQ.get(char) ?? 0;
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      values.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return values;
}

/** For each generated line: [generatedColumn, originalLine, originalColumn], sorted by column (0-based). */
export type LineMappings = [number, number, number][][];

export function decodeMappings(mappings: string): LineMappings {
  let sourceLine = 0;
  let sourceColumn = 0;
  return mappings.split(";").map((line) => {
    let generatedColumn = 0;
    const out: [number, number, number][] = [];
    for (const segment of line.split(",")) {
      if (!segment) continue;
      const [column = 0, , lineDelta = 0, columnDelta = 0] = decodeVlq(segment);
      generatedColumn += column;
      if (decodeVlq(segment).length >= 4) {
        sourceLine += lineDelta;
        sourceColumn += columnDelta;
        out.push([generatedColumn, sourceLine, sourceColumn]);
      }
    }
    return out;
  });
}

/** The original 1-based line and column of a generated 1-based line and 0-based column. */
export function originalPosition(map: LineMappings, line: number, column: number): { line: number; column: number } {
  const segments = map[line - 1] ?? [];
  let best = segments[0];
  for (const segment of segments) if (segment[0] <= column) best = segment;
  return best ? { line: best[1] + 1, column: best[2] + 1 } : { line, column: column + 1 };
}
