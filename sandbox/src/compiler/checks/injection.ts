/**
 * Prompt-injection markers in text that reaches a model (tool, parameter, resource and
 * prompt descriptions): instructions aimed at the model, and characters a person cannot
 * see. Pure; returns a reason per marker found.
 */

const PHRASES: [RegExp, string][] = [
  [
    /\b(ignore|disregard|forget|override)\b[^.\n]{0,40}\b(previous|prior|above|earlier|all|any|other)\b[^.\n]{0,20}\b(instructions?|prompts?|rules|directions|messages)\b/i,
    "tells the model to ignore its instructions",
  ],
  [
    /\b(you are now|from now on,? you|act as (an? )?(unrestricted|jailbroken)|new instructions:)/i,
    "tries to give the model a new role or instructions",
  ],
  [
    /\b(system prompt|developer message|hidden instructions?)\b/i,
    "refers to the model's system prompt or hidden instructions",
  ],
  [
    /\b(do not|don't|never) (tell|inform|mention|reveal|show)[^.\n]{0,30}\b(user|human)\b/i,
    "asks the model to hide something from the user",
  ],
  [
    /\b(before|instead of) (using|calling|answering)\b[^.\n]{0,60}\b(read|send|fetch|call|exfiltrate|include)\b/i,
    "instructs the model to take other actions first",
  ],
  [
    /<\/?\s*(system|instructions?|important|admin)\s*>|\[\/?INST\]|<\|im_(start|end)\|>|<<\/?SYS>>/i,
    "contains a chat-template or system tag",
  ],
  [
    /\b(send|post|upload|forward|leak|exfiltrate)\b[^.\n]{0,40}\b(api[_ -]?keys?|tokens?|credentials|passwords?|secrets?|~\/\.ssh|env(ironment)? variables)\b/i,
    "asks to send credentials somewhere",
  ],
];

// Characters that change what a person sees without showing themselves.
const TAG_CHARACTERS = /[\u{E0000}-\u{E007F}]/u;
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/;
const INVISIBLE = /[\u200B\u2060\uFEFF\u180E\u00AD]/;
// ZWJ and ZWNJ have legitimate single uses (emoji sequences, some scripts); a run of them does not.
const ZERO_WIDTH_RUN = /[\u200C\u200D]{2,}/;

export function injectionMarkers(text: string): string[] {
  const found = PHRASES.filter(([pattern]) => pattern.test(text)).map(([, reason]) => reason);
  if (TAG_CHARACTERS.test(text)) found.push("contains invisible Unicode tag characters");
  if (BIDI_CONTROLS.test(text)) found.push("contains bidirectional override characters");
  if (INVISIBLE.test(text) || ZERO_WIDTH_RUN.test(text)) found.push("contains zero-width or invisible characters");
  return found;
}
