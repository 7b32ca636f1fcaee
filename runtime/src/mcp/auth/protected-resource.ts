// Shared with the control plane's own MCP endpoint, so it lives in the schema package.
export { bearerChallenge, protectedResourceMetadata, type ResourceUrls, resourceUrls } from "@isola/schema";
