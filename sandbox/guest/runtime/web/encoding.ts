// TextEncoder / TextDecoder for UTF-8, the only encoding tool code needs.

export class TextEncoder {
  get encoding(): "utf-8" {
    return "utf-8";
  }
  encode(input = ""): Uint8Array<ArrayBuffer> {
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

/** The bytes a BufferSource covers: an ArrayBuffer whole, a view only in its own range. */
function bytesOf(input: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new TypeError("TextDecoder.decode takes an ArrayBuffer or a view of one");
}

export class TextDecoder {
  readonly #fatal: boolean;
  readonly #ignoreBOM: boolean;
  constructor(label = "utf-8", options: { fatal?: boolean; ignoreBOM?: boolean } = {}) {
    if (!/^utf-?8$/i.test(String(label).trim())) throw new RangeError(`TextDecoder supports utf-8 only, not ${label}`);
    this.#fatal = Boolean(options.fatal);
    this.#ignoreBOM = Boolean(options.ignoreBOM);
  }
  get encoding(): "utf-8" {
    return "utf-8";
  }
  /**
   * The WHATWG UTF-8 decoder: each maximal invalid subsequence becomes one U+FFFD (so a
   * truncated sequence followed by valid text loses only the truncated bytes).
   */
  decode(input?: ArrayBuffer | ArrayBufferView): string {
    if (input === undefined) return "";
    const bytes = bytesOf(input);
    let i = !this.#ignoreBOM && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    let out = "";
    const units: number[] = [];
    const bad = () => {
      if (this.#fatal) throw new TypeError("The encoded data was not valid utf-8");
      units.push(0xfffd);
    };
    let needed = 0;
    let seen = 0;
    let code = 0;
    let lower = 0x80;
    let upper = 0xbf;
    for (; i < bytes.length; i++) {
      if (units.length >= 8192) out += String.fromCharCode(...units.splice(0));
      const byte = bytes[i] as number;
      if (needed === 0) {
        if (byte < 0x80) units.push(byte);
        else if (byte >= 0xc2 && byte <= 0xdf) {
          needed = 1;
          code = byte & 0x1f;
        } else if (byte >= 0xe0 && byte <= 0xef) {
          if (byte === 0xe0) lower = 0xa0; // no overlong forms
          if (byte === 0xed) upper = 0x9f; // no surrogates
          needed = 2;
          code = byte & 0x0f;
        } else if (byte >= 0xf0 && byte <= 0xf4) {
          if (byte === 0xf0) lower = 0x90; // no overlong forms
          if (byte === 0xf4) upper = 0x8f; // nothing past U+10FFFF
          needed = 3;
          code = byte & 0x07;
        } else bad();
        continue;
      }
      if (byte < lower || byte > upper) {
        // The bytes so far are an invalid sequence; this byte starts over.
        needed = seen = code = 0;
        lower = 0x80;
        upper = 0xbf;
        bad();
        i--;
        continue;
      }
      lower = 0x80;
      upper = 0xbf;
      code = (code << 6) | (byte & 0x3f);
      if (++seen < needed) continue;
      if (code > 0xffff) units.push(0xd800 + ((code - 0x10000) >> 10), 0xdc00 + ((code - 0x10000) & 0x3ff));
      else units.push(code);
      needed = seen = code = 0;
    }
    if (needed !== 0) bad(); // truncated at the end
    return out + String.fromCharCode(...units);
  }
}
