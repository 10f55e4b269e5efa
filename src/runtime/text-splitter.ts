/**
 * Splits text that is longer than the server's limit into parts of at most `max` characters,
 * at sentence boundaries where it can, then at clause boundaries, then at spaces, and only as a
 * last resort inside a word. Nothing is dropped: the parts joined with single spaces give the
 * text back with its white space runs at the cuts folded.
 */
const SENTENCE_END = /[.!?…。！？]["'”’»)\]]*\s+/g;
const CLAUSE_END = /[,;:—–-]\s+/g;

function cutPoints(text: string, re: RegExp): number[] {
  const points: number[] = [];
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) points.push(m.index + m[0].length);
  return points;
}

/** The last cut point in text[0..max], or -1. */
function lastCut(text: string, max: number, re: RegExp): number {
  let best = -1;
  for (const p of cutPoints(text.slice(0, max + 1), re)) if (p <= max && p > 0) best = p;
  return best;
}

export function splitText(text: string, max: number): string[] {
  if (!Number.isInteger(max) || max < 1) throw new RangeError('max must be a positive whole number');
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > max) {
    let cut = lastCut(rest, max, SENTENCE_END);
    if (cut < 0) cut = lastCut(rest, max, CLAUSE_END);
    if (cut < 0) {
      const space = rest.lastIndexOf(' ', max);
      cut = space > 0 ? space + 1 : max;
    }
    const part = rest.slice(0, cut).trim();
    if (part) parts.push(part);
    rest = rest.slice(cut).trim();
  }
  if (rest) parts.push(rest);
  return parts;
}
