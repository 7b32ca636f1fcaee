// What differs between Claude models for the build pipeline. Pure.

/** Which model answers each step (config.buildModels: ISOLA_MODEL_PLAN, ISOLA_MODEL_CODE). */
export interface BuildModels {
  plan: string;
  code: string;
}

/**
 * Whether the model accepts a forced tool call (`tool_choice: { type: "tool" }`). Claude 3
 * and 4 do. From Claude 5 on, adaptive thinking is on by default and forcing a tool with
 * thinking on is refused (the 5.5 generation refuses it outright), so those models are
 * asked to call the tool and a reply without the call is invalid output, corrected once.
 * An id we do not recognise (a proxy's alias) gets the choice every model accepts.
 */
export function acceptsForcedToolUse(model: string): boolean {
  return /^claude-(?:3|(?:opus|sonnet|haiku)-(?:3|4)(?:$|[-.]))/.test(model);
}
