/** A one-time message for the next page (after a redirect): "Signed out", "Server deleted". */
export interface Flash {
  kind: "success" | "error";
  message: string;
}
