// An https server on 127.0.0.1 for what a test must serve over TLS (a Client ID Metadata
// Document: its client_id is an https URL). The certificate (fixtures/loopback-tls, for
// localhost, 127.0.0.1 and ::1, valid 100 years) is self-signed, test-only, and was made with:
//   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem \
//     -out cert.pem -days 36500 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/loopback-tls/${name}`, import.meta.url));

export interface LoopbackHttps {
  /** https://127.0.0.1:PORT */
  origin: string;
  /** Requests it served, by path. */
  requests: string[];
  close(): Promise<void>;
}

export async function startLoopbackHttps(
  handle: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<LoopbackHttps> {
  const requests: string[] = [];
  const server: Server = createServer({ cert: fixture("cert.pem"), key: fixture("key.pem") }, (request, response) => {
    requests.push(request.url ?? "");
    handle(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
