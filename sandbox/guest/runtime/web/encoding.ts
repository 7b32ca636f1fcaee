// TextEncoder / TextDecoder for UTF-8, the only encoding tool code needs.

export class TextEncoder {
  get encoding(): "utf-8" {
    return "utf-8";
  }
  encode(input = ""): Uint8Array {
    const text = String(input);
    const out: number[] = [];
    for (let i = 0; i < text.length; i++) {
      let code = text.charCodeAt(i);
      if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
        const low = text.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
          i++;
        }
      }
      if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd; // lone surrogate
      if (code < 0x80) out.push(code);
      else if (code < 0x800) out.push(0xc0 | (code >> 6), 0x80 | (code & 63));
      else if (code < 0x10000) out.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
      else out.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 63), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    }
    return new Uint8Array(out);
  }
}

export class TextDecoder {
  readonly #fatal: boolean;
  readonly #ignoreBOM: boolean;
  constructor(label = "utf-8", options: { fatal?: boolean; ignoreBOM?: boolean } = {}) {
    if (!/^utf-?8$/i.test(String(label))) throw new RangeError(`TextDecoder supports utf-8 only, not ${label}`);
    this.#fatal = Boolean(options.fatal);
    this.#ignoreBOM = Boolean(options.ignoreBOM);
  }
  get encoding(): "utf-8" {
    return "utf-8";
  }
  decode(input?: Uint8Array | ArrayBuffer): string {
    if (input === undefined) return "";
    const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
    let i = !this.#ignoreBOM && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    let out = "";
    const bad = () => {
      if (this.#fatal) throw new TypeError("The encoded data was not valid utf-8");
      return "\ufffd";
    };
    while (i < bytes.length) {
      const b = bytes[i] as number;
      const need =
        b < 0x80 ? 0 : b >= 0xc2 && b < 0xe0 ? 1 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xf0 && b < 0xf5 ? 3 : -1;
      if (need < 0) {
        out += bad();
        i++;
        continue;
      }
      let code = need === 0 ? b : b & (0x3f >> need);
      let ok = i + need < bytes.length;
      for (let k = 1; ok && k <= need; k++) {
        const next = bytes[i + k] as number;
        if ((next & 0xc0) !== 0x80) ok = false;
        else code = (code << 6) | (next & 63);
      }
      const overlong = (need === 2 && code < 0x800) || (need === 3 && (code < 0x10000 || code > 0x10ffff));
      if (!ok || overlong || (code >= 0xd800 && code <= 0xdfff)) {
        out += bad();
        i++;
        continue;
      }
      out += String.fromCodePoint(code);
      i += need + 1;
    }
    return out;
  }
}
