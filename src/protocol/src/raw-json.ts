/**
 * JSON passed through as text. A daemon that only forwards a call's params or result does not
 * need them as objects: parsing them on the way in and encoding them again on the way out was
 * a fifth of the daemon's time per socket call (issue 19). A RawJson is text already checked to
 * be exactly one JSON value (scanJsonValue) and is written out as it came.
 *
 * It is made only where the reader asked for it (RpcPeer's `rawParams`, a request sent with
 * `rawResult`); code that needs the value calls `value()`. JSON.stringify of a RawJson gives
 * the value's JSON, so one that reaches ordinary encoding by mistake is still encoded right.
 */
export class RawJson {
  private parsed?: unknown;
  private isParsed = false;

  constructor(
    /** The value's JSON text, validated. */
    readonly text: string,
    /** The nesting bound its scan enforced: it nests no deeper than this. */
    readonly maxDepth: number,
  ) {}

  /** The value, parsed once on first use. */
  value(): unknown {
    if (!this.isParsed) {
      this.parsed = JSON.parse(this.text);
      this.isParsed = true;
    }
    return this.parsed;
  }

  toJSON(): unknown {
    return this.value();
  }

  /** True when the text is an object with no members (`{}`, whitespace allowed). */
  get isEmptyObject(): boolean {
    const t = this.text;
    if (t.charCodeAt(0) !== OPEN_BRACE) return false;
    let i = 1;
    while (isSpace(t.charCodeAt(i))) i++;
    return t.charCodeAt(i) === CLOSE_BRACE;
  }
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * An object's text with one more member, `"key":<json>` appended: what `{...params, [key]: v}`
 * encodes to, without parsing params.
 */
export function withMember(obj: RawJson, key: string, json: string): string {
  const open = obj.text.slice(0, obj.text.lastIndexOf("}"));
  return `${open}${obj.isEmptyObject ? "" : ","}${JSON.stringify(key)}:${json}}`;
}
