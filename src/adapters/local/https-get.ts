/**
 * One HTTP(S) request with an optional client certificate, for the few plain calls outside the etcd3
 * client: etcd's `/health` and the agents' status servers. Node's global fetch cannot present a client
 * certificate without undici's dispatcher (not a dependency), so this goes through node:http(s).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** The bytes of a client identity: certificate, key and the CA that must have issued the server's. */
export interface ClientTls {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

export interface SimpleResponse {
  status: number;
  text: string;
  /** The response headers (lower-case names), when asked for with `withHeaders`. */
  headers?: Record<string, string | string[] | undefined>;
}

const MAX_BODY = 1024 * 1024;

/**
 * `method url` with `headers` and `body`; resolves with the status and the body text (at most 1 MiB),
 * rejects on a transport or TLS failure (an https server whose certificate the CA did not issue, or
 * one that refuses our certificate) or when `signal` aborts.
 */
export function requestText(
  url: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    signal?: AbortSignal;
    tls?: ClientTls;
    /** Also return the response headers. */
    withHeaders?: boolean;
  } = {},
): Promise<SimpleResponse> {
  const u = new URL(url);
  const https = u.protocol === 'https:';
  return new Promise<SimpleResponse>((resolve, reject) => {
    const options = {
      method: init.method ?? 'GET',
      headers: {
        ...(init.headers ?? {}),
        ...(init.body !== undefined ? { 'content-length': String(Buffer.byteLength(init.body)) } : {}),
      },
      ...(init.signal !== undefined ? { signal: init.signal } : {}),
      ...(https && init.tls !== undefined
        ? { cert: init.tls.cert, key: init.tls.key, ca: init.tls.ca, agent: false as const }
        : {}),
    };
    const req = (https ? httpsRequest : httpRequest)(u, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          req.destroy(new Error(`answer from ${u.host} is larger than ${MAX_BODY} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          text: Buffer.concat(chunks).toString('utf8'),
          ...(init.withHeaders === true ? { headers: { ...res.headers } } : {}),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}
