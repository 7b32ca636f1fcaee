/**
 * Prompt-injection markers in text that reaches a model (tool, parameter, resource and
 * prompt descriptions): instructions aimed at the model, and characters a person cannot
 * see. Pure; returns a reason per marker found.
 *
 * The phrases are read in a normalised copy of the text (NFKC, invisible characters
 * removed, whitespace collapsed), so that full-width letters, line breaks or a zero-width
 * space inside a word do not hide them. Each looks for the shape of an instruction to a
 * model, not for single words: "ignore case", "the system status", "a password reset email"
 * and "call list_projects first" are what tool descriptions ordinarily say.
 */

/** Up to n characters within one sentence (a "." inside "~/.ssh" or "v1.2" does not end it). */
const gap = (n: number) => `(?:[^.!?;]|[.!?;](?=\\S)){0,${n}}`;

const QUALIFIER = "(?:previous|prior|above|earlier|preceding|original|system|safety|your)";
const FILLER =
  "(?:previous|prior|above|earlier|preceding|original|system|safety|your|all|any|other|the|these|those|of)";
const SECRET =
  "(?:api[_ -]?keys?|access[_ -]?tokens?|tokens?|credentials|passwords?|secrets?|private[_ -]?keys?|env(?:ironment)? variables|cookies?)";
const DESTINATION =
  "(?:https?://|\\S+@\\S+\\.\\S|(?:(?:the|this|that|a|an|your|its) )?[`'\"]?[\\w-]*[`'\"]? ?(?:url|endpoint|webhook|server|parameter|argument|field|query|header|request|body)\\b)";

const PHRASES: [RegExp, string][] = [
  [
    new RegExp(
      [
        // "ignore all previous instructions", "disregard any prior directions"
        `\\b(?:ignore|disregard|forget|override|bypass) (?:${FILLER} ){0,4}(?:instructions?|prompts?|directions|guidelines|directives)\\b`,
        // "forget your earlier rules", "override the system rules" (but not "ignore all lint messages")
        `\\b(?:ignore|disregard|forget|override|bypass) (?:${FILLER} ){0,3}${QUALIFIER} (?:${FILLER} ){0,2}(?:rules|messages|context|constraints)\\b`,
        "\\b(?:ignore|disregard|forget) (?:everything|anything|all) (?:above|before|previously|so far)\\b",
      ].join("|"),
      "i",
    ),
    "tells the model to ignore its instructions",
  ],
  [
    /\b(?:you are now (?:an? |the )?(?:dan\b|in \w+ mode|unrestricted|jailbroken|uncensored|free of|no longer bound|(?:\w+ ){0,2}(?:assistant|ai|model|bot|agent)\b)|from now on,? you\b|act as (?:an? )?(?:unrestricted|jailbroken|uncensored|evil)|pretend (?:to be|you are) (?:an? )?(?:unrestricted|jailbroken|uncensored)|new instructions:)/i,
    "tries to give the model a new role or instructions",
  ],
  [
    new RegExp(
      [
        "\\b(?:your|the model's|the assistant's|the ai's) (?:system prompt|system message|developer message|initial instructions)\\b",
        `\\b(?:reveal|print|repeat|output|show|leak|dump|disclose|display)\\b${gap(20)}\\b(?:system prompt|system message|developer message)\\b`,
        "\\bhidden instructions?\\b",
      ].join("|"),
      "i",
    ),
    "refers to the model's system prompt or hidden instructions",
  ],
  [
    new RegExp(`\\b(?:do not|don't|never) (?:tell|inform|mention|reveal|show)\\b${gap(30)}\\b(?:user|human)\\b`, "i"),
    "asks the model to hide something from the user",
  ],
  [
    new RegExp(
      `\\b(?:before|instead of) (?:using|calling|answering|responding|running)\\b${gap(60)}\\b(?:read|send|exfiltrate|upload|include|attach|pass|forward|post)\\b${gap(40)}\\b(?:files?|contents?|conversation|history|messages|keys?|tokens?|credentials|secrets?|passwords?)\\b`,
      "i",
    ),
    "instructs the model to take other actions first",
  ],
  [
    /<\/?\s*(?:system|instructions?|important|admin)\s*>|\[\/?INST\]|<\|[a-z_]+\|>|<<\/?SYS>>/i,
    "contains a chat-template or system tag",
  ],
  [
    new RegExp(
      [
        `\\b(?:leak|exfiltrate|steal)\\b${gap(40)}\\b${SECRET}`,
        // "send the API key to https://...", "include your token in the `notes` parameter"
        // (but not "sends a password reset email to the user")
        `\\b(?:send|post|upload|forward|include|pass|put|attach|copy|paste)\\b${gap(40)}\\b${SECRET}\\b${gap(40)}\\b(?:to|into|in|as|via) ${DESTINATION}`,
      ].join("|"),
      "i",
    ),
    "asks to send credentials somewhere",
  ],
  [
    /~\/\.[\w.-]|\/etc\/(?:passwd|shadow)\b|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\.ssh\/|\.aws\/credentials\b|\bmcp\.json\b|\.netrc\b|\/proc\/self\//i,
    "points the model at private local files",
  ],
];

// Characters that change what a person sees without showing themselves.
const TAG_CHARACTERS = /[\u{E0000}-\u{E007F}]/u;
/** The one ordinary use of tag characters: the flags of England, Scotland and Wales. */
const TAG_FLAGS = new RegExp(
  ["gbeng", "gbsct", "gbwls"]
    .map(
      (code) => `\u{1F3F4}${[...code].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join("")}\u{E007F}`,
    )
    .join("|"),
  "gu",
);
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/;
// Zero-width space, word joiner and the invisible math operators, BOM, Mongolian vowel
// separator, soft hyphen, Hangul fillers, interlinear annotation marks, and the variation
// selectors of the supplement (which carry hidden bytes; they have no use in prose).
const INVISIBLE = /[\u200B\u2060-\u2064\uFEFF\u180E\u00AD\u115F\u1160\u3164\uFFA0\uFFF9-\uFFFB]|[\u{E0100}-\u{E01EF}]/u;
// ZWJ and ZWNJ have legitimate single uses (emoji sequences, some scripts), and so has one
// variation selector after an emoji; a run of them does not.
const INVISIBLE_RUN = /[\u200C\u200D]{2,}|[\uFE00-\uFE0F]{2,}/;
/** What the phrases are matched against: no invisible characters, compatibility forms folded. */
const HIDDEN = /[\p{Cf}\u115F\u1160\u3164\uFFA0]|[\uFE00-\uFE0F]|[\u{E0100}-\u{E01EF}]/gu;

export function injectionMarkers(text: string): string[] {
  const readable = text.normalize("NFKC").replace(HIDDEN, "").replace(/\s+/g, " ");
  const found = PHRASES.filter(([pattern]) => pattern.test(readable)).map(([, reason]) => reason);
  if (TAG_CHARACTERS.test(text.replace(TAG_FLAGS, ""))) found.push("contains invisible Unicode tag characters");
  if (BIDI_CONTROLS.test(text)) found.push("contains bidirectional override characters");
  if (INVISIBLE.test(text) || INVISIBLE_RUN.test(text)) found.push("contains zero-width or invisible characters");
  return found;
}
