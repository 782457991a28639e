/**
 * The strings the trace buffer's spans name (plugin methods, callers, instances, nodes), each kept
 * once and referred to by a small integer index: a span waiting in the buffer holds numbers, not
 * strings, so it is nothing for the garbage collector to carry.
 *
 * Reference-counted: a string goes when the last span naming it leaves the buffer, so the table is
 * bounded by the buffer whatever the callers send (a method name is the caller's until the
 * plugin's method table has been checked; `client:<n>` grows with every connection).
 */
export class StringTable {
  private readonly strings: (string | undefined)[] = [];
  private readonly refs: number[] = [];
  private readonly index = new Map<string, number>();
  private readonly free: number[] = [];
  // Most spans in a row name the same few strings: a one-entry cache per column in front of the
  // Map saves its hashing of a request's fresh string (a string compare is cheaper).
  private readonly lastString: (string | undefined)[] = [];
  private readonly lastIndex: number[] = [];

  /**
   * One more reference to `s`; returns its index. `column` (0..3) picks the one-entry cache, so
   * that alternating kinds of strings (a name, then a caller) do not evict each other.
   */
  ref(s: string, column: number): number {
    let i: number;
    if (this.lastString[column] === s) i = this.lastIndex[column];
    else {
      const known = this.index.get(s);
      if (known !== undefined) i = known;
      else {
        i = this.free.length > 0 ? this.free.pop()! : this.strings.length;
        this.strings[i] = s;
        this.refs[i] = 0;
        this.index.set(s, i);
      }
      this.lastString[column] = s;
      this.lastIndex[column] = i;
    }
    this.refs[i]++;
    return i;
  }

  /** Drops one reference to index `i`; the string goes with its last one. */
  unref(i: number): void {
    if (--this.refs[i] > 0) return;
    const s = this.strings[i]!;
    this.index.delete(s);
    this.strings[i] = undefined;
    this.free.push(i);
    for (let c = 0; c < this.lastIndex.length; c++) {
      if (this.lastIndex[c] === i) {
        this.lastString[c] = undefined;
        this.lastIndex[c] = -1;
      }
    }
  }

  at(i: number): string {
    return this.strings[i]!;
  }

  /** Distinct strings held (for tests: the table must not outgrow the buffer). */
  get size(): number {
    return this.index.size;
  }
}
