/**
 * Sentences out of text that arrives in pieces (Home Assistant streams an LLM's answer a few words
 * at a time): a sentence is complete once its end mark (. ! ? … and their CJK forms, with closing
 * quotes or brackets) is followed by white space, or when the text ends. No Node-RED imports.
 */
const SENTENCE_END = /[.!?…。！？]+["'”’»)\]]*(\s+)/g;
/** CJK end marks need no space after them. */
const CJK_END = /[。！？]+["'”’»)\]]*/g;

export class SentenceSplitter {
  private text = '';

  /** Adds a piece of text; returns the sentences it completed (trimmed, never empty). */
  add(piece: string): string[] {
    this.text += piece;
    const out: string[] = [];
    let from = 0;
    for (const cut of cuts(this.text)) {
      const sentence = this.text.slice(from, cut).trim();
      if (sentence) out.push(sentence);
      from = cut;
    }
    this.text = this.text.slice(from);
    return out;
  }

  /** The rest, once the text is over (trimmed; '' when nothing is left). */
  finish(): string {
    const rest = this.text.trim();
    this.text = '';
    return rest;
  }
}

/**
 * Where sentences end in `text` (indexes after the end mark and its white space), in order. A CJK
 * end mark at the very end of the text may still get a closing quote: it waits for more.
 */
function cuts(text: string): number[] {
  const points = new Set<number>();
  for (const re of [SENTENCE_END, CJK_END]) {
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const end = m.index + m[0].length;
      if (re === SENTENCE_END || end < text.length) points.add(end);
    }
  }
  return [...points].sort((a, b) => a - b);
}
